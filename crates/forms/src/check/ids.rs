//! Ids of a form: what makes one usable, ids made from German labels, the ids in
//! use, and tidying imported ids together with every reference to them.

use crate::model::{Cond, Expr, Field, Form, Item, Rule};
use std::collections::BTreeSet;

/// Step ids that are path words of the citizen journey (`/antrag/<form>/<token>/<step>`).
pub const RESERVED_STEP_IDS: [&str; 7] =
    ["pruefen", "absenden", "gespeichert", "verwerfen", "datei", "eingang", "fortsetzen"];

/// Whether `id` is a usable id: not empty, only `a-z`, `0-9`, `_` and `-`.
#[must_use]
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A German label in ASCII as an id (`Straße und Hausnummer` → `strasse_und_hausnummer`);
/// empty when the label has no letters or digits.
#[must_use]
pub fn ascii_id(label: &str) -> String {
    let mut out = String::new();
    for c in label.to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' => out.push('e'),
            'á' | 'à' | 'â' => out.push('a'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {
                if !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
            }
        }
    }
    let short: String = out.trim_matches('_').chars().take(40).collect();
    short.trim_end_matches('_').to_owned()
}

/// An id made from a German label ([`ascii_id`]), not in `taken` and not a reserved
/// step name (a number is appended when needed).
#[must_use]
pub fn id_from_label(label: &str, taken: &BTreeSet<String>) -> String {
    let base = ascii_id(label);
    let base = if base.is_empty() { "feld" } else { base.as_str() };
    let free = |id: &str| !taken.contains(id) && !RESERVED_STEP_IDS.contains(&id);
    if free(base) {
        return base.to_owned();
    }
    (2..).map(|n| format!("{base}_{n}")).find(|id| free(id)).unwrap_or_default()
}

/// Every id in use in the form: steps, groups, fields (also inside groups).
#[must_use]
pub fn ids_in_use(form: &Form) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for s in &form.steps {
        ids.insert(s.id.clone());
        for item in &s.items {
            match item {
                Item::Field(f) => {
                    ids.insert(f.id.clone());
                }
                Item::Group(g) => {
                    ids.insert(g.id.clone());
                    ids.extend(g.fields.iter().map(|f| f.id.clone()));
                }
            }
        }
    }
    ids
}

/// An id made usable: lower case, every other character than `a-z`, `0-9`, `_`, `-`
/// replaced by `_` (`G00000082_F60000227` → `g00000082_f60000227`).
#[must_use]
pub fn tidy_id(id: &str) -> String {
    id.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '_' })
        .collect()
}

fn tidy_cond(c: &mut Cond) {
    match c {
        Cond::Equals { field, .. }
        | Cond::NotEquals { field, .. }
        | Cond::AnyOf { field, .. }
        | Cond::Filled { field }
        | Cond::Yes { field } => *field = tidy_id(field),
        Cond::All(cs) | Cond::Any(cs) => cs.iter_mut().for_each(tidy_cond),
        Cond::Not(c) => tidy_cond(c),
    }
}

fn tidy_expr(e: &mut Expr) {
    match e {
        Expr::Cents(_) => {}
        Expr::Field(f) | Expr::Count(f) | Expr::Tiered { units: f, .. } => *f = tidy_id(f),
        Expr::Sum(es) | Expr::Product(es) => es.iter_mut().for_each(tidy_expr),
        Expr::If { when, then, otherwise } => {
            tidy_cond(when);
            tidy_expr(then);
            tidy_expr(otherwise);
        }
    }
}

fn tidy_field(f: &mut Field) {
    f.id = tidy_id(&f.id);
    f.visible_if.iter_mut().chain(f.required_if.iter_mut()).for_each(tidy_cond);
}

/// Makes every id of the form usable ([`tidy_id`]) and keeps every reference to it
/// (conditions, computed values, rules) pointing at the same thing — for imported
/// forms, whose ids (FIM: `F60000227`) are upper case.
pub fn tidy_ids(form: &mut Form) {
    form.id = tidy_id(&form.id);
    for s in &mut form.steps {
        s.id = tidy_id(&s.id);
        s.visible_if.iter_mut().for_each(tidy_cond);
        for item in &mut s.items {
            match item {
                Item::Field(f) => tidy_field(f),
                Item::Group(g) => {
                    g.id = tidy_id(&g.id);
                    g.visible_if.iter_mut().for_each(tidy_cond);
                    g.fields.iter_mut().for_each(tidy_field);
                }
            }
        }
    }
    for c in &mut form.computed {
        c.id = tidy_id(&c.id);
        tidy_expr(&mut c.expr);
    }
    for r in &mut form.rules {
        match r {
            Rule::DateAfter { field, other, .. } => {
                *field = tidy_id(field);
                *other = tidy_id(other);
            }
            Rule::WithinDays { field, .. } => *field = tidy_id(field),
        }
    }
}
