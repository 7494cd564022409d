//! The inputs of the field page (`feld`) and the field they stand for: a field's
//! settings as text for the form, and the typed text read back into a field with a
//! message per input that cannot be read (amounts as "12,50", dates as TT.MM.JJJJ or
//! "heute", options as "wert = Bezeichnung"). Pure, without requests, so the page
//! module stays about the page; `berechnet` reads amounts with the same `Reader`.

use super::arten::{kind_key, new_kind, options_of};
use super::{Msg, euro, msg};
use amtsweg_forms::check::ascii_id;
use amtsweg_forms::{Choice, Cond, Field, Kind, Prefill};
use serde::{Deserialize, Serialize};

/// A condition that the simple selects cannot show; kept as it is.
pub(super) const KEEP: &str = "unveraendert";

/// The inputs of the field page, as typed.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct FieldInput {
    #[serde(skip_serializing)]
    pub(super) csrf: String,
    pub(super) version: i64,
    label: String,
    hint: String,
    pflicht: String,
    sichtbar: String,
    pflicht_wenn: String,
    art: String,
    optionen: String,
    max_len: String,
    min: String,
    max: String,
    min_betrag: String,
    max_betrag: String,
    frueheste: String,
    spaeteste: String,
    min_alter: String,
    max_alter: String,
    min_anzahl: String,
    max_anzahl: String,
    endungen: String,
    max_mb: String,
    text: String,
    in_verbund: String,
    prefill: String,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn megabytes(bytes: u64) -> String {
    let mb = format!("{:.2}", bytes as f64 / 1_000_000.0);
    mb.trim_end_matches('0').trim_end_matches('.').replace('.', ",")
}

pub(super) fn cond_input(c: Option<&Cond>) -> String {
    match c {
        None => String::new(),
        Some(Cond::Equals { field, value }) => format!("{field}={value}"),
        Some(_) => KEEP.to_owned(),
    }
}

fn date_bound(b: Option<&String>) -> String {
    match b.map(String::as_str) {
        None => String::new(),
        Some("heute") => "heute".into(),
        Some(s) => amtsweg_forms::Date::parse(s).map_or_else(|| s.to_owned(), amtsweg_forms::Date::german),
    }
}

impl FieldInput {
    pub(super) fn of(f: &Field, version: i64) -> Self {
        let mut i = Self {
            version,
            label: f.label.clone(),
            hint: f.hint.clone(),
            pflicht: if f.required { "ja".into() } else { String::new() },
            sichtbar: cond_input(f.visible_if.as_ref()),
            pflicht_wenn: cond_input(f.required_if.as_ref()),
            art: kind_key(&f.kind).into(),
            prefill: f
                .prefill
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            ..Self::default()
        };
        if let Some(o) = options_of(&f.kind) {
            i.optionen = o.iter().map(|c| format!("{} = {}", c.value, c.label)).collect::<Vec<_>>().join("\n");
        }
        match &f.kind {
            Kind::Text { max_len } | Kind::LongText { max_len } => i.max_len = max_len.to_string(),
            Kind::Number { min, max } => (i.min, i.max) = (opt(*min), opt(*max)),
            Kind::Euro { min_cents, max_cents } => {
                (i.min_betrag, i.max_betrag) =
                    (min_cents.map(euro).unwrap_or_default(), max_cents.map(euro).unwrap_or_default());
            }
            Kind::Date { not_before, not_after } => {
                (i.frueheste, i.spaeteste) = (date_bound(not_before.as_ref()), date_bound(not_after.as_ref()));
            }
            Kind::Checkboxes { min, max, .. } => (i.min_anzahl, i.max_anzahl) = (min.to_string(), opt(*max)),
            Kind::BirthDate { min_age, max_age } => (i.min_alter, i.max_alter) = (opt(*min_age), opt(*max_age)),
            Kind::File { accept, max_bytes } => (i.endungen, i.max_mb) = (accept.join(", "), megabytes(*max_bytes)),
            Kind::Info { text } | Kind::Declaration { text } => i.text = text.clone(),
            Kind::Address { in_verbund } => i.in_verbund = if *in_verbund { "ja".into() } else { String::new() },
            _ => {}
        }
        i
    }
}

/// Reads typed numbers; problems go to `errors`, linked to the input.
pub(super) struct Reader<'e> {
    pub(super) errors: &'e mut Vec<Msg>,
}

impl Reader<'_> {
    pub(super) fn number<T: std::str::FromStr>(&mut self, raw: &str, name: &str, what: &str) -> Option<T> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let parsed = raw.parse().ok();
        if parsed.is_none() {
            self.errors.push(msg(&format!("feld-{name}"), format!("Bitte geben Sie bei „{what}“ eine ganze Zahl an.")));
        }
        parsed
    }

    pub(super) fn cents(&mut self, raw: &str, name: &str, what: &str) -> Option<i64> {
        let raw = raw.trim().trim_end_matches('€').trim();
        if raw.is_empty() {
            return None;
        }
        let (int, frac) = raw.split_once(',').unwrap_or((raw, ""));
        let int = int.replace('.', "");
        let ok = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= 2
            && frac.bytes().all(|b| b.is_ascii_digit());
        let cents = ok
            .then(|| Some(int.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?))
            .flatten();
        if cents.is_none() {
            self.errors.push(msg(
                &format!("feld-{name}"),
                format!("Bitte geben Sie bei „{what}“ einen Betrag in Euro an, zum Beispiel 12,50."),
            ));
        }
        cents
    }

    pub(super) fn date(&mut self, raw: &str, name: &str, what: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if raw.eq_ignore_ascii_case("heute") {
            return Some("heute".into());
        }
        let d = amtsweg_forms::Date::parse(raw).map(|d| d.to_string());
        if d.is_none() {
            self.errors.push(msg(
                &format!("feld-{name}"),
                format!("Bitte geben Sie bei „{what}“ ein Datum als TT.MM.JJJJ oder „heute“ an."),
            ));
        }
        d
    }
}

/// `wert = Bezeichnung` or just `Bezeichnung` (the value is made from it), one a line.
fn parse_options(raw: &str) -> Vec<Choice> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once('=') {
            Some((value, label)) => {
                let label = label.trim();
                let value = if value.trim().is_empty() { ascii_id(label) } else { value.trim().to_owned() };
                Choice { value, label: label.to_owned() }
            }
            None => Choice { value: ascii_id(line), label: line.to_owned() },
        })
        .collect()
}

pub(super) fn parse_cond(raw: &str, old: Option<&Cond>) -> Option<Cond> {
    match raw {
        "" => None,
        KEEP => old.cloned(),
        s => s.split_once('=').map(|(field, value)| Cond::Equals { field: field.into(), value: value.into() }),
    }
}

/// The field as edited; `Err` with the problems of the inputs.
pub(super) fn build_field(i: &FieldInput, old: &Field) -> Result<(Field, bool), Vec<Msg>> {
    let mut errors = Vec::new();
    let label = i.label.trim();
    if label.is_empty() {
        errors.push(msg("feld-label", "Bitte geben Sie die Bezeichnung des Feldes an."));
    }
    let old_key = kind_key(&old.kind);
    let changed_type = !i.art.is_empty() && i.art != old_key;
    let mut r = Reader { errors: &mut errors };
    let kind = if changed_type {
        match new_kind(&i.art) {
            // Choices keep their options when switching between the choice types.
            Some(mut k) => {
                if let (
                    Some(from),
                    Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. },
                ) = (options_of(&old.kind), &mut k)
                {
                    options.clone_from(from);
                }
                Some(k)
            }
            None => {
                r.errors.push(msg("feld-art", "Bitte wählen Sie eine Art des Feldes."));
                None
            }
        }
    } else {
        Some(match &old.kind {
            Kind::Text { .. } => {
                Kind::Text { max_len: r.number(&i.max_len, "max_len", "Höchstlänge").unwrap_or(200) }
            }
            Kind::LongText { .. } => {
                Kind::LongText { max_len: r.number(&i.max_len, "max_len", "Höchstlänge").unwrap_or(5000) }
            }
            Kind::Number { .. } => Kind::Number {
                min: r.number(&i.min, "min", "Kleinster Wert"),
                max: r.number(&i.max, "max", "Größter Wert"),
            },
            Kind::Euro { .. } => Kind::Euro {
                min_cents: r.cents(&i.min_betrag, "min_betrag", "Mindestbetrag"),
                max_cents: r.cents(&i.max_betrag, "max_betrag", "Höchstbetrag"),
            },
            Kind::Date { .. } => Kind::Date {
                not_before: r.date(&i.frueheste, "frueheste", "Frühestes Datum"),
                not_after: r.date(&i.spaeteste, "spaeteste", "Spätestes Datum"),
            },
            Kind::Select { .. } => Kind::Select { options: parse_options(&i.optionen) },
            Kind::Radio { .. } => Kind::Radio { options: parse_options(&i.optionen) },
            Kind::Checkboxes { .. } => Kind::Checkboxes {
                options: parse_options(&i.optionen),
                min: r.number(&i.min_anzahl, "min_anzahl", "Mindestens auszuwählen").unwrap_or(0),
                max: r.number(&i.max_anzahl, "max_anzahl", "Höchstens auszuwählen"),
            },
            Kind::BirthDate { .. } => Kind::BirthDate {
                min_age: r.number(&i.min_alter, "min_alter", "Mindestalter"),
                max_age: r.number(&i.max_alter, "max_alter", "Höchstalter"),
            },
            Kind::File { max_bytes, .. } => {
                let accept = i
                    .endungen
                    .split([',', ';', ' '])
                    .map(|e| e.trim().trim_start_matches('.').to_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                let typed = i.max_mb.trim();
                let max_bytes = if typed == megabytes(*max_bytes) {
                    *max_bytes
                } else {
                    match typed.replace(',', ".").parse::<f64>() {
                        Ok(mb) if mb.is_finite() && mb > 0.0 && mb <= 1000.0 => (mb * 1_000_000.0).round() as u64,
                        _ => {
                            r.errors.push(msg(
                                "feld-max_mb",
                                "Bitte geben Sie die höchste Dateigröße in MB an (größer als 0, höchstens 1000).",
                            ));
                            *max_bytes
                        }
                    }
                };
                Kind::File { accept, max_bytes }
            }
            Kind::Info { .. } => Kind::Info { text: i.text.trim().to_owned() },
            Kind::Declaration { .. } => Kind::Declaration { text: i.text.trim().to_owned() },
            Kind::Address { .. } => Kind::Address { in_verbund: i.in_verbund == "ja" },
            other => other.clone(),
        })
    };
    let prefill = match i.prefill.as_str() {
        "" => None,
        p => {
            let parsed = serde_json::from_value::<Prefill>(serde_json::Value::String(p.to_owned())).ok();
            if parsed.is_none() {
                errors.push(msg("feld-prefill", "Bitte wählen Sie eine der angebotenen Angaben aus dem Konto."));
            }
            parsed
        }
    };
    let Some(kind) = kind.filter(|_| errors.is_empty()) else { return Err(errors) };
    let answerable = !matches!(kind, Kind::Info { .. } | Kind::Declaration { .. });
    let field = Field {
        id: old.id.clone(),
        label: label.to_owned(),
        hint: i.hint.trim().to_owned(),
        required: answerable && i.pflicht == "ja",
        required_if: if answerable { parse_cond(&i.pflicht_wenn, old.required_if.as_ref()) } else { None },
        visible_if: parse_cond(&i.sichtbar, old.visible_if.as_ref()),
        prefill: if answerable { prefill } else { None },
        kind,
    };
    Ok((field, changed_type))
}
