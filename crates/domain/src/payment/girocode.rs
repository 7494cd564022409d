//! The GiroCode payload (EPC069-12 "Quick Response Code: guidelines to enable data
//! capture for the initiation of a SEPA credit transfer"): the text inside the QR
//! code that banking apps read to fill in a transfer.

use super::bank::{Iban, check_bic};
use super::money::Cents;
use super::rf::is_valid_rf;
use crate::InvalidValue;

/// Version 001 needs a BIC; 002 makes it optional within the EEA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiroVersion {
    V001,
    V002,
}

impl GiroVersion {
    /// `001` or `002`; other versions do not exist.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "001" => Some(Self::V001),
            "002" => Some(Self::V002),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V001 => "001",
            Self::V002 => "002",
        }
    }
}

/// The remittance information: a structured creditor reference (RF) or free text,
/// never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remittance<'a> {
    Structured(&'a str),
    Text(&'a str),
    None,
}

/// The fields of a GiroCode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiroCode<'a> {
    pub version: GiroVersion,
    pub bic: &'a str,
    /// The beneficiary, 1 to 70 characters.
    pub name: &'a str,
    pub iban: &'a str,
    /// `None`: the payer enters the amount.
    pub amount: Option<Cents>,
    /// The SEPA purpose code (up to 4 of `A–Z 0–9`), usually empty.
    pub purpose: &'a str,
    pub remittance: Remittance<'a>,
    /// A note shown to the payer (beneficiary to originator information), ≤ 70.
    pub note: &'a str,
}

/// The largest payload the standard allows.
pub const MAX_BYTES: usize = 331;

/// Characters allowed in names and texts: letters (with umlauts, the payload is
/// UTF-8), digits, space and the punctuation of the SEPA character set.
pub(crate) fn allowed_text_char(c: char) -> bool {
    c.is_alphanumeric() || " /-?:().,'+&".contains(c)
}

fn text(what: &str, s: &str, max: usize, min: usize) -> Result<(), InvalidValue> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(InvalidValue(if min > 0 {
            format!("{what} muss {min} bis {max} Zeichen lang sein.")
        } else {
            format!("{what} darf höchstens {max} Zeichen lang sein.")
        }));
    }
    if let Some(c) = s.chars().find(|c| !allowed_text_char(*c)) {
        return Err(InvalidValue(format!("Das Zeichen „{c}“ ist in „{what}“ nicht erlaubt.")));
    }
    Ok(())
}

/// The payload: always 12 lines separated by LF (the last, the note, without LF),
/// character set 1 (UTF-8), at most 331 bytes.
///
/// # Errors
/// When a field breaks the standard: name 1–70, a valid IBAN, an amount of
/// 0,01 to 999.999.999,99 €, purpose ≤ 4 of `A–Z 0–9`, a structured reference that
/// is a valid RF (≤ 35), text ≤ 140, note ≤ 70, a BIC for version 001.
pub fn payload(g: &GiroCode<'_>) -> Result<String, InvalidValue> {
    let bic = if g.bic.trim().is_empty() {
        if g.version == GiroVersion::V001 {
            return Err(InvalidValue("Für einen GiroCode der Version 001 ist die BIC nötig.".into()));
        }
        String::new()
    } else {
        check_bic(g.bic)?
    };
    text("Name des Zahlungsempfängers", g.name, 70, 1)?;
    let iban = Iban::parse(g.iban)?;
    let amount = match g.amount {
        None => String::new(),
        Some(a) if a.0 >= 1 && a <= Cents::MAX_GIROCODE => format!("EUR{}", a.decimal()),
        Some(_) => {
            return Err(InvalidValue("Der Betrag muss zwischen 0,01 € und 999.999.999,99 € liegen.".into()));
        }
    };
    if g.purpose.len() > 4 || !g.purpose.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(InvalidValue(format!("„{}“ ist kein Zweckschlüssel (bis zu 4 Zeichen A–Z, 0–9).", g.purpose)));
    }
    let (structured, unstructured) = match g.remittance {
        Remittance::Structured(r) => {
            if r.len() > 35 || !is_valid_rf(r) {
                return Err(InvalidValue(format!("„{r}“ ist keine gültige strukturierte Referenz (RF).")));
            }
            (r, "")
        }
        Remittance::Text(t) => {
            text("Verwendungszweck", t, 140, 0)?;
            ("", t)
        }
        Remittance::None => ("", ""),
    };
    text("Hinweis", g.note, 70, 0)?;
    let lines = [
        "BCD",
        g.version.as_str(),
        "1",
        "SCT",
        &bic,
        g.name,
        iban.as_str(),
        &amount,
        g.purpose,
        structured,
        unstructured,
        g.note,
    ];
    let out = lines.join("\n");
    if out.len() > MAX_BYTES {
        return Err(InvalidValue(format!("Der GiroCode wäre länger als {MAX_BYTES} Bytes.")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IBAN: &str = "DE33100205000001194700";

    fn wikipedia(version: GiroVersion, bic: &'static str) -> GiroCode<'static> {
        GiroCode {
            version,
            bic,
            name: "Wikimedia Foerdergesellschaft",
            iban: IBAN,
            amount: Some(Cents(12_345)),
            purpose: "",
            remittance: Remittance::Text("Spende fuer Wikipedia"),
            note: "",
        }
    }

    /// The test vectors of py-epc-qr, byte for byte (skipped without the folder).
    #[test]
    fn payloads_equal_the_conformance_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/girocode");
        if !dir.is_dir() {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        }
        for (file, g) in [
            ("qr_version_001.txt", wikipedia(GiroVersion::V001, "BFSWDE33BER")),
            ("qr_version_002.txt", wikipedia(GiroVersion::V002, "")),
        ] {
            let expected = std::fs::read(dir.join(file)).unwrap();
            assert_eq!(payload(&g).unwrap().as_bytes(), expected.as_slice(), "{file}");
        }
    }

    #[test]
    fn the_payload_has_twelve_lines() {
        let p = payload(&wikipedia(GiroVersion::V002, "")).unwrap();
        assert_eq!(p.split('\n').count(), 12);
        assert!(!p.ends_with("\n\n"));
        let g = GiroCode {
            remittance: Remittance::Structured("RF18539007547034"),
            amount: None,
            ..wikipedia(GiroVersion::V002, "")
        };
        let p = payload(&g).unwrap();
        assert_eq!(p.split('\n').nth(7), Some(""));
        assert_eq!(p.split('\n').nth(9), Some("RF18539007547034"));
        assert_eq!(p.split('\n').nth(10), Some(""));
    }

    // The refusals of py-epc-qr's tests (test_py_epc_qr.py), in this API.

    #[test]
    fn versions_other_than_001_and_002_do_not_exist() {
        for v in ["000", "00", "0", "003"] {
            assert_eq!(GiroVersion::parse(v), None, "{v}");
        }
        // Character sets other than 1 (0, 9) cannot be expressed: the payload is always UTF-8.
        assert_eq!(payload(&wikipedia(GiroVersion::V002, "")).unwrap().split('\n').nth(2), Some("1"));
    }

    #[test]
    fn amounts_out_of_range_or_below_the_cent_are_refused() {
        for c in [0, -1, 100_000_000_000] {
            let g = GiroCode { amount: Some(Cents(c)), ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{c}");
        }
        for s in ["0", "-1", "999999999.99+0.01", "10.001", "0.011", "abc"] {
            let refused = Cents::parse_decimal(s)
                .map_or(true, |c| payload(&GiroCode { amount: Some(c), ..wikipedia(GiroVersion::V002, "") }).is_err());
            assert!(refused, "{s}");
        }
        let g = GiroCode { amount: Some(Cents::MAX_GIROCODE), ..wikipedia(GiroVersion::V002, "") };
        assert!(payload(&g).is_ok());
    }

    #[test]
    fn beneficiaries_empty_too_long_or_with_odd_characters_are_refused() {
        let long = "a".repeat(71);
        for name in ["", long.as_str(), "§23"] {
            let g = GiroCode { name, ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{name}");
        }
        let g = GiroCode { name: "Stadtkasse Moorbrück", ..wikipedia(GiroVersion::V002, "") };
        assert!(payload(&g).is_ok());
    }

    #[test]
    fn version_001_needs_a_bic() {
        assert!(payload(&wikipedia(GiroVersion::V001, "")).is_err());
        assert!(payload(&wikipedia(GiroVersion::V001, "NOTABIC")).is_err());
    }

    #[test]
    fn invalid_ibans_are_refused() {
        let long = format!("DE12{}", "a".repeat(31));
        for iban in ["123", "DEA1", "DE12%", long.as_str(), "Hallo ,:", "DE33100205000001194701"] {
            let g = GiroCode { iban, ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{iban}");
        }
    }

    #[test]
    fn bad_remittance_texts_and_references_are_refused() {
        let long = "a".repeat(141);
        let percent = "%".repeat(141);
        for t in ["DE12%", long.as_str(), percent.as_str()] {
            let g = GiroCode { remittance: Remittance::Text(t), ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{t}");
        }
        for r in ["RF19539007547034", "539007547034", ""] {
            let g = GiroCode { remittance: Remittance::Structured(r), ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{r}");
        }
        for p in ["GDDSX", "gdds", "G-D"] {
            let g = GiroCode { purpose: p, ..wikipedia(GiroVersion::V002, "") };
            assert!(payload(&g).is_err(), "{p}");
        }
        let note = "n".repeat(71);
        assert!(payload(&GiroCode { note: &note, ..wikipedia(GiroVersion::V002, "") }).is_err());
    }

    #[test]
    fn payloads_stay_within_331_bytes() {
        let name = "Ä".repeat(70);
        let text = "Ü".repeat(140);
        let note = "Ö".repeat(70);
        let g = GiroCode {
            name: &name,
            remittance: Remittance::Text(&text),
            note: &note,
            ..wikipedia(GiroVersion::V002, "")
        };
        assert!(payload(&g).is_err());
    }
}
