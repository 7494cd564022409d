//! The per-period CSV for the treasury: what was requested, what was paid (in the
//! period and in total), how, what was refunded and what is open.
//!
//! A period is a range of days in German time. A payment is in it when it was
//! requested in it, when money for it was booked in it, or when it was requested
//! before its end and is still open; a claim of the finance software when the
//! portal booked money for it in the period. Amounts are plain decimals with a
//! comma ("1234,50"), so a German spreadsheet reads them as numbers.

use crate::appointments::counter::export::csv_field;
use crate::{Portal, Result};
use amtsweg_domain::payment::{ClaimState, PayMode, PaymentStatus};
use amtsweg_store::payments::bank::{Period, PeriodRow};
use jiff::civil::Date;

/// The CSV header row.
pub const CSV_HEADER: [&str; 12] = [
    "Kassenzeichen",
    "Art",
    "Bezug",
    "Angefordert",
    "Bezahlt im Zeitraum",
    "Bezahlt gesamt",
    "Erstattet",
    "Offen",
    "Zahlweg",
    "Stand",
    "angefordert am",
    "bezahlt am",
];

/// The authority's payments of the days `from..=to` as CSV (UTF-8 with byte order
/// mark, semicolons, CRLF; fields a spreadsheet would take for a formula are
/// defused).
///
/// # Errors
/// On store errors, or a period that ends before it starts.
pub async fn period_csv(portal: &Portal, authority_id: i64, from: Date, to: Date) -> Result<String> {
    let rows = period(portal, authority_id, from, to).await?;
    Ok(csv(&rows))
}

/// The rows of [`period_csv`].
///
/// # Errors
/// On store errors, or a period that ends before it starts.
pub async fn period(portal: &Portal, authority_id: i64, from: Date, to: Date) -> Result<Vec<PeriodRow>> {
    if to < from {
        return Err(crate::PortalError::Internal("the period ends before it starts".into()));
    }
    let tz = crate::time::berlin();
    let start_of = |d: Date| -> Result<i64> {
        Ok(d.to_zoned(tz.clone())
            .map_err(|e| crate::PortalError::Internal(e.to_string()))?
            .timestamp()
            .as_millisecond())
    };
    let next = to.tomorrow().map_err(|e| crate::PortalError::Internal(e.to_string()))?;
    let (first_day, last_day) = (from.to_string(), to.to_string());
    let p = Period { from_ms: start_of(from)?, to_ms: start_of(next)?, first_day: &first_day, last_day: &last_day };
    Ok(portal.store.period_rows(authority_id, p).await?)
}

/// The rows as CSV.
#[must_use]
pub fn csv(rows: &[PeriodRow]) -> String {
    let mut out = String::from('\u{feff}');
    push_row(&mut out, CSV_HEADER.iter().map(|s| (*s).to_owned()));
    for r in rows {
        let mode = PayMode::parse(&r.mode).map_or_else(|| r.mode.clone(), |m| m.label_de().to_owned());
        let status = if r.claim_id.is_some() {
            ClaimState::parse(&r.status).map_or_else(|| r.status.clone(), |s| s.label_de().to_owned())
        } else {
            PaymentStatus::parse(&r.status).map_or_else(|| r.status.clone(), |s| s.label_de().to_owned())
        };
        let reference = match (r.receipt_number.is_empty(), r.due_on.is_empty()) {
            (false, _) => format!("{} – Antrag {}", r.purpose, r.receipt_number),
            (true, false) if r.claim_id.is_some() => format!("{} – fällig am {}", r.purpose, german_day(&r.due_on)),
            _ => r.purpose.clone(),
        };
        let paid_on = match r.paid_at {
            Some(ms) => day_of(ms),
            None => german_day(&r.last_booked_on),
        };
        push_row(
            &mut out,
            [
                r.kassenzeichen.clone(),
                mode,
                reference,
                amount(r.amount_cents),
                amount(r.paid_in_period),
                amount(r.paid_cents),
                amount(r.refunded_cents),
                amount(r.open_cents),
                r.methods.iter().map(|(s, m)| method_de(s, m)).collect::<Vec<_>>().join(", "),
                status,
                day_of(r.created_at),
                paid_on,
            ],
        );
    }
    out
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let fields: Vec<String> = fields.into_iter().map(|f| csv_field(&f)).collect();
    out.push_str(&fields.join(";"));
    out.push_str("\r\n");
}

/// "1234,50" (no thousands separator, no sign for the report's amounts, which
/// are never negative).
fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{},{:02}", c / 100, c % 100)
}

/// "24.11.2026" in German time.
fn day_of(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(crate::time::berlin()).strftime("%d.%m.%Y").to_string())
        .unwrap_or_default()
}

/// "2026-11-24" → "24.11.2026"; '' stays ''.
fn german_day(iso: &str) -> String {
    iso.parse::<Date>().map(|d| d.strftime("%d.%m.%Y").to_string()).unwrap_or_else(|_| iso.to_owned())
}

/// How money was paid, for people.
#[must_use]
pub fn method_de(source: &str, method: &str) -> String {
    let online = |m: &str| match m {
        "CREDITCARD" => "Kreditkarte".to_owned(),
        "PAYPAL" => "PayPal".to_owned(),
        "GIROPAY" => "giropay".to_owned(),
        "PAYDIRECT" => "paydirekt".to_owned(),
        "" | "OTHER" => String::new(),
        other => other.to_owned(),
    };
    match source {
        "online" => match online(method).as_str() {
            "" => "Online".to_owned(),
            m => format!("Online ({m})"),
        },
        "bank" => "Überweisung".to_owned(),
        "counter" if method.is_empty() => "Vor Ort".to_owned(),
        "counter" => format!("Vor Ort ({method})"),
        "correction" => "Korrektur".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> PeriodRow {
        PeriodRow {
            payment_id: Some(1),
            claim_id: None,
            submission_id: Some(2),
            receipt_number: "MO-2026-000001".into(),
            mode: "rechnung".into(),
            kassenzeichen: "MB-2026-000001".into(),
            purpose: "Hundesteuer".into(),
            due_on: "2026-06-01".into(),
            amount_cents: 123_450,
            paid_cents: 100_000,
            refunded_cents: 500,
            paid_in_period: 100_000,
            open_cents: 23_450,
            status: "partly_paid".into(),
            methods: vec![("bank".into(), "ueberweisung".into()), ("online".into(), "CREDITCARD".into())],
            created_at: 1_780_000_000_000,
            paid_at: None,
            last_booked_on: "2026-05-30".into(),
        }
    }

    #[test]
    fn rows_have_the_columns_in_german() {
        let out = csv(&[row()]);
        assert!(out.starts_with('\u{feff}'));
        let lines: Vec<&str> = out.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER.join(";"));
        let f: Vec<&str> = lines[1].split(';').collect();
        assert_eq!(f.len(), 12, "{f:?}");
        assert_eq!(f[0], "MB-2026-000001");
        assert_eq!(f[1], PayMode::Rechnung.label_de());
        assert_eq!(f[2], "Hundesteuer – Antrag MO-2026-000001");
        assert_eq!(&f[3..8], ["1234,50", "1000,00", "1000,00", "5,00", "234,50"]);
        assert_eq!(f[8], "Überweisung, Online (Kreditkarte)");
        assert_eq!(f[9], PaymentStatus::PartlyPaid.label_de());
        assert_eq!(f[10], "28.05.2026");
        assert_eq!(f[11], "30.05.2026");
        assert_eq!(lines[2], "", "ends with CRLF");
    }

    #[test]
    fn formulas_and_separators_are_defused() {
        let mut r = row();
        r.kassenzeichen = "=HYPERLINK(\"http://x\")".into();
        r.purpose = "+SUM(A1;A2)".into();
        r.receipt_number = String::new();
        r.claim_id = Some(3);
        r.payment_id = None;
        r.due_on = "2026-05-15".into();
        r.status = "dunning".into();
        let out = csv(&[r]);
        let line = out.split("\r\n").nth(1).unwrap();
        assert!(line.starts_with("\"'=HYPERLINK(\"\"http://x\"\")\";"), "{line}");
        assert!(line.contains("\"'+SUM(A1;A2) – fällig am 15.05.2026\""), "{line}");
        assert!(line.contains(ClaimState::Dunning.label_de()), "{line}");
    }

    #[test]
    fn methods_read_well() {
        assert_eq!(method_de("online", ""), "Online");
        assert_eq!(method_de("online", "PAYPAL"), "Online (PayPal)");
        assert_eq!(method_de("counter", "bar"), "Vor Ort (bar)");
        assert_eq!(method_de("counter", ""), "Vor Ort");
        assert_eq!(method_de("correction", "x"), "Korrektur");
        assert_eq!(amount(5), "0,05");
        assert_eq!(amount(-1234), "-12,34");
        assert_eq!(german_day(""), "");
    }
}
