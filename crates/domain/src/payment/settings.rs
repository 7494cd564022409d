//! An authority's payment settings (one JSON document per authority): the
//! Kassenzeichen pattern, how long an unpaid application waits, when an invoice is
//! due, and the treasury's booking data per service.

use super::kassenzeichen::KassenzeichenPattern;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    /// The authority's Kassenzeichen pattern; empty: [`KassenzeichenPattern::DEFAULT`].
    pub kassenzeichen: String,
    /// An application waiting for payment expires after this many hours (1 to 720).
    pub expire_unpaid_hours: u32,
    /// An invoice is due this many days after submission (1 to 90).
    pub invoice_due_days: u32,
    /// Booking data per service (LeiKa key), or for every service (`leika` empty).
    pub booking: Vec<ServiceBooking>,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self { kassenzeichen: String::new(), expire_unpaid_hours: 72, invoice_due_days: 14, booking: Vec::new() }
    }
}

/// What the treasury needs to book a service's fees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceBooking {
    /// The LeiKa key (14 digits); empty: every service without its own entry.
    pub leika: String,
    pub haushaltsstelle: String,
    pub objektnummer: String,
    /// A pattern for this service; empty: the authority's.
    pub kassenzeichen: String,
    /// Further key/value pairs the treasury wants.
    pub extra: Vec<BookingPair>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingPair {
    pub key: String,
    pub value: String,
}

/// Longest value of a booking entry (providers pass them on to the treasury).
const MAX_VALUE: usize = 100;

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl PaymentSettings {
    /// The pattern in force (the authority's or the default).
    #[must_use]
    pub fn pattern(&self) -> &str {
        if self.kassenzeichen.trim().is_empty() { KassenzeichenPattern::DEFAULT } else { self.kassenzeichen.trim() }
    }

    /// Every problem, in German; empty when the settings may be stored.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = KassenzeichenPattern::parse(self.pattern()) {
            out.push(format!("Kassenzeichen: {e}"));
        }
        if !(1..=720).contains(&self.expire_unpaid_hours) {
            out.push("Unbezahlte Anträge verfallen nach 1 bis 720 Stunden.".into());
        }
        if !(1..=90).contains(&self.invoice_due_days) {
            out.push("Das Zahlungsziel einer Rechnung liegt 1 bis 90 Tage nach dem Antrag.".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for b in &self.booking {
            let name = if b.leika.is_empty() { "alle Leistungen".to_owned() } else { format!("Leistung {}", b.leika) };
            let key_ok = b.leika.is_empty() || (b.leika.len() == 14 && b.leika.bytes().all(|c| c.is_ascii_digit()));
            if !key_ok {
                out.push(format!("Der Leistungsschlüssel „{}“ muss aus 14 Ziffern bestehen.", b.leika));
            }
            if !seen.insert(b.leika.as_str()) {
                out.push(format!("Für {name} gibt es mehrere Buchungsangaben."));
            }
            if !b.kassenzeichen.trim().is_empty()
                && let Err(e) = KassenzeichenPattern::parse(&b.kassenzeichen)
            {
                out.push(format!("Kassenzeichen für {name}: {e}"));
            }
            for v in [&b.haushaltsstelle, &b.objektnummer] {
                if v.chars().count() > MAX_VALUE || !printable(v) {
                    out.push(format!("Buchungsangaben für {name}: höchstens {MAX_VALUE} Zeichen ohne Steuerzeichen."));
                }
            }
            let mut keys = std::collections::BTreeSet::new();
            for p in &b.extra {
                let key = p.key.trim();
                if key.is_empty()
                    || key.len() > 50
                    || !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    out.push(format!(
                        "Buchungsangaben für {name}: der Schlüssel „{}“ ist ungültig (Buchstaben, Ziffern, _ und -, höchstens 50).",
                        p.key
                    ));
                }
                if ["haushaltsstelle", "objektnummer", "kassenzeichen"].contains(&key.to_ascii_lowercase().as_str())
                    || !keys.insert(key.to_owned())
                {
                    out.push(format!("Buchungsangaben für {name}: den Schlüssel „{key}“ gibt es schon."));
                }
                if p.value.chars().count() > MAX_VALUE || !printable(&p.value) {
                    out.push(format!("Buchungsangaben für {name}: höchstens {MAX_VALUE} Zeichen ohne Steuerzeichen."));
                }
            }
        }
        out
    }

    /// The booking entry for a service: its own, else the one for every service,
    /// else an empty one.
    #[must_use]
    pub fn booking_for(&self, leika: &str) -> ServiceBooking {
        self.booking
            .iter()
            .find(|b| !leika.is_empty() && b.leika == leika)
            .or_else(|| self.booking.iter().find(|b| b.leika.is_empty()))
            .cloned()
            .unwrap_or_default()
    }

    /// The pattern for a service: its own, else the authority's.
    #[must_use]
    pub fn pattern_for(&self, leika: &str) -> String {
        let b = self.booking_for(leika);
        if b.kassenzeichen.trim().is_empty() { self.pattern().to_owned() } else { b.kassenzeichen.trim().to_owned() }
    }

    /// The booking data passed to the provider (`bookingData`): Kassenzeichen,
    /// Haushaltsstelle and Objektnummer when set, then the extra pairs. Never
    /// personal data.
    #[must_use]
    pub fn booking_data(&self, leika: &str, kassenzeichen: &str) -> Vec<(String, String)> {
        let b = self.booking_for(leika);
        let mut out = vec![("kassenzeichen".to_owned(), kassenzeichen.to_owned())];
        if !b.haushaltsstelle.trim().is_empty() {
            out.push(("haushaltsstelle".into(), b.haushaltsstelle.trim().to_owned()));
        }
        if !b.objektnummer.trim().is_empty() {
            out.push(("objektnummer".into(), b.objektnummer.trim().to_owned()));
        }
        out.extend(b.extra.iter().map(|p| (p.key.trim().to_owned(), p.value.clone())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PaymentSettings {
        PaymentSettings {
            kassenzeichen: String::new(),
            expire_unpaid_hours: 72,
            invoice_due_days: 14,
            booking: vec![
                ServiceBooking { haushaltsstelle: "1.1.2.0".into(), ..ServiceBooking::default() },
                ServiceBooking {
                    leika: "99115003012000".into(),
                    haushaltsstelle: "6.1.1.0".into(),
                    objektnummer: "4711".into(),
                    kassenzeichen: "HST-{jahr}-{nr:5}".into(),
                    extra: vec![BookingPair { key: "steuerart".into(), value: "HUND".into() }],
                },
            ],
        }
    }

    #[test]
    fn defaults_and_json() {
        let s: PaymentSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, PaymentSettings::default());
        assert!(s.problems().is_empty());
        assert!(serde_json::from_str::<PaymentSettings>(r#"{"unknown":1}"#).is_err());
        let s = sample();
        let back: PaymentSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn booking_per_service() {
        let s = sample();
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert_eq!(s.booking_for("99115003012000").objektnummer, "4711");
        assert_eq!(s.booking_for("99102013104000").haushaltsstelle, "1.1.2.0");
        assert_eq!(s.pattern_for("99115003012000"), "HST-{jahr}-{nr:5}");
        assert_eq!(s.pattern_for("99102013104000"), KassenzeichenPattern::DEFAULT);
        assert_eq!(
            s.booking_data("99115003012000", "HST-2026-00001"),
            vec![
                ("kassenzeichen".to_owned(), "HST-2026-00001".to_owned()),
                ("haushaltsstelle".to_owned(), "6.1.1.0".to_owned()),
                ("objektnummer".to_owned(), "4711".to_owned()),
                ("steuerart".to_owned(), "HUND".to_owned()),
            ]
        );
    }

    #[test]
    fn problems_are_named() {
        let mut s = sample();
        s.expire_unpaid_hours = 0;
        s.invoice_due_days = 91;
        s.kassenzeichen = "{amt}".into();
        s.booking.push(ServiceBooking { leika: "123".into(), ..ServiceBooking::default() });
        s.booking.push(ServiceBooking::default());
        s.booking[1].extra.push(BookingPair { key: "steuerart".into(), value: "x".into() });
        assert_eq!(s.problems().len(), 6, "{:?}", s.problems());
    }
}
