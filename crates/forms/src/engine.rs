//! The one rule engine: which steps and fields are visible, which are required, what
//! every answer must look like, computed values and cross-field rules. The server
//! runs it on every request and never trusts the browser; the browser can run the
//! very same code (wasm) to help earlier.

use crate::date::Date;
use crate::german;
use crate::model::{Cond, Expr, Field, Form, Item, Kind, Rule, Step};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An answer as sent: one value, several (checkboxes), or the entries of a
/// repeating group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    One(String),
    Many(Vec<String>),
    Rows(Vec<BTreeMap<String, Answer>>),
}

pub type Answers = BTreeMap<String, Answer>;

/// A problem with one answer; `path` is the field id, or `group[index].field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

fn one<'a>(answers: &'a Answers, id: &str) -> Option<&'a str> {
    match answers.get(id) {
        Some(Answer::One(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn filled(answers: &Answers, id: &str) -> bool {
    match answers.get(id) {
        Some(Answer::One(s)) => !s.trim().is_empty(),
        Some(Answer::Many(v)) => !v.is_empty(),
        Some(Answer::Rows(r)) => !r.is_empty(),
        None => false,
    }
}

/// Whether a condition holds for these answers.
#[must_use]
pub fn holds(c: &Cond, answers: &Answers) -> bool {
    match c {
        Cond::Equals { field, value } => match answers.get(field) {
            Some(Answer::One(s)) => s.trim() == value,
            Some(Answer::Many(v)) => v.iter().any(|x| x == value),
            _ => false,
        },
        Cond::NotEquals { field, value } => {
            !holds(&Cond::Equals { field: field.clone(), value: value.clone() }, answers)
        }
        Cond::AnyOf { field, values } => {
            values.iter().any(|v| holds(&Cond::Equals { field: field.clone(), value: v.clone() }, answers))
        }
        Cond::Filled { field } => filled(answers, field),
        Cond::Yes { field } => one(answers, field).is_some_and(|s| s == "ja"),
        Cond::All(cs) => cs.iter().all(|c| holds(c, answers)),
        Cond::Any(cs) => cs.iter().any(|c| holds(c, answers)),
        Cond::Not(c) => !holds(c, answers),
    }
}

fn visible(c: Option<&Cond>, answers: &Answers) -> bool {
    c.is_none_or(|c| holds(c, answers))
}

/// The steps the citizen sees with these answers.
#[must_use]
pub fn visible_steps<'f>(form: &'f Form, answers: &Answers) -> Vec<&'f Step> {
    form.steps.iter().filter(|s| visible(s.visible_if.as_ref(), answers)).collect()
}

fn required(f: &Field, answers: &Answers) -> bool {
    f.required || f.required_if.as_ref().is_some_and(|c| holds(c, answers))
}

/// Checks one value against its field type; returns the normalised value.
///
/// # Errors
/// A message in plain German for the citizen.
pub fn check_value(f: &Field, raw: &str, today: Date) -> Result<String, String> {
    let v = raw.trim();
    let label = &f.label;
    let opt_err = |ok: Option<String>, msg: String| ok.ok_or(msg);
    match &f.kind {
        Kind::Text { max_len } | Kind::LongText { max_len } => {
            if v.chars().count() > *max_len as usize {
                Err(format!("„{label}“ darf höchstens {max_len} Zeichen lang sein."))
            } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                Err(format!("„{label}“ enthält unzulässige Zeichen."))
            } else {
                Ok(v.to_owned())
            }
        }
        Kind::Name => {
            if v.chars().count() > 100 || v.chars().any(|c| c.is_control() || c.is_ascii_digit()) {
                Err(format!("Bitte geben Sie bei „{label}“ einen Namen ohne Ziffern an (höchstens 100 Zeichen)."))
            } else {
                Ok(v.to_owned())
            }
        }
        Kind::Number { min, max } => {
            let n: i64 = v.parse().map_err(|_| format!("Bitte geben Sie bei „{label}“ eine ganze Zahl ein."))?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(format!(
                    "„{label}“ muss zwischen {} und {} liegen.",
                    min.map_or("–".into(), |m| m.to_string()),
                    max.map_or("–".into(), |m| m.to_string())
                ));
            }
            Ok(n.to_string())
        }
        Kind::Euro { min_cents, max_cents } => {
            let cents = parse_euro(v)
                .ok_or_else(|| format!("Bitte geben Sie bei „{label}“ einen Betrag in Euro an, zum Beispiel 12,50."))?;
            if min_cents.is_some_and(|m| cents < m) || max_cents.is_some_and(|m| cents > m) {
                return Err(format!("Der Betrag bei „{label}“ liegt außerhalb des erlaubten Bereichs."));
            }
            Ok(cents.to_string())
        }
        Kind::Date { not_before, not_after } => {
            let d = Date::parse(v).ok_or_else(|| date_error(f, v, today))?;
            let bound =
                |b: &Option<String>| b.as_deref().and_then(|s| if s == "heute" { Some(today) } else { Date::parse(s) });
            if bound(not_before).is_some_and(|b| d < b) {
                return Err(format!(
                    "„{label}“ darf nicht vor dem {} liegen.",
                    bound(not_before).map(Date::german).unwrap_or_default()
                ));
            }
            if bound(not_after).is_some_and(|b| d > b) {
                return Err(format!(
                    "„{label}“ darf nicht nach dem {} liegen.",
                    bound(not_after).map(Date::german).unwrap_or_default()
                ));
            }
            Ok(d.to_string())
        }
        Kind::BirthDate { min_age, max_age } => {
            let d = Date::parse(v).ok_or_else(|| date_error(f, v, today))?;
            if d >= today {
                return Err(format!("„{label}“ muss in der Vergangenheit liegen."));
            }
            let age = d.years_until(today);
            if min_age.is_some_and(|m| age < m as i32) {
                return Err(format!(
                    "Für diesen Antrag müssen Sie mindestens {} Jahre alt sein.",
                    min_age.unwrap_or_default()
                ));
            }
            if max_age.is_some_and(|m| age > m as i32) {
                return Err(format!("„{label}“: höchstens {} Jahre.", max_age.unwrap_or_default()));
            }
            Ok(d.to_string())
        }
        Kind::Select { options } | Kind::Radio { options } => options
            .iter()
            .find(|o| o.value == v)
            .map(|o| o.value.clone())
            .ok_or_else(|| format!("Bitte wählen Sie bei „{label}“ eine der angebotenen Möglichkeiten.")),
        Kind::YesNo => match v {
            "ja" | "nein" => Ok(v.to_owned()),
            _ => Err(format!("Bitte beantworten Sie „{label}“ mit Ja oder Nein.")),
        },
        Kind::Email => {
            opt_err(german::email(v), format!("Bitte geben Sie bei „{label}“ eine gültige E-Mail-Adresse an."))
        }
        Kind::Phone => opt_err(german::phone(v), format!("Bitte geben Sie bei „{label}“ eine Telefonnummer an.")),
        Kind::Iban => {
            opt_err(german::iban(v), format!("Die IBAN bei „{label}“ ist nicht gültig. Bitte prüfen Sie sie."))
        }
        Kind::Plz => opt_err(german::plz(v), "Die Postleitzahl hat fünf Ziffern, zum Beispiel 29391.".to_owned()),
        Kind::SteuerId => opt_err(
            german::steuer_id(v),
            "Die Steuer-Identifikationsnummer hat elf Ziffern; diese ist nicht gültig. Bitte prüfen Sie sie."
                .to_owned(),
        ),
        Kind::Kfz => opt_err(german::kfz(v), "Bitte geben Sie das Kennzeichen so an: HK-AB 123.".to_owned()),
        Kind::Declaration { .. } => match v {
            "ja" => Ok("ja".into()),
            _ => Err(format!("Bitte bestätigen Sie „{label}“.")),
        },
        // Checked as parts (address) or by the server (files, checkboxes).
        Kind::Address { .. } => {
            let (street, place) = split_address(v);
            let Some((plz, city)) = place.split_once(' ') else {
                return Err(format!("Bitte geben Sie bei „{label}“ Straße, Postleitzahl und Ort an."));
            };
            let plz =
                german::plz(plz).ok_or_else(|| "Die Postleitzahl hat fünf Ziffern, zum Beispiel 29391.".to_owned())?;
            let city = city.trim();
            if street.is_empty() || city.is_empty() {
                return Err(format!("Bitte geben Sie bei „{label}“ Straße, Postleitzahl und Ort an."));
            }
            if street.chars().count() > 100
                || city.chars().count() > 100
                || v.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(format!("Die Anschrift bei „{label}“ ist zu lang oder enthält unzulässige Zeichen."));
            }
            Ok(format!("{street}\n{plz} {city}"))
        }
        Kind::File { .. } | Kind::Checkboxes { .. } | Kind::Info { .. } => Ok(v.to_owned()),
    }
}

/// Why `v` is no date: a date in the right form that does not exist (31.02.1980),
/// or not the form TT.MM.JJJJ — with an example that fits the field.
fn date_error(f: &Field, v: &str, today: Date) -> String {
    let label = &f.label;
    if Date::well_formed(v) {
        return format!("Den {} gibt es nicht. Bitte prüfen Sie bei „{label}“ Tag und Monat.", v.trim());
    }
    match date_example(&f.kind, today) {
        Some(e) => format!("Bitte geben Sie „{label}“ als TT.MM.JJJJ an, zum Beispiel {e}."),
        None => format!("Bitte geben Sie „{label}“ als TT.MM.JJJJ an."),
    }
}

/// An example date (TT.MM.JJJJ) that the date or birth-date field `kind` accepts
/// today: a birth date in the past at an age the field allows, a date inside the
/// field's bounds. `None` for other kinds.
#[must_use]
pub fn date_example(kind: &Kind, today: Date) -> Option<String> {
    let on_14_march = |year: i32| Date::new(year, 3, 14);
    let d = match kind {
        Kind::BirthDate { min_age, max_age } => {
            let lo = i32::try_from(min_age.unwrap_or(0)).unwrap_or(0);
            let hi = i32::try_from(max_age.unwrap_or(120)).unwrap_or(120).max(lo);
            let age = if (lo..=hi).contains(&40) { 40 } else { lo + (hi - lo) / 2 };
            // Born on 14 March: the birthday of this year already past or not.
            let year = if (today.month, today.day) > (3, 14) { today.year - age } else { today.year - age - 1 };
            on_14_march(year)
        }
        Kind::Date { not_before, not_after } => {
            let bound =
                |b: &Option<String>| b.as_deref().and_then(|s| if s == "heute" { Some(today) } else { Date::parse(s) });
            let (lo, hi) = (bound(not_before), bound(not_after));
            let fits = |d: &Date| lo.is_none_or(|l| *d >= l) && hi.is_none_or(|h| *d <= h);
            let years: Vec<i32> = match (lo, hi) {
                (Some(l), Some(h)) => (l.year..=h.year).collect(),
                (Some(l), None) => vec![l.year + 1],
                (None, Some(h)) => vec![h.year - 1],
                (None, None) => vec![today.year],
            };
            years.into_iter().filter_map(on_14_march).find(fits).or(lo).or(hi)
        }
        _ => None,
    }?;
    Some(d.german())
}

/// "12,50", "12.50", "1.234,50 €" → cents.
/// Splits an address answer into the street line and the "PLZ place" line.
#[must_use]
pub fn split_address(v: &str) -> (&str, &str) {
    let (street, place) = v.split_once('\n').unwrap_or((v, ""));
    (street.trim(), place.trim())
}

/// Every answer of `answers` in its normal form (amounts in cents, dates ISO,
/// Kfz and IBAN spelled canonically); answers that do not check stay as given.
#[must_use]
pub fn normalize(form: &Form, answers: &Answers, today: Date) -> Answers {
    let fields: BTreeMap<&str, &Field> = form
        .steps
        .iter()
        .flat_map(|s| &s.items)
        .flat_map(|i| match i {
            Item::Field(f) => vec![f],
            Item::Group(g) => g.fields.iter().collect(),
        })
        .map(|f| (f.id.as_str(), f))
        .collect();
    let norm = |id: &str, a: &Answer| -> Answer {
        match (a, fields.get(id)) {
            (Answer::One(v), Some(f)) if !v.trim().is_empty() => {
                Answer::One(check_value(f, v, today).unwrap_or_else(|_| v.clone()))
            }
            _ => a.clone(),
        }
    };
    answers
        .iter()
        .map(|(k, a)| {
            let v = match a {
                Answer::Rows(rows) => Answer::Rows(
                    rows.iter().map(|r| r.iter().map(|(k, a)| (k.clone(), norm(k, a))).collect()).collect(),
                ),
                other => norm(k, other),
            };
            (k.clone(), v)
        })
        .collect()
}

fn parse_euro(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('€').trim().replace(' ', "");
    let (int, frac) = match s.rsplit_once(',') {
        Some((i, f)) => (i.replace('.', ""), f.to_owned()),
        None => match s.rsplit_once('.') {
            Some((i, f)) if f.len() <= 2 => (i.to_owned(), f.to_owned()),
            _ => (s.replace('.', ""), String::new()),
        },
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let euros: i64 = int.parse().ok()?;
    let cents: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    euros.checked_mul(100)?.checked_add(cents)
}

/// What a citizen is told when a needed answer is missing, in the words of the
/// control: one chooses a radio or select answer, confirms a declaration, uploads
/// a file and fills in the rest.
fn missing_message(f: &Field) -> String {
    let label = &f.label;
    match f.kind {
        Kind::Select { .. } | Kind::Radio { .. } | Kind::YesNo => {
            format!("Bitte wählen Sie bei „{label}“ eine Antwort aus.")
        }
        Kind::Checkboxes { .. } => format!("Bitte wählen Sie bei „{label}“ mindestens eine Möglichkeit aus."),
        Kind::Declaration { .. } => format!("Bitte bestätigen Sie „{label}“."),
        Kind::File { .. } => format!("Bitte laden Sie „{label}“ hoch."),
        _ => format!("Bitte füllen Sie „{label}“ aus."),
    }
}

fn check_field(f: &Field, path: &str, answers: &Answers, scope: &Answers, today: Date, out: &mut Vec<Problem>) {
    let problem = |message: String| Problem { path: path.to_owned(), message };
    if matches!(f.kind, Kind::Info { .. }) {
        if scope.contains_key(&f.id) {
            out.push(problem(format!("„{}“ ist ein Hinweis und nimmt keine Antwort an.", f.label)));
        }
        return;
    }
    let needed = required(f, answers) || matches!(f.kind, Kind::Declaration { .. });
    match (&f.kind, scope.get(&f.id)) {
        (Kind::Checkboxes { options, min, max }, a) => {
            let chosen: Vec<&str> = match a {
                Some(Answer::Many(v)) => v.iter().map(String::as_str).collect(),
                Some(Answer::One(s)) if !s.is_empty() => vec![s.as_str()],
                None | Some(Answer::One(_)) => Vec::new(),
                Some(Answer::Rows(_)) => return out.push(problem(format!("„{}“: unerwartete Antwort.", f.label))),
            };
            if chosen.iter().any(|c| !options.iter().any(|o| o.value == *c)) {
                out.push(problem(format!("Bitte wählen Sie bei „{}“ nur angebotene Möglichkeiten.", f.label)));
            } else if (needed && chosen.is_empty()) || (chosen.len() as u32) < *min && !chosen.is_empty() {
                out.push(problem(format!("Bitte wählen Sie bei „{}“ mindestens {} aus.", f.label, (*min).max(1))));
            } else if max.is_some_and(|m| chosen.len() as u32 > m) {
                out.push(problem(format!(
                    "Bitte wählen Sie bei „{}“ höchstens {} aus.",
                    f.label,
                    max.unwrap_or_default()
                )));
            }
        }
        (_, None) => {
            if needed {
                out.push(problem(missing_message(f)));
            }
        }
        (_, Some(Answer::One(v))) if v.trim().is_empty() => {
            if needed {
                out.push(problem(missing_message(f)));
            }
        }
        (_, Some(Answer::One(v))) => {
            if let Err(m) = check_value(f, v, today) {
                out.push(problem(m));
            }
        }
        (_, Some(_)) => out.push(problem(format!("„{}“: unerwartete Antwort.", f.label))),
    }
}

/// Validates the answers of the visible parts of one step (`Some(step id)`) or of
/// the whole form (`None`). Answers to fields that are hidden, unknown or of
/// another step are reported too: they were not asked for and are never stored.
#[must_use]
pub fn validate(form: &Form, step: Option<&str>, answers: &Answers, today: Date) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut expected: Vec<&str> = Vec::new();
    for s in visible_steps(form, answers) {
        if step.is_some_and(|id| id != s.id) {
            continue;
        }
        for item in &s.items {
            match item {
                Item::Field(f) if visible(f.visible_if.as_ref(), answers) => {
                    expected.push(&f.id);
                    check_field(f, &f.id, answers, answers, today, &mut out);
                }
                Item::Group(g) if visible(g.visible_if.as_ref(), answers) => {
                    expected.push(&g.id);
                    match (&g.repeat, answers.get(&g.id)) {
                        (Some(rep), Some(Answer::Rows(rows))) => {
                            if (rows.len() as u32) < rep.min || rows.len() as u32 > rep.max {
                                out.push(Problem {
                                    path: g.id.clone(),
                                    message: format!(
                                        "Bitte geben Sie bei „{}“ {} bis {} Einträge an.",
                                        g.label, rep.min, rep.max
                                    ),
                                });
                            }
                            for (i, row) in rows.iter().enumerate() {
                                for f in &g.fields {
                                    check_field(f, &format!("{}[{i}].{}", g.id, f.id), answers, row, today, &mut out);
                                }
                                if let Some(k) = row.keys().find(|k| !g.fields.iter().any(|f| &f.id == *k)) {
                                    out.push(Problem {
                                        path: format!("{}[{i}].{k}", g.id),
                                        message: "Diese Angabe gehört nicht zum Antrag.".into(),
                                    });
                                }
                            }
                        }
                        (Some(rep), None) if rep.min > 0 => out.push(Problem {
                            path: g.id.clone(),
                            message: format!("Bitte geben Sie bei „{}“ mindestens {} Eintrag an.", g.label, rep.min),
                        }),
                        (Some(_), None) => {}
                        (Some(_), Some(_)) => {
                            out.push(Problem { path: g.id.clone(), message: "Unerwartete Antwort.".into() })
                        }
                        (None, _) => {
                            // A plain group: its fields are answered at the top level.
                            for f in &g.fields {
                                if visible(f.visible_if.as_ref(), answers) {
                                    expected.push(&f.id);
                                    check_field(f, &f.id, answers, answers, today, &mut out);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for rule in &form.rules {
        match rule {
            Rule::DateAfter { field, other, message } if expected.contains(&field.as_str()) => {
                if let (Some(a), Some(b)) =
                    (one(answers, field).and_then(Date::parse), one(answers, other).and_then(Date::parse))
                    && a <= b
                {
                    out.push(Problem { path: field.clone(), message: message.clone() });
                }
            }
            Rule::WithinDays { field, days, message } if expected.contains(&field.as_str()) => {
                if let Some(d) = one(answers, field).and_then(Date::parse)
                    && (d.ordinal() - today.ordinal() > i64::from(*days) || d < today)
                {
                    out.push(Problem { path: field.clone(), message: message.clone() });
                }
            }
            _ => {}
        }
    }
    if step.is_none() {
        for k in answers.keys() {
            if !expected.contains(&k.as_str()) {
                out.push(Problem { path: k.clone(), message: "Diese Angabe gehört nicht zum Antrag.".into() });
            }
        }
    }
    out
}

/// The answers without those to fields that are hidden or unknown — what may be
/// stored once `validate` found nothing else.
#[must_use]
pub fn keep_asked(form: &Form, answers: &Answers) -> Answers {
    let mut ids: Vec<&str> = Vec::new();
    for s in visible_steps(form, answers) {
        for item in &s.items {
            match item {
                Item::Field(f) if visible(f.visible_if.as_ref(), answers) => ids.push(&f.id),
                Item::Group(g) if visible(g.visible_if.as_ref(), answers) => {
                    ids.push(&g.id);
                    ids.extend(
                        g.fields.iter().filter(|f| visible(f.visible_if.as_ref(), answers)).map(|f| f.id.as_str()),
                    );
                }
                _ => {}
            }
        }
    }
    answers.iter().filter(|(k, _)| ids.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn eval(e: &Expr, answers: &Answers) -> i64 {
    match e {
        Expr::Cents(c) => *c,
        Expr::Field(f) => one(answers, f)
            .and_then(|s| parse_euro(s).or_else(|| s.trim().parse::<i64>().ok().map(|n| n * 100)))
            .unwrap_or(0),
        Expr::Count(g) => match answers.get(g) {
            Some(Answer::Rows(r)) => i64::try_from(r.len()).unwrap_or(0),
            _ => 0,
        },
        Expr::Sum(v) => v.iter().map(|e| eval(e, answers)).fold(0i64, i64::saturating_add),
        Expr::Product(v) => v.iter().map(|e| eval(e, answers)).fold(1i64, i64::saturating_mul),
        Expr::If { when, then, otherwise } => {
            if holds(when, answers) {
                eval(then, answers)
            } else {
                eval(otherwise, answers)
            }
        }
        Expr::Tiered { units, first, further } => {
            let n = match answers.get(units) {
                Some(Answer::Rows(r)) => i64::try_from(r.len()).unwrap_or(0),
                Some(Answer::One(s)) => s.trim().parse::<i64>().unwrap_or(0),
                _ => 0,
            };
            if n <= 0 { 0 } else { first.saturating_add((n - 1).saturating_mul(*further)) }
        }
    }
}

fn cond_ids<'e>(c: &'e Cond, out: &mut Vec<&'e str>) {
    match c {
        Cond::Equals { field, .. }
        | Cond::NotEquals { field, .. }
        | Cond::AnyOf { field, .. }
        | Cond::Filled { field }
        | Cond::Yes { field } => out.push(field),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| cond_ids(c, out)),
        Cond::Not(c) => cond_ids(c, out),
    }
}

/// The answers (fields and repeating groups) an amount depends on.
fn expr_ids<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    match e {
        Expr::Cents(_) => {}
        Expr::Field(id) | Expr::Count(id) | Expr::Tiered { units: id, .. } => out.push(id),
        Expr::Sum(es) | Expr::Product(es) => es.iter().for_each(|e| expr_ids(e, out)),
        Expr::If { when, then, otherwise } => {
            cond_ids(when, out);
            expr_ids(then, out);
            expr_ids(otherwise, out);
        }
    }
}

/// Whether the answer `id` is still to come: a visible required field not yet
/// answered, or a visible repeating group whose page was not yet sent.
fn awaited(form: &Form, answers: &Answers, id: &str) -> bool {
    let field_awaited =
        |f: &Field| visible(f.visible_if.as_ref(), answers) && required(f, answers) && !filled(answers, id);
    for s in visible_steps(form, answers) {
        for item in &s.items {
            match item {
                Item::Field(f) if f.id == id => return field_awaited(f),
                Item::Group(g) if g.repeat.is_some() && g.id == id => {
                    return visible(g.visible_if.as_ref(), answers) && !answers.contains_key(id);
                }
                Item::Group(g) if g.repeat.is_none() => {
                    if let Some(f) = g.fields.iter().find(|f| f.id == id) {
                        return visible(g.visible_if.as_ref(), answers) && field_awaited(f);
                    }
                }
                _ => {}
            }
        }
    }
    false
}

/// The computed values (cents) for these answers: only those whose answers are all
/// given (a fee is not shown before the answers it depends on — no "−30,00 €" for
/// no dog yet), never below zero.
#[must_use]
pub fn compute(form: &Form, answers: &Answers) -> Vec<(String, i64)> {
    form.computed
        .iter()
        .filter(|c| {
            let mut ids = Vec::new();
            expr_ids(&c.expr, &mut ids);
            !ids.iter().any(|id| awaited(form, answers, id))
        })
        .map(|c| (c.id.clone(), eval(&c.expr, answers).max(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_amounts() {
        assert_eq!(parse_euro("12,50"), Some(1250));
        assert_eq!(parse_euro("12.5"), Some(1250));
        assert_eq!(parse_euro("1.234,05 €"), Some(123_405));
        assert_eq!(parse_euro("1.234"), Some(123_400));
        assert_eq!(parse_euro("12,345"), None);
        assert_eq!(parse_euro("zwölf"), None);
    }

    const TODAY: Date = Date { year: 2026, month: 11, day: 23 };

    fn field(json: serde_json::Value) -> Field {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_date_in_the_right_form_that_does_not_exist_is_not_a_format_error() {
        let f = field(serde_json::json!({"id": "g", "label": "Geburtsdatum", "type": "birth_date"}));
        let e = check_value(&f, "31.02.1980", TODAY).unwrap_err();
        assert_eq!(e, "Den 31.02.1980 gibt es nicht. Bitte prüfen Sie bei „Geburtsdatum“ Tag und Monat.");
        let e = check_value(&f, "31.2.80", TODAY).unwrap_err();
        assert!(e.contains("als TT.MM.JJJJ an, zum Beispiel 14.03.1986"), "{e}");
        assert!(Date::well_formed("2024-02-30") && !Date::well_formed("32.01.2020") && !Date::well_formed("heute"));
    }

    #[test]
    fn date_examples_fit_the_field() {
        let birth = |min: Option<u32>, max: Option<u32>| Kind::BirthDate { min_age: min, max_age: max };
        for kind in [birth(None, None), birth(Some(16), None), birth(None, Some(6)), birth(Some(18), Some(30))] {
            let example = date_example(&kind, TODAY).unwrap();
            let f = Field {
                id: "g".into(),
                label: "G".into(),
                hint: String::new(),
                kind: kind.clone(),
                required: true,
                required_if: None,
                visible_if: None,
                prefill: None,
            };
            assert_eq!(check_value(&f, &example, TODAY).map(|_| ()), Ok(()), "{kind:?}: {example}");
        }
        let date = |b: Option<&str>, a: Option<&str>| Kind::Date {
            not_before: b.map(str::to_owned),
            not_after: a.map(str::to_owned),
        };
        assert_eq!(date_example(&date(None, Some("heute")), TODAY).as_deref(), Some("14.03.2025"), "a past date");
        assert_eq!(date_example(&date(Some("heute"), None), TODAY).as_deref(), Some("14.03.2027"), "a future date");
        assert_eq!(date_example(&birth(None, None), TODAY).as_deref(), Some("14.03.1986"));
        assert_eq!(date_example(&Kind::YesNo, TODAY), None);
    }

    #[test]
    fn missing_choices_are_chosen_and_declarations_confirmed() {
        let form: Form = serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T", "steps": [{"id": "a", "title": "A", "items": [
                {"item": "field", "id": "art", "label": "Art", "type": "radio", "required": true,
                 "options": [{"value": "a", "label": "A"}]},
                {"item": "field", "id": "wahl", "label": "Wahl", "type": "select", "required": true,
                 "options": [{"value": "a", "label": "A"}]},
                {"item": "field", "id": "jn", "label": "Ja oder nein", "type": "yes_no", "required": true},
                {"item": "field", "id": "ok", "label": "Ich versichere es", "type": "declaration", "text": "…"},
                {"item": "field", "id": "name", "label": "Name", "type": "text", "required": true}
            ]}]
        }))
        .unwrap();
        let got: Vec<String> = validate(&form, None, &Answers::new(), TODAY).into_iter().map(|p| p.message).collect();
        assert_eq!(
            got,
            [
                "Bitte wählen Sie bei „Art“ eine Antwort aus.",
                "Bitte wählen Sie bei „Wahl“ eine Antwort aus.",
                "Bitte wählen Sie bei „Ja oder nein“ eine Antwort aus.",
                "Bitte bestätigen Sie „Ich versichere es“.",
                "Bitte füllen Sie „Name“ aus.",
            ]
        );
    }

    #[test]
    fn tiered_amounts_count_rows_or_a_number_and_wait_for_their_answer() {
        let form: Form = serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T", "steps": [{"id": "a", "title": "A", "items": [
                {"item": "field", "id": "anzahl", "label": "Anzahl", "type": "number", "required": true}
            ]}],
            "computed": [
                {"id": "staffel", "label": "Staffel", "expr": {"tiered": {"units": "anzahl", "first": 1000, "further": 500}}},
                {"id": "minus", "label": "Minus", "expr": {"sum": [{"cents": 100}, {"cents": -300}]}}
            ]
        }))
        .unwrap();
        assert_eq!(compute(&form, &Answers::new()), [("minus".to_owned(), 0)], "waits for its answer; never negative");
        let with = |n: &str| {
            let mut a = Answers::new();
            a.insert("anzahl".into(), Answer::One(n.into()));
            compute(&form, &a)[0].1
        };
        assert_eq!([with("0"), with("1"), with("2"), with("4"), with("-3")], [0, 1000, 1500, 2500, 0]);
    }
}
