//! Claims (Forderungen) of the municipal finance software shown in the citizen's
//! account, and the one-time activation code that links a citizen to the finance
//! software's taxpayer account (Personenkonto).

use super::money::Cents;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimState {
    Open,
    PartlyPaid,
    Settled,
    Dunning,
    Cancelled,
}

impl ClaimState {
    pub const ALL: [ClaimState; 5] = [Self::Open, Self::PartlyPaid, Self::Settled, Self::Dunning, Self::Cancelled];

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PartlyPaid => "partly_paid",
            Self::Settled => "settled",
            Self::Dunning => "dunning",
            Self::Cancelled => "cancelled",
        }
    }

    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Open => "Offen",
            Self::PartlyPaid => "Teilweise bezahlt",
            Self::Settled => "Ausgeglichen",
            Self::Dunning => "In Mahnung",
            Self::Cancelled => "Aufgehoben",
        }
    }

    /// Whether something may still be paid on it.
    #[must_use]
    pub fn is_payable(self) -> bool {
        matches!(self, Self::Open | Self::PartlyPaid | Self::Dunning)
    }
}

/// A claim as the finance software sends it (API or CSV), before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimInput {
    pub kassenzeichen: String,
    pub due_on: jiff::civil::Date,
    /// e.g. "Grundsteuer", "Hundesteuer".
    pub kind: String,
    pub title: String,
    pub amount: Cents,
    pub open: Cents,
    pub state: ClaimState,
    pub dunning_level: u8,
    /// The finance software's account (Personenkonto) reference.
    pub account: String,
}

/// Every problem of a claim, in German; empty when it may be stored.
#[must_use]
pub fn check_claim(c: &ClaimInput) -> Vec<String> {
    let mut out = Vec::new();
    let kz = c.kassenzeichen.trim();
    if kz.is_empty() || kz.chars().count() > 35 || kz.chars().any(|ch| ch.is_control() || !ch.is_ascii()) {
        out.push("Das Kassenzeichen muss 1 bis 35 druckbare Zeichen (ohne Umlaute) lang sein.".into());
    }
    if c.kind.trim().is_empty() || c.kind.chars().count() > 80 || c.kind.chars().any(char::is_control) {
        out.push("Die Art der Forderung muss 1 bis 80 Zeichen lang sein.".into());
    }
    if c.title.trim().is_empty() || c.title.chars().count() > 200 || c.title.chars().any(char::is_control) {
        out.push("Die Bezeichnung muss 1 bis 200 Zeichen lang sein.".into());
    }
    if c.amount.0 < 1 || c.amount > Cents::MAX_GIROCODE {
        out.push("Der Betrag muss zwischen 0,01 € und 999.999.999,99 € liegen.".into());
    }
    if c.open.0 < 0 || c.open > c.amount {
        out.push("Der offene Betrag muss zwischen 0 und dem Betrag der Forderung liegen.".into());
    }
    if c.dunning_level > 3 {
        out.push("Die Mahnstufe muss zwischen 0 und 3 liegen.".into());
    }
    if c.state == ClaimState::Dunning && c.dunning_level == 0 {
        out.push("Eine Forderung in Mahnung braucht eine Mahnstufe von 1 bis 3.".into());
    }
    if c.state == ClaimState::Settled && c.open.0 != 0 {
        out.push("Eine ausgeglichene Forderung hat keinen offenen Betrag.".into());
    }
    let account = c.account.trim();
    if account.is_empty() || account.chars().count() > 64 || account.chars().any(|ch| ch.is_control()) {
        out.push("Das Personenkonto muss 1 bis 64 Zeichen lang sein.".into());
    }
    out
}

/// The letters and digits of appointment references: none that are confused when
/// read from a letter (no 0/O, 1/I/L, U).
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An activation code `XXXX-XXXX-XXXX` (30^12 ≈ 2^59) from 24 random bytes of a
/// CSPRNG: each character takes two bytes, so the bias of the modulo is negligible.
/// Missing bytes count as zero — pass all 24.
#[must_use]
pub fn activation_code(random: &[u8]) -> String {
    let mut out = String::with_capacity(14);
    for i in 0..12 {
        if i == 4 || i == 8 {
            out.push('-');
        }
        let hi = u32::from(random.get(i).copied().unwrap_or(0));
        let lo = u32::from(random.get(i + 12).copied().unwrap_or(0));
        let v = (hi << 8 | lo) as usize % ALPHABET.len();
        out.push(char::from(ALPHABET[v]));
    }
    out
}

/// What a citizen typed (`abcd efgh-jkmn`) in the stored form, or `None` when it
/// cannot be a code.
#[must_use]
pub fn normalize_activation_code(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    if compact.len() != 12 || !compact.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("{}-{}-{}", &compact[..4], &compact[4..8], &compact[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ClaimInput {
        ClaimInput {
            kassenzeichen: "5.100.000123".into(),
            due_on: jiff::civil::date(2026, 5, 15),
            kind: "Grundsteuer".into(),
            title: "Grundsteuer 2. Quartal 2026".into(),
            amount: Cents(12_345),
            open: Cents(12_345),
            state: ClaimState::Open,
            dunning_level: 0,
            account: "MB-10042".into(),
        }
    }

    #[test]
    fn claims_are_checked() {
        assert!(check_claim(&claim()).is_empty());
        assert_eq!(check_claim(&ClaimInput { amount: Cents(0), open: Cents(0), ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { open: Cents(20_000), ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { dunning_level: 4, ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { kassenzeichen: "x".repeat(36), ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { state: ClaimState::Dunning, ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { state: ClaimState::Settled, ..claim() }).len(), 1);
        assert_eq!(check_claim(&ClaimInput { account: " ".into(), ..claim() }).len(), 1);
        for s in ClaimState::ALL {
            assert_eq!(ClaimState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn activation_codes() {
        let random: Vec<u8> = (0..24u8).map(|i| i.wrapping_mul(37)).collect();
        let code = activation_code(&random);
        assert_eq!(code.len(), 14);
        assert_eq!(normalize_activation_code(&code.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert!(!code.replace('-', "").contains(['0', 'O', '1', 'I', 'L', 'U']));
        assert_ne!(activation_code(&[1; 24]), activation_code(&[2; 24]));
        assert_eq!(normalize_activation_code("ABCD-EFGH-JKM"), None);
        assert_eq!(normalize_activation_code("ABCD-EFGH-JKM0"), None);
    }
}
