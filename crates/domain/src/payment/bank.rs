//! Bank details of an authority's account, as printed on invoices and in GiroCodes.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

/// A checked IBAN (country format and check digits), stored compact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    /// Accepts the compact and the printed form, any case.
    ///
    /// # Errors
    /// When it is not a valid IBAN (German message).
    pub fn parse(s: &str) -> Result<Iban, InvalidValue> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        match compact.parse::<iban::Iban>() {
            Ok(i) => Ok(Iban(iban::IbanLike::electronic_str(&i).to_owned())),
            Err(_) => Err(InvalidValue(format!(
                "„{}“ ist keine gültige IBAN. Bitte prüfen Sie Länderkennung, Prüfziffer und Länge.",
                s.trim()
            ))),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In groups of four: `DE02 1203 0000 0000 2020 51`.
    #[must_use]
    pub fn printed(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
    }
}

/// Checks a BIC (8 or 11 characters: bank, country, location, branch) and returns
/// it upper-cased without spaces.
///
/// # Errors
/// When it is not a BIC.
pub fn check_bic(s: &str) -> Result<String, InvalidValue> {
    let b: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let bytes = b.as_bytes();
    let ok = (b.len() == 8 || b.len() == 11)
        && bytes[..6].iter().all(u8::is_ascii_uppercase)
        && bytes[6..].iter().all(u8::is_ascii_alphanumeric);
    if ok {
        Ok(b)
    } else {
        Err(InvalidValue(format!("„{}“ ist keine gültige BIC (8 oder 11 Zeichen).", s.trim())))
    }
}

/// The account an invoice names (connector kind `rechnung`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceAccount {
    /// The payee as the bank knows it (≤ 70 characters, printed in the GiroCode).
    pub recipient: String,
    pub iban: String,
    /// Optional within the SEPA area.
    #[serde(default)]
    pub bic: String,
}

impl InvoiceAccount {
    /// # Errors
    /// The first problem, in German.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let name = self.recipient.trim();
        if name.is_empty() || name.chars().count() > 70 {
            return Err(InvalidValue("Der Name des Zahlungsempfängers muss 1 bis 70 Zeichen lang sein.".into()));
        }
        if let Some(c) = name.chars().find(|c| !super::girocode::allowed_text_char(*c)) {
            return Err(InvalidValue(format!("Das Zeichen „{c}“ ist im Namen des Zahlungsempfängers nicht erlaubt.")));
        }
        Iban::parse(&self.iban)?;
        if !self.bic.trim().is_empty() {
            check_bic(&self.bic)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked() {
        let i = Iban::parse("de02 1203 0000 0000 2020 51").unwrap();
        assert_eq!(i.as_str(), "DE02120300000000202051");
        assert_eq!(i.printed(), "DE02 1203 0000 0000 2020 51");
        // Wrong check digit, wrong length, unknown country, garbage.
        for s in [
            "DE03120300000000202051",
            "DE0212030000000020205",
            "XX02120300000000202051",
            "123",
            "DEA1",
            "DE12%",
            "Hallo ,:",
        ] {
            assert!(Iban::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn bics_are_checked() {
        assert_eq!(check_bic("bfsw de33 ber").as_deref(), Ok("BFSWDE33BER"));
        assert_eq!(check_bic("BYLADEM1").as_deref(), Ok("BYLADEM1"));
        for s in ["", "BYLADEM", "BYLADEM1XX", "12LADEM1", "BYLADEM1XXXX"] {
            assert!(check_bic(s).is_err(), "{s}");
        }
    }

    #[test]
    fn invoice_accounts_validate() {
        let mut a = InvoiceAccount {
            recipient: "Stadtkasse Moorbrück".into(),
            iban: "DE02120300000000202051".into(),
            bic: String::new(),
        };
        assert_eq!(a.validate(), Ok(()));
        a.iban = "DE02120300000000202052".into();
        assert!(a.validate().is_err());
        a.iban = "DE02120300000000202051".into();
        a.recipient = "a".repeat(71);
        assert!(a.validate().is_err());
        let json = r#"{"recipient":"X","iban":"DE02120300000000202051","extra":1}"#;
        assert!(serde_json::from_str::<InvoiceAccount>(json).is_err());
    }
}
