//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew).

use totp_rs::{Builder, Secret};

/// A new random secret (160 bits) in Base32, as authenticator apps expect it.
#[must_use]
pub fn new_secret() -> String {
    Secret::from(rand::random::<[u8; 20]>()).to_base32()
}

fn totp(secret_b32: &str) -> Option<totp_rs::Totp> {
    let secret = Secret::try_from_base32(secret_b32.trim()).ok()?;
    Builder::new().with_secret(secret).build().ok()
}

/// Whether `code` (spaces allowed) is valid now for the secret.
#[must_use]
pub fn check(secret_b32: &str, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    code.len() == 6 && totp(secret_b32).is_some_and(|t| t.check_current(&code).is_some())
}

/// The current code (for tests and the demo's printed instructions).
#[must_use]
pub fn current_code(secret_b32: &str) -> Option<String> {
    totp(secret_b32).map(|t| t.generate_current().to_string())
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
        assert!(check(&s, &code));
        assert!(check(&s, &format!("{} {}", &code[..3], &code[3..])));
        assert!(!check(&s, "000000") || code == "000000");
        assert!(!check("kein base32!", &code));
        assert!(
            otpauth_uri(&s, "a@b.de", "Amtsweg Verwaltung")
                .starts_with("otpauth://totp/Amtsweg%20Verwaltung:a@b.de?secret=")
        );
    }
}
