//! The day list as files for the counter: CSV for a spreadsheet (semicolons and a
//! UTF-8 byte order mark, as German Excel expects) and a calendar file with one event
//! per booking. Both contain personal data and are for staff of the authority only.

use crate::Portal;
use crate::appointments::mail;
use crate::appointments::view::AppointmentView;
use amtsweg_domain::appointments::{AppointmentStatus, BookingRules, ics};
use std::fmt::Write as _;

/// The CSV header row.
pub const CSV_HEADER: [&str; 14] = [
    "Datum",
    "Beginn",
    "Ende",
    "Buchungsnummer",
    "Stand",
    "Anliegen",
    "Personen",
    "Name",
    "E-Mail",
    "Telefon",
    "Anmerkung",
    "Vorgangsnummer",
    "Schalter",
    "Gebucht durch",
];

/// The bookings as CSV: UTF-8 with byte order mark (so Excel shows umlauts),
/// semicolons, CRLF, a header row, fields quoted when needed. Values a spreadsheet
/// would take for a formula (`=`, `+`, `-`, `@` first) get a leading apostrophe.
#[must_use]
pub fn day_csv(views: &[AppointmentView]) -> String {
    let mut out = String::from('\u{feff}');
    push_row(&mut out, CSV_HEADER.iter().map(|s| (*s).to_owned()));
    for v in views {
        let contact = v.contact.clone().unwrap_or_default();
        let purged = v.contact.is_none();
        let or_purged = |s: String| if purged { "(gelöscht)".to_owned() } else { s };
        push_row(
            &mut out,
            [
                v.start.strftime("%d.%m.%Y").to_string(),
                v.start.strftime("%H:%M").to_string(),
                v.end.strftime("%H:%M").to_string(),
                v.reference.clone(),
                v.status.label_de().to_owned(),
                v.services_de(),
                v.persons.to_string(),
                or_purged(contact.name),
                contact.email,
                contact.phone,
                contact.notes,
                v.receipt_number.clone().unwrap_or_default(),
                (v.counter + 1).to_string(),
                if v.booked_by == "staff" { "Verwaltung" } else { "online" }.to_owned(),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let mut first = true;
    for f in fields {
        if !first {
            out.push(';');
        }
        first = false;
        out.push_str(&csv_field(&f));
    }
    out.push_str("\r\n");
}

/// One field: neutralised against formula injection, quoted when it holds a
/// separator, quote or line break.
#[must_use]
pub fn csv_field(value: &str) -> String {
    let mut v = value.to_owned();
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.insert(0, '\'');
    }
    if v.contains([';', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

/// The bookings of a day as one calendar file (METHOD:PUBLISH, no alarms): one
/// event per booking that still stands, titled with booking number and name.
#[must_use]
pub fn day_ics(portal: &Portal, views: &[AppointmentView]) -> String {
    let rules = BookingRules::default();
    let events: Vec<_> = views
        .iter()
        .filter(|v| !matches!(v.status, AppointmentStatus::Cancelled | AppointmentStatus::Expired))
        .map(|v| {
            let mut e = mail::event(portal, v, None, &rules, false);
            let contact = v.contact.clone().unwrap_or_default();
            let name = if contact.name.is_empty() { "(Name gelöscht)".to_owned() } else { contact.name.clone() };
            e.summary = format!("{} – {name}: {}", v.reference, v.services_de());
            let mut d = format!(
                "Buchungsnummer: {}\nStand: {}\nAnliegen: {}\nPersonen: {}\nSchalter: {}",
                v.reference,
                v.status.label_de(),
                v.services_de(),
                v.persons,
                v.counter + 1
            );
            for (label, value) in
                [("E-Mail", &contact.email), ("Telefon", &contact.phone), ("Anmerkung", &contact.notes)]
            {
                if !value.is_empty() {
                    let _ = write!(d, "\n{label}: {value}");
                }
            }
            if let Some(r) = &v.receipt_number {
                let _ = write!(d, "\nVorgangsnummer: {r}");
            }
            e.description = d;
            e.url = None;
            e.alarm_minutes = None;
            e.organizer = None;
            e
        })
        .collect();
    ics(&events, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("Müller"), "Müller");
        assert_eq!(csv_field("Müller; Erika"), "\"Müller; Erika\"");
        assert_eq!(csv_field("sagt \"hallo\""), "\"sagt \"\"hallo\"\"\"");
        assert_eq!(csv_field("Zeile 1\nZeile 2"), "\"Zeile 1\nZeile 2\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+49 5551 1"), "'+49 5551 1");
        assert_eq!(csv_field("@SUMME"), "'@SUMME");
    }

    #[test]
    fn an_empty_day_is_a_header_with_byte_order_mark() {
        let csv = day_csv(&[]);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("Datum;Beginn;Ende;Buchungsnummer"));
        assert!(csv.ends_with("\r\n"));
        assert_eq!(csv.lines().count(), 1);
    }
}
