//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew).
//! A code is accepted once: the step it belongs to must be later than the last step
//! accepted for the account (`account::check_code`), as RFC 6238 §5.2 asks.

use totp_rs::{Builder, Secret};

pub use amtsweg_portal::second_factor::{TotpHolder, open_secret, seal_secret};

/// A new random secret (160 bits) in Base32, as authenticator apps expect it.
#[must_use]
pub fn new_secret() -> String {
    Secret::from(rand::random::<[u8; 20]>()).to_base32()
}

fn totp(secret_b32: &str) -> Option<totp_rs::Totp> {
    let secret = Secret::try_from_base32(secret_b32.trim()).ok()?;
    Builder::new().with_secret(secret).build().ok()
}

/// The time step (Unix time / 30 s) that `code` (spaces allowed) belongs to, if it is
/// valid now for the secret (this step or the one before or after).
#[must_use]
pub fn matching_step(secret_b32: &str, code: &str) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 {
        return None;
    }
    totp(secret_b32)?.check_current(&code).and_then(|step| i64::try_from(step).ok())
}

/// The current code (for tests and the demo's printed instructions).
#[must_use]
pub fn current_code(secret_b32: &str) -> Option<String> {
    totp(secret_b32).map(|t| t.generate_current().to_string())
}

/// The code of the next time step, which is already accepted (one step of skew):
/// for tests that need a second code without waiting half a minute.
#[must_use]
pub fn next_code(secret_b32: &str) -> Option<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    totp(secret_b32).map(|t| t.generate(now + 30).to_string())
}

/// `otpauth://` URI for authenticator apps.
#[must_use]
pub fn otpauth_uri(secret_b32: &str, account: &str, issuer: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!("otpauth://totp/{}:{}?secret={secret_b32}&issuer={}", enc(issuer), enc(account), enc(issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let s = new_secret();
        let code = current_code(&s).unwrap();
        assert!(matching_step(&s, &code).is_some());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let step = matching_step(&s, &code).unwrap();
        assert!((i64::try_from(now / 30).unwrap() - step).abs() <= 1);
        assert!(matching_step(&s, &next_code(&s).unwrap()).unwrap() > step || code == next_code(&s).unwrap());
        assert!(matching_step(&s, &format!("{} {}", &code[..3], &code[3..])).is_some());
        assert!(matching_step(&s, "000000").is_none() || code == "000000");
        assert!(matching_step("kein base32!", &code).is_none());
        assert!(
            otpauth_uri(&s, "a@b.de", "Amtsweg Verwaltung")
                .starts_with("otpauth://totp/Amtsweg%20Verwaltung:a@b.de?secret=")
        );
    }
}
