//! The CSV import of claims (back office, for finance software without the API):
//! one claim per line under a header row, separated by `;` (as German spreadsheets
//! save it) or `,`, amounts as people type them (`1.234,50`), dates as `15.05.2026`
//! or `2026-05-15`. Like a batch of the API, the file is stored as a whole or not at
//! all, and the same file again changes nothing. Notices come through the API only.
//! An optional column „Zahlungen bis“ names the last sequence of the payments feed
//! the figures include (see `upsert_claims_as_of`).

use super::claims::{ClaimAsOf, ClaimUpload, Field, check_upload, upsert};
use crate::{Portal, Result};
use amtsweg_domain::payment::{Cents, ClaimInput, ClaimState, compact};
use amtsweg_store::payments::Upserted;
use std::collections::HashMap;

/// The header row, as the back office offers it for download.
pub const CSV_HEADER: &str = "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Offen;Stand;Mahnstufe;Personenkonto";

/// Most claims in one file.
const MAX_ROWS: usize = 5000;

/// Largest file.
const MAX_BYTES: usize = 5 * 1024 * 1024;

fn column(name: &str) -> Option<Field> {
    let n = name.trim().trim_start_matches('\u{feff}').to_lowercase().replace(['ä'], "ae");
    Some(match n.as_str() {
        "kassenzeichen" => Field::Kassenzeichen,
        "faellig am" | "fälligkeit" | "faelligkeit" | "faellig" => Field::DueDate,
        "art" => Field::Kind,
        "bezeichnung" => Field::Title,
        "betrag" => Field::Amount,
        "offen" => Field::Open,
        "stand" => Field::State,
        "mahnstufe" => Field::DunningLevel,
        "personenkonto" => Field::Account,
        "zahlungen bis" => Field::PaymentsUpto,
        _ => return None,
    })
}

fn date(s: &str) -> Option<jiff::civil::Date> {
    let s = s.trim();
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return Some(d);
    }
    let mut parts = s.split('.');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

fn state(s: &str) -> Option<ClaimState> {
    let s = s.trim().to_lowercase();
    if s.is_empty() {
        return Some(ClaimState::Open);
    }
    ClaimState::parse(&s).or_else(|| {
        Some(match s.as_str() {
            "offen" => ClaimState::Open,
            "teilweise bezahlt" | "teilbezahlt" => ClaimState::PartlyPaid,
            "ausgeglichen" | "bezahlt" => ClaimState::Settled,
            "in mahnung" | "mahnung" | "gemahnt" => ClaimState::Dunning,
            "aufgehoben" | "storniert" => ClaimState::Cancelled,
            _ => return None,
        })
    })
}

/// Imports claims of the authority from a CSV file (source `csv`). Nothing is
/// stored when any line has a problem; the answer then lists them as (line number,
/// `column: message`), the header being line 1. Otherwise each claim's
/// Kassenzeichen and what happened to it.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn import_csv(
    portal: &Portal,
    authority_id: i64,
    actor: &str,
    bytes: &[u8],
) -> Result<Result<Vec<(String, Upserted)>, Vec<(usize, String)>>> {
    let items = match parse(bytes) {
        Ok(items) => items,
        Err(problems) => return Ok(Err(problems)),
    };
    let n = items.len();
    Ok(upsert(portal, authority_id, actor, items, "csv", MAX_ROWS.max(n)).await?.map_err(|problems| {
        // Only what the file cannot show (a virus scan) comes back here; the line is
        // the item's index after the header.
        problems.into_iter().map(|(i, m)| (i + 2, m)).collect()
    }))
}

/// The claims of a CSV file, or every problem by line.
fn parse(bytes: &[u8]) -> std::result::Result<Vec<ClaimAsOf>, Vec<(usize, String)>> {
    if bytes.len() > MAX_BYTES {
        return Err(vec![(0, "Die Datei ist zu groß: höchstens 5 MB.".into())]);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![(
            0,
            "Die Datei ist nicht in UTF-8 gespeichert. Bitte speichern Sie sie als „CSV UTF-8“.".into(),
        )]);
    };
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() >= first.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![(1, format!("Die Kopfzeile ist nicht lesbar: {e}"))]),
    };
    let mut columns: HashMap<Field, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match column(h) {
            Some(f) => {
                if columns.insert(f, i).is_some() {
                    problems.push((1, format!("Die Spalte „{}“ steht zweimal in der Kopfzeile.", h.trim())));
                }
            }
            None if h.trim().is_empty() => {}
            None => problems.push((1, format!("Die Spalte „{}“ ist unbekannt. Erwartet: {CSV_HEADER}", h.trim()))),
        }
    }
    for f in [Field::Kassenzeichen, Field::DueDate, Field::Kind, Field::Title, Field::Amount, Field::Account] {
        if !columns.contains_key(&f) {
            problems.push((1, format!("Die Spalte „{}“ fehlt. Erwartet: {CSV_HEADER}", f.csv())));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut items = Vec::new();
    let mut seen: HashMap<(String, jiff::civil::Date), usize> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push((line, format!("Die Zeile ist nicht lesbar: {e}")));
                continue;
            }
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if items.len() + problems.len() >= MAX_ROWS {
            problems.push((line, format!("Eine Datei kann höchstens {MAX_ROWS} Forderungen enthalten.")));
            break;
        }
        let get = |f: Field| columns.get(&f).and_then(|i| record.get(*i)).unwrap_or_default().trim().to_owned();
        let mut bad = |f: Field, m: String| problems.push((line, format!("{}: {m}", f.csv())));
        let due = date(&get(Field::DueDate));
        if due.is_none() {
            bad(Field::DueDate, format!("„{}“ ist kein Datum (Beispiel: 15.05.2026).", get(Field::DueDate)));
        }
        let amount = Cents::parse_german(&get(Field::Amount));
        if let Err(e) = &amount {
            bad(Field::Amount, e.0.clone());
        }
        let st = state(&get(Field::State));
        if st.is_none() {
            bad(
                Field::State,
                format!(
                    "„{}“ ist kein Stand (offen, teilweise bezahlt, ausgeglichen, in Mahnung, aufgehoben).",
                    get(Field::State)
                ),
            );
        }
        let st = st.unwrap_or(ClaimState::Open);
        // Without an "Offen" column: all of it is open, nothing of a settled one.
        let open = match columns.get(&Field::Open) {
            Some(_) if !get(Field::Open).is_empty() => Cents::parse_german(&get(Field::Open)),
            _ if matches!(st, ClaimState::Settled | ClaimState::Cancelled) => Ok(Cents(0)),
            _ => amount.clone(),
        };
        if let (Err(e), Ok(_)) = (&open, &amount) {
            bad(Field::Open, e.0.clone());
        }
        let level = get(Field::DunningLevel);
        let level = if level.is_empty() { Some(0) } else { level.parse::<u8>().ok() };
        if level.is_none() {
            bad(Field::DunningLevel, "Die Mahnstufe ist eine Zahl von 0 bis 3.".into());
        }
        // Optional: the last sequence of the payments feed the figures include.
        let upto = get(Field::PaymentsUpto);
        let upto = if upto.is_empty() { Some(None) } else { upto.parse::<i64>().ok().filter(|p| *p >= 0).map(Some) };
        if upto.is_none() {
            bad(Field::PaymentsUpto, "Die Position im Zahlungsfeed ist eine ganze Zahl ab 0.".into());
        }
        let (Some(due), Ok(amount), Ok(open), Some(level), Some(upto)) = (due, amount, open, level, upto) else {
            continue;
        };
        let u = ClaimUpload {
            claim: ClaimInput {
                kassenzeichen: get(Field::Kassenzeichen),
                due_on: due,
                kind: get(Field::Kind),
                title: get(Field::Title),
                amount,
                open,
                state: st,
                dunning_level: level,
                account: get(Field::Account),
            },
            notices: Vec::new(),
        };
        for (f, m) in check_upload(&u) {
            problems.push((line, format!("{}: {m}", f.csv())));
        }
        let key = (compact(&u.claim.kassenzeichen), due);
        if let Some(first) = seen.get(&key) {
            problems.push((
                line,
                format!(
                    "Die Forderung mit dem Kassenzeichen „{}“ und der Fälligkeit {} steht schon in Zeile {first}.",
                    u.claim.kassenzeichen,
                    due.strftime("%d.%m.%Y")
                ),
            ));
        } else {
            seen.insert(key, line);
        }
        items.push((u, upto));
    }
    if items.is_empty() && problems.is_empty() {
        problems.push((0, "Die Datei enthält keine Forderungen.".into()));
    }
    if problems.is_empty() { Ok(items) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_german_spreadsheet_is_read() {
        let csv = "\u{feff}Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Offen;Stand;Mahnstufe;Personenkonto\n\
                   5.100.1;15.05.2026;Grundsteuer;Grundsteuer Q2;1.234,50;1.234,50;offen;;MB-10042\n\
                   \n\
                   5.100.1;2026-02-15;Grundsteuer;\"Grundsteuer; Q1\";1.234,50;0;ausgeglichen;0;MB-10042\n";
        let items = parse(csv.as_bytes()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0.claim.amount, Cents(123_450));
        assert_eq!(items[0].0.claim.due_on, jiff::civil::date(2026, 5, 15));
        assert_eq!(items[1].0.claim.title, "Grundsteuer; Q1");
        assert_eq!(items[1].0.claim.state, ClaimState::Settled);
        let comma = "kassenzeichen,faellig am,art,bezeichnung,betrag,personenkonto\nK1,01.07.2026,Hundesteuer,Hund,\"96,00\",P1\n";
        let items = parse(comma.as_bytes()).unwrap();
        assert_eq!((items[0].0.claim.open, items[0].0.claim.state), (Cents(9_600), ClaimState::Open));
        assert_eq!(items[0].1, None, "no position without the column");
        let upto = "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Personenkonto;Zahlungen bis\n\
                    K1;01.07.2026;Hundesteuer;Hund;96,00;P1;17\n\
                    K2;01.07.2026;Hundesteuer;Hund;96,00;P1;\n";
        let items = parse(upto.as_bytes()).unwrap();
        assert_eq!((items[0].1, items[1].1), (Some(17), None));
        let bad = upto.replace(";17", ";-1");
        assert!(parse(bad.as_bytes()).unwrap_err()[0].1.starts_with("Zahlungen bis:"));
    }

    #[test]
    fn problems_are_listed_by_line_and_column() {
        let csv = "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Personenkonto\n\
                   K1;31.02.2026;Hundesteuer;Hund;96,00;P1\n\
                   K2;01.07.2026;Hundesteuer;Hund;12.50;P1\n\
                   K3;01.07.2026;Hundesteuer;Hund;96,00;P1\n\
                   k-3;01.07.2026;Hundesteuer;Hund;96,00;P1\n";
        let problems = parse(csv.as_bytes()).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3, 5], "{problems:?}");
        assert!(problems[0].1.starts_with("Fällig am:"), "{problems:?}");
        assert!(problems[1].1.starts_with("Betrag:"), "{problems:?}");
        assert!(problems[2].1.contains("Zeile 4"), "{problems:?}");
        let missing = parse(b"Kassenzeichen;Betrag\nK1;1\n").unwrap_err();
        assert!(missing.iter().all(|(l, _)| *l == 1) && missing.len() == 4, "{missing:?}");
        assert!(parse(b"Kassenzeichen;Wert\n").unwrap_err()[0].1.contains("unbekannt"));
        assert!(parse(&[0xff, 0xfe, 0x00]).unwrap_err()[0].1.contains("UTF-8"));
        let header_only = format!("{CSV_HEADER}\n");
        assert!(parse(header_only.as_bytes()).unwrap_err()[0].1.contains("keine Forderungen"));
    }
}
