//! Fetches the declared front-end dependencies (crates/web/assets/package.json and its
//! lock: the KERN UX design system, CSS and fonts) with `npm ci` into `OUT_DIR`, so
//! the binary embeds them with `include_bytes!` and the repository holds no copy of
//! another project's code. Also derives a version string for cache busting of the
//! files under `/static/`.
//!
//! Offline builds: set `AMTSWEG_KERN_DIR` to an unpacked `@kern-ux/native` package of
//! the locked version (the folder that holds `package.json` and `dist/`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The files of the package the crate embeds (relative to the package folder).
const EMBEDDED: &[&str] = &[
    "dist/kern.min.css",
    "dist/fonts/fira-sans/FiraSans-Regular.woff2",
    "dist/fonts/fira-sans/FiraSans-Italic.woff2",
    "dist/fonts/fira-sans/FiraSans-Medium.woff2",
    "dist/fonts/fira-sans/FiraSans-SemiBold.woff2",
];

const PACKAGE: &str = "node_modules/@kern-ux/native";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a failed build script's stderr.
            eprintln!("\nerror: crates/web could not fetch its front-end assets (KERN UX).\n{message}\n");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("assets");
    let assets = manifest.join("assets");
    for f in ["assets/package.json", "assets/package-lock.json", "static/amtsweg.css", "static/amtsweg.js"] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=AMTSWEG_KERN_DIR");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let lock = read(&assets.join("package-lock.json"))?;
    let package = read(&assets.join("package.json"))?;

    let installed = out.join(PACKAGE);
    let stamp = out.join("installed.lock");
    let current =
        std::fs::read(&stamp).is_ok_and(|s| s == lock) && EMBEDDED.iter().all(|f| installed.join(f).is_file());
    if !current {
        if let Some(dir) = std::env::var_os("AMTSWEG_KERN_DIR") {
            copy_package(Path::new(&dir), &installed)?;
        } else {
            std::fs::write(out.join("package.json"), &package).map_err(|e| e.to_string())?;
            std::fs::write(out.join("package-lock.json"), &lock).map_err(|e| e.to_string())?;
            npm_ci(&out)?;
        }
        for f in EMBEDDED {
            if !installed.join(f).is_file() {
                return Err(format!(
                    "{f} is missing from the installed package: does assets/package-lock.json still pin @kern-ux/native 2.x?"
                ));
            }
        }
        std::fs::write(&stamp, &lock).map_err(|e| e.to_string())?;
    }

    // Cache busting: a hash over what the pages load from /static/.
    let mut h = Fnv::default();
    h.write(&lock);
    for f in ["static/amtsweg.css", "static/amtsweg.js"] {
        h.write(&read(&manifest.join(f))?);
    }
    println!("cargo:rustc-env=AMTSWEG_ASSET_VERSION={:012x}", h.0 & 0xffff_ffff_ffff);
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn npm_ci(dir: &Path) -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let result = Command::new(npm)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"])
        .current_dir(dir)
        .output();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
            "`npm` was not found. Install Node.js with npm (Debian: `apt-get install nodejs npm`) and build again; \
             npm fetches @kern-ux/native as declared in crates/web/assets/package-lock.json. Offline, set \
             AMTSWEG_KERN_DIR to an unpacked @kern-ux/native package of the locked version."
                .to_owned(),
        ),
        Err(e) => Err(format!("cannot run npm: {e}")),
        Ok(o) if !o.status.success() => {
            let mut msg = format!("`npm ci` in {} failed ({}):\n", dir.display(), o.status);
            let _ = write!(msg, "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            msg.push_str(
                "npm must reach its registry (or have the package in its cache). Offline, set AMTSWEG_KERN_DIR \
                 to an unpacked @kern-ux/native package of the locked version.",
            );
            Err(msg)
        }
        Ok(_) => Ok(()),
    }
}

/// Copies the embedded files of an unpacked package (offline builds).
fn copy_package(from: &Path, to: &Path) -> Result<(), String> {
    for f in EMBEDDED {
        let target = to.join(f);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::copy(from.join(f), &target)
            .map_err(|e| format!("AMTSWEG_KERN_DIR: cannot copy {}: {e}", from.join(f).display()))?;
    }
    Ok(())
}

/// FNV-1a (64 bit): enough to tell versions of a few files apart.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
