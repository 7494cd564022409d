//! Computed amounts (e.g. the fee) on the rules page, built without JSON from the
//! common parts: a fixed amount, an amount per entry of a repeating group, a
//! Staffel (the first unit costs this, every further unit that — the dog tax), and
//! an amount depending on one answer — stored as the sum of the parts — plus a
//! Befreiung: the amount is 0,00 € when an answer is one of up to four chosen ones
//! (fire brigades and associations pay no fee). Amounts of other shapes (written in
//! the JSON) are shown read-only. Also how a computed amount is paid: online before
//! the application is released, by invoice, or at the counter (`payment`).

use super::eingaben::Reader;
use super::feld::condition_pairs;
use super::{Msg, RulesForm, euro, expr_text, msg};
use amtsweg_forms::check::Finding;
use amtsweg_forms::check::id_from_label;
use amtsweg_forms::{Computed, Cond, Expr, Form, FormPayMode, Item, PaymentSpec};
use minijinja::{Value, context};
use std::collections::BTreeSet;

/// The parts of a computed amount that the builder covers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Parts {
    /// A fixed amount (cents).
    fixed: Option<i64>,
    /// An amount per entry of a repeating group: group, cents.
    per_entry: Option<(String, i64)>,
    /// When `field=value` then one amount, otherwise another.
    choice: Option<(String, i64, i64)>,
    /// A Staffel: what is counted (a repeating group or a number field), the
    /// first unit's and every further unit's amount (cents).
    tiered: Option<(String, i64, i64)>,
    /// Befreiung: the answers (`field=value`) that make the whole amount 0.
    exempt: Vec<String>,
}

/// At most this many answers exempt (one select each on the page).
const EXEMPT_SLOTS: usize = 4;

/// The condition "one of these answers", grouped by field in the given order.
fn exempt_cond(pairs: &[String]) -> Cond {
    let mut by_field: Vec<(String, Vec<String>)> = Vec::new();
    for p in pairs {
        let (field, value) = p.split_once('=').unwrap_or((p, ""));
        match by_field.iter_mut().find(|(f, _)| f == field) {
            Some((_, values)) => values.push(value.to_owned()),
            None => by_field.push((field.to_owned(), vec![value.to_owned()])),
        }
    }
    let mut conds: Vec<Cond> = by_field
        .into_iter()
        .map(|(field, mut values)| {
            if values.len() == 1 {
                Cond::Equals { field, value: values.remove(0) }
            } else {
                Cond::AnyOf { field, values }
            }
        })
        .collect();
    if conds.len() == 1 { conds.remove(0) } else { Cond::Any(conds) }
}

/// The answers of an exemption condition, if it has the shape [`exempt_cond`] writes.
fn exempt_pairs(c: &Cond) -> Option<Vec<String>> {
    match c {
        Cond::Equals { field, value } => Some(vec![format!("{field}={value}")]),
        Cond::AnyOf { field, values } if !values.is_empty() => {
            Some(values.iter().map(|v| format!("{field}={v}")).collect())
        }
        Cond::Any(cs) if cs.len() > 1 => {
            let mut out = Vec::new();
            for c in cs {
                match c {
                    Cond::Equals { .. } | Cond::AnyOf { .. } => out.extend(exempt_pairs(c)?),
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// What a Staffel may count: repeating groups and number fields (id, words).
fn countables(form: &Form) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        repeating_groups(form).into_iter().map(|(id, label)| (id, format!("die Einträge bei „{label}“"))).collect();
    for s in &form.steps {
        for item in &s.items {
            let fields: Vec<&amtsweg_forms::Field> = match item {
                Item::Field(f) => vec![f],
                Item::Group(g) if g.repeat.is_none() => g.fields.iter().collect(),
                Item::Group(_) => Vec::new(),
            };
            for f in fields {
                if matches!(f.kind, amtsweg_forms::Kind::Number { .. }) {
                    out.push((f.id.clone(), format!("die Zahl bei „{}“", f.label)));
                }
            }
        }
    }
    out
}

/// A Staffel in words, for the list of amounts and the preview.
pub(super) fn tiered_text(form: &Form, e: &Expr) -> String {
    let Expr::Tiered { units, first, further } = e else { return String::new() };
    let what = countables(form)
        .into_iter()
        .find(|(id, _)| id == units)
        .map_or_else(|| format!("„{units}“"), |(_, words)| words);
    format!("Staffel nach {what}: {} € für die erste Einheit, {} € für jede weitere", euro(*first), euro(*further))
}

impl Parts {
    /// The amount as stored: always the sum of the parts, in this order.
    fn expr(&self) -> Expr {
        let mut parts = Vec::new();
        if let Some(c) = self.fixed {
            parts.push(Expr::Cents(c));
        }
        if let Some((g, c)) = &self.per_entry {
            parts.push(Expr::Product(vec![Expr::Count(g.clone()), Expr::Cents(*c)]));
        }
        if let Some((units, first, further)) = &self.tiered {
            parts.push(Expr::Tiered { units: units.clone(), first: *first, further: *further });
        }
        if let Some((cond, then, otherwise)) = &self.choice {
            let (field, value) = cond.split_once('=').unwrap_or((cond, ""));
            parts.push(Expr::If {
                when: Cond::Equals { field: field.to_owned(), value: value.to_owned() },
                then: Box::new(Expr::Cents(*then)),
                otherwise: Box::new(Expr::Cents(*otherwise)),
            });
        }
        if self.exempt.is_empty() {
            Expr::Sum(parts)
        } else {
            Expr::If {
                when: exempt_cond(&self.exempt),
                then: Box::new(Expr::Cents(0)),
                otherwise: Box::new(Expr::Sum(parts)),
            }
        }
    }
}

/// The repeating groups of the form: id and label.
fn repeating_groups(form: &Form) -> Vec<(String, String)> {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|i| match i {
            Item::Group(g) if g.repeat.is_some() => Some((g.id.clone(), g.label.clone())),
            _ => None,
        })
        .collect()
}

/// The builder's parts of `e`, if it has the builder's shape (a sum of at most one
/// of each part, or one part alone) and uses only what the builder's selects offer;
/// `None` for anything else.
fn parts_of(form: &Form, e: &Expr) -> Option<Parts> {
    let conditions = condition_pairs(form, &[]);
    // A Befreiung around the parts: "if one of these answers, 0,00 €, otherwise …".
    if let Expr::If { when, then, otherwise } = e
        && **then == Expr::Cents(0)
        && let Some(pairs) = exempt_pairs(when)
        && pairs.len() <= EXEMPT_SLOTS
        && pairs.iter().all(|p| conditions.iter().any(|(v, _)| v == p))
        && let Some(inner) = parts_of_sum(form, otherwise)
        && inner.exempt.is_empty()
    {
        return Some(Parts { exempt: pairs, ..inner });
    }
    parts_of_sum(form, e)
}

/// The builder's parts of a sum (or a single part), without a Befreiung.
fn parts_of_sum(form: &Form, e: &Expr) -> Option<Parts> {
    let list = match e {
        Expr::Sum(es) => es.as_slice(),
        one => std::slice::from_ref(one),
    };
    let groups = repeating_groups(form);
    let conditions = condition_pairs(form, &[]);
    let mut p = Parts::default();
    for part in list {
        match part {
            Expr::Cents(c) if p.fixed.is_none() && *c >= 0 => p.fixed = Some(*c),
            Expr::Product(xs) if p.per_entry.is_none() => match xs.as_slice() {
                [Expr::Count(g), Expr::Cents(c)] | [Expr::Cents(c), Expr::Count(g)]
                    if *c >= 0 && groups.iter().any(|(id, _)| id == g) =>
                {
                    p.per_entry = Some((g.clone(), *c));
                }
                _ => return None,
            },
            Expr::Tiered { units, first, further }
                if p.tiered.is_none()
                    && *first >= 0
                    && *further >= 0
                    && countables(form).iter().any(|(id, _)| id == units) =>
            {
                p.tiered = Some((units.clone(), *first, *further));
            }
            Expr::If { when: Cond::Equals { field, value }, then, otherwise } if p.choice.is_none() => {
                let cond = format!("{field}={value}");
                match (then.as_ref(), otherwise.as_ref()) {
                    (Expr::Cents(a), Expr::Cents(b))
                        if *a >= 0 && *b >= 0 && conditions.iter().any(|(v, _)| *v == cond) =>
                    {
                        p.choice = Some((cond, *a, *b));
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    (p != Parts::default()).then_some(p)
}

/// The builder filled in with computed amount `nr`, to edit it.
pub(super) fn input_of(form: &Form, nr: usize) -> Option<RulesForm> {
    let c = form.computed.get(nr)?;
    let p = parts_of(form, &c.expr)?;
    let (je_gruppe, je_betrag) = p.per_entry.map(|(g, c)| (g, euro(c))).unwrap_or_default();
    let (wenn, dann_betrag, sonst_betrag) = p.choice.map(|(w, a, b)| (w, euro(a), euro(b))).unwrap_or_default();
    let (staffel_einheiten, staffel_erste, staffel_weitere) =
        p.tiered.map(|(u, a, b)| (u, euro(a), euro(b))).unwrap_or_default();
    let slot = |i: usize| p.exempt.get(i).cloned().unwrap_or_default();
    Some(RulesForm {
        aktion: "berechnet_aendern".into(),
        nr,
        berechnet_label: c.label.clone(),
        grundbetrag: p.fixed.map(euro).unwrap_or_default(),
        je_gruppe,
        je_betrag,
        wenn,
        dann_betrag,
        sonst_betrag,
        staffel_einheiten,
        staffel_erste,
        staffel_weitere,
        befreit_1: slot(0),
        befreit_2: slot(1),
        befreit_3: slot(2),
        befreit_4: slot(3),
        ..RulesForm::default()
    })
}

/// The builder's inputs as a label and parts; problems go to `errors`.
fn read(form: &Form, f: &RulesForm, errors: &mut Vec<Msg>) -> Option<(String, Parts)> {
    let label = f.berechnet_label.trim();
    if label.is_empty() {
        errors.push(msg(
            "feld-berechnet_label",
            "Bitte geben Sie die Bezeichnung des Betrags an, zum Beispiel „Gebühr“.",
        ));
    }
    let mut r = Reader { errors: &mut *errors };
    let fixed = r.cents(&f.grundbetrag, "grundbetrag", "Fester Betrag");
    let per = r.cents(&f.je_betrag, "je_betrag", "Betrag je Eintrag");
    let then = r.cents(&f.dann_betrag, "dann_betrag", "Betrag, wenn die Bedingung zutrifft");
    let otherwise = r.cents(&f.sonst_betrag, "sonst_betrag", "Betrag sonst");
    let first = r.cents(&f.staffel_erste, "staffel_erste", "Betrag für die erste Einheit");
    let further = r.cents(&f.staffel_weitere, "staffel_weitere", "Betrag für jede weitere Einheit");
    let mut parts = Parts { fixed, ..Parts::default() };
    match (f.je_gruppe.as_str(), per) {
        ("", None) => {}
        ("", Some(_)) => {
            errors.push(msg("feld-je_gruppe", "Bitte wählen Sie die Gruppe, für deren Einträge der Betrag gilt."))
        }
        (g, _) if !repeating_groups(form).iter().any(|(id, _)| id == g) => errors.push(msg(
            "feld-je_gruppe",
            "Diese Gruppe gibt es nicht oder sie hat nicht mehrere Einträge. Bitte laden Sie die Seite neu.",
        )),
        (_, None) if f.je_betrag.trim().is_empty() => {
            errors.push(msg("feld-je_betrag", "Bitte geben Sie den Betrag je Eintrag an, zum Beispiel 10,00."))
        }
        (_, None) => {}
        (g, Some(c)) => parts.per_entry = Some((g.to_owned(), c)),
    }
    let typed_amounts = !f.dann_betrag.trim().is_empty() || !f.sonst_betrag.trim().is_empty();
    match f.wenn.as_str() {
        "" if typed_amounts => {
            errors.push(msg("feld-wenn", "Bitte wählen Sie die Antwort, nach der sich der Betrag richtet."))
        }
        "" => {}
        w if !condition_pairs(form, &[]).iter().any(|(v, _)| v == w) => errors.push(msg(
            "feld-wenn",
            "Diese Antwort gibt es im Formular nicht mehr. Bitte wählen Sie eine der angebotenen.",
        )),
        _ if f.dann_betrag.trim().is_empty() => errors.push(msg(
            "feld-dann_betrag",
            "Bitte geben Sie den Betrag an, der gilt, wenn die Antwort zutrifft (zum Beispiel 40,00).",
        )),
        w => {
            if let Some(a) = then {
                parts.choice = Some((w.to_owned(), a, otherwise.unwrap_or(0)));
            }
        }
    }
    let typed_tier = !f.staffel_erste.trim().is_empty() || !f.staffel_weitere.trim().is_empty();
    match f.staffel_einheiten.as_str() {
        "" if typed_tier => errors.push(msg(
            "feld-staffel_einheiten",
            "Bitte wählen Sie, was die Staffel zählt, zum Beispiel die Einträge bei „Hund“.",
        )),
        "" => {}
        u if !countables(form).iter().any(|(id, _)| id == u) => errors.push(msg(
            "feld-staffel_einheiten",
            "Das Gezählte gibt es im Formular nicht mehr oder es ist keine Gruppe mit mehreren Einträgen und kein Zahlfeld. Bitte wählen Sie eines der angebotenen.",
        )),
        _ if f.staffel_erste.trim().is_empty() => errors.push(msg(
            "feld-staffel_erste",
            "Bitte geben Sie an, was die erste Einheit kostet, zum Beispiel 90,00.",
        )),
        _ if f.staffel_weitere.trim().is_empty() => errors.push(msg(
            "feld-staffel_weitere",
            "Bitte geben Sie an, was jede weitere Einheit kostet, zum Beispiel 135,00. Kostet sie dasselbe, tragen Sie denselben Betrag ein.",
        )),
        u => {
            if let (Some(a), Some(b)) = (first, further) {
                parts.tiered = Some((u.to_owned(), a, b));
            }
        }
    }
    let conditions = condition_pairs(form, &[]);
    let mut exempt: Vec<String> = Vec::new();
    for (i, typed) in [&f.befreit_1, &f.befreit_2, &f.befreit_3, &f.befreit_4].into_iter().enumerate() {
        let typed = typed.trim();
        if typed.is_empty() || exempt.iter().any(|e| e == typed) {
            continue;
        }
        if conditions.iter().any(|(v, _)| v == typed) {
            exempt.push(typed.to_owned());
        } else {
            errors.push(msg(
                &format!("feld-befreit_{}", i + 1),
                "Diese Antwort gibt es im Formular nicht mehr. Bitte wählen Sie eine der angebotenen.",
            ));
        }
    }
    parts.exempt = exempt;
    let nothing = f.grundbetrag.trim().is_empty()
        && f.je_gruppe.is_empty()
        && f.wenn.is_empty()
        && !typed_amounts
        && f.staffel_einheiten.is_empty()
        && !typed_tier;
    if nothing && f.je_betrag.trim().is_empty() {
        errors.push(msg(
            "feld-grundbetrag",
            if parts.exempt.is_empty() {
                "Bitte geben Sie mindestens einen Betrag an: einen festen Betrag, einen Betrag je Eintrag, eine Staffel oder einen Betrag nach einer Antwort."
            } else {
                "Eine Befreiung braucht einen Betrag, von dem befreit wird: bitte geben Sie zum Beispiel einen festen Betrag an."
            },
        ));
    }
    errors.is_empty().then(|| (label.to_owned(), parts))
}

const GONE: &str = "Diesen berechneten Betrag gibt es nicht mehr. Bitte laden Sie die Seite neu.";
const IN_JSON: &str =
    "Diesen berechneten Betrag ändern Sie im JSON des Formulars: er passt nicht in die einfache Eingabe.";

/// Carries out a change of the builder (`berechnet_neu`, `berechnet_aendern`,
/// `berechnet_loeschen`) on `form`. Amounts of other shapes are not touched.
pub(super) fn apply(form: &mut Form, f: &RulesForm) -> Result<(), Vec<Msg>> {
    let mut errors = Vec::new();
    let existing = |form: &Form| -> Result<(), Vec<Msg>> {
        match form.computed.get(f.nr) {
            None => Err(vec![msg("berechnet", GONE)]),
            Some(c) if parts_of(form, &c.expr).is_none() => Err(vec![msg(&format!("berechnet-{}", f.nr), IN_JSON)]),
            Some(_) => Ok(()),
        }
    };
    match f.aktion.as_str() {
        "berechnet_neu" => {
            let (label, parts) = read(form, f, &mut errors).ok_or(errors)?;
            let taken: BTreeSet<String> = form.computed.iter().map(|c| c.id.clone()).collect();
            let id = id_from_label(&label, &taken);
            form.computed.push(Computed { id, label, expr: parts.expr() });
        }
        "berechnet_aendern" => {
            existing(form)?;
            let (label, parts) = read(form, f, &mut errors).ok_or(errors)?;
            let c = &mut form.computed[f.nr];
            c.label = label;
            c.expr = parts.expr();
        }
        "berechnet_loeschen" => {
            existing(form)?;
            form.computed.remove(f.nr);
        }
        "berechnet_zahlung" => form.payment = payment_of(form, f)?,
        _ => return Err(vec![msg("berechnet", "Diese Aktion gibt es nicht.")]),
    }
    Ok(())
}

/// How the fee is paid, from the payment inputs; `None` for no payment.
fn payment_of(form: &Form, f: &RulesForm) -> Result<Option<PaymentSpec>, Vec<Msg>> {
    let mode = match f.zahlung_art.as_str() {
        "" => return Ok(None),
        "vorab" => FormPayMode::Vorab,
        "rechnung" => FormPayMode::Rechnung,
        "vor_ort" => FormPayMode::VorOrt,
        _ => return Err(vec![msg("feld-zahlung_art", "Bitte wählen Sie eine der angebotenen Zahlweisen.")]),
    };
    let mut errors = Vec::new();
    let amount = f.zahlung_betrag.trim();
    if amount.is_empty() {
        errors.push(msg("feld-zahlung_betrag", "Bitte wählen Sie den berechneten Betrag, der zu bezahlen ist."));
    } else if !form.computed.iter().any(|c| c.id == amount) {
        errors.push(msg(
            "feld-zahlung_betrag",
            "Diesen berechneten Betrag gibt es nicht mehr. Bitte wählen Sie einen der angebotenen.",
        ));
    }
    let purpose = f.zahlung_zweck.trim();
    if purpose.chars().count() > 100 {
        errors.push(msg("feld-zahlung_zweck", "Der Zahlungszweck darf höchstens 100 Zeichen lang sein."));
    }
    if errors.is_empty() {
        Ok(Some(PaymentSpec { mode, amount: amount.to_owned(), purpose: purpose.to_owned() }))
    } else {
        Err(errors)
    }
}

/// The input of the builder a finding of the check is most likely about.
pub(super) fn finding_anchor(aktion: &str, f: &Finding) -> &'static str {
    let m = &f.message;
    if aktion == "berechnet_zahlung" || m.contains("Zahlung") {
        "feld-zahlung_betrag"
    } else if aktion == "berechnet_loeschen" {
        "berechnet"
    } else if m.contains("Staffel") {
        "feld-staffel_einheiten"
    } else if m.contains("wiederholbare Gruppe") {
        "feld-je_gruppe"
    } else if m.contains("Bedingung") {
        "feld-wenn"
    } else {
        "feld-berechnet_label"
    }
}

/// The computed amounts and the builder for the rules page.
pub(super) fn view(form: &Form, typed: &RulesForm) -> Value {
    let list: Vec<Value> = form
        .computed
        .iter()
        .enumerate()
        .map(|(n, c)| {
            context! {
                nr => n, anchor => format!("berechnet-{n}"), label => &c.label, id => &c.id,
                text => expr_text(form, &c.expr), editable => parts_of(form, &c.expr).is_some(),
            }
        })
        .collect();
    let groups: Vec<Value> = repeating_groups(form).into_iter().map(|(id, label)| context! { id, label }).collect();
    let conditions: Vec<Value> =
        condition_pairs(form, &[]).into_iter().map(|(value, label)| context! { value, label }).collect();
    let countable: Vec<Value> = countables(form).into_iter().map(|(id, label)| context! { id, label }).collect();
    let exempt_slots: Vec<Value> = (1..=EXEMPT_SLOTS)
        .map(|n| {
            let typed = match n {
                1 => &typed.befreit_1,
                2 => &typed.befreit_2,
                3 => &typed.befreit_3,
                _ => &typed.befreit_4,
            };
            context! { name => format!("befreit_{n}"), first => n == 1, value => typed }
        })
        .collect();
    let editing = (typed.aktion == "berechnet_aendern")
        .then(|| form.computed.get(typed.nr))
        .flatten()
        .map(|c| context! { nr => typed.nr, label => &c.label });
    // The payment inputs: what was typed after an error, else what the form says.
    let typed_payment = typed.aktion == "berechnet_zahlung";
    let (art, betrag, zweck) = match (&form.payment, typed_payment) {
        (_, true) => (typed.zahlung_art.clone(), typed.zahlung_betrag.clone(), typed.zahlung_zweck.clone()),
        (Some(p), false) => {
            let art = match p.mode {
                FormPayMode::Vorab => "vorab",
                FormPayMode::Rechnung => "rechnung",
                FormPayMode::VorOrt => "vor_ort",
            };
            (art.to_owned(), p.amount.clone(), p.purpose.clone())
        }
        (None, false) => Default::default(),
    };
    let amounts: Vec<Value> =
        form.computed.iter().map(|c| context! { id => &c.id, label => &c.label, selected => c.id == betrag }).collect();
    let payment = context! { art, zweck, amounts };
    context! { list, groups, conditions, countable, exempt_slots, editing, payment }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "kita", "title": "Kita",
            "steps": [{"id": "a", "title": "A", "items": [
                {"item": "field", "id": "umfang", "label": "Umfang", "type": "radio", "options": [
                    {"value": "halbtags", "label": "Halbtags"}, {"value": "ganztags", "label": "Ganztags"}]},
                {"item": "field", "id": "zahl", "label": "Zahl", "type": "number"},
                {"item": "group", "id": "eltern", "label": "Eltern", "repeat": {"min": 1, "max": 2}, "fields": [
                    {"item": "field", "id": "name", "label": "Name", "type": "name"}]}
            ]}]
        }))
        .unwrap()
    }

    #[test]
    fn the_builder_reads_back_what_it_writes() {
        let form = form();
        let p = Parts {
            fixed: Some(2500),
            per_entry: Some(("eltern".into(), 1050)),
            choice: Some(("umfang=ganztags".into(), 4000, 2000)),
            tiered: Some(("zahl".into(), 9000, 13_500)),
            exempt: vec!["umfang=halbtags".into()],
        };
        assert_eq!(parts_of(&form, &p.expr()), Some(p));
        let only = Parts { fixed: Some(100), ..Parts::default() };
        assert_eq!(parts_of(&form, &only.expr()), Some(only.clone()));
        assert_eq!(parts_of(&form, &Expr::Cents(100)), Some(only), "a single part from the JSON fits too");
    }

    #[test]
    fn other_shapes_are_left_to_the_json() {
        let form = form();
        for e in [
            Expr::Field("zahl".into()),
            Expr::Sum(vec![Expr::Cents(1), Expr::Cents(2)]),
            Expr::Sum(vec![]),
            Expr::Cents(-100),
            Expr::Product(vec![Expr::Count("eltern".into()), Expr::Field("zahl".into())]),
            Expr::Product(vec![Expr::Count("gibt_es_nicht".into()), Expr::Cents(100)]),
            Expr::If {
                when: Cond::Filled { field: "zahl".into() },
                then: Box::new(Expr::Cents(1)),
                otherwise: Box::new(Expr::Cents(0)),
            },
        ] {
            assert_eq!(parts_of(&form, &e), None, "{e:?}");
        }
    }

    #[test]
    fn typed_parts_must_be_complete() {
        let form = form();
        let typed = |pairs: &[(&str, &str)]| {
            let mut f = RulesForm { berechnet_label: "Gebühr".into(), ..RulesForm::default() };
            for (k, v) in pairs {
                let v = (*v).to_owned();
                match *k {
                    "grundbetrag" => f.grundbetrag = v,
                    "je_gruppe" => f.je_gruppe = v,
                    "je_betrag" => f.je_betrag = v,
                    "wenn" => f.wenn = v,
                    "dann_betrag" => f.dann_betrag = v,
                    "sonst_betrag" => f.sonst_betrag = v,
                    "staffel_einheiten" => f.staffel_einheiten = v,
                    "staffel_erste" => f.staffel_erste = v,
                    "staffel_weitere" => f.staffel_weitere = v,
                    "befreit_1" => f.befreit_1 = v,
                    "befreit_2" => f.befreit_2 = v,
                    _ => unreachable!(),
                }
            }
            f
        };
        let at = |f: RulesForm| {
            let mut errors = Vec::new();
            let read = read(&form, &f, &mut errors);
            (read.map(|(_, p)| p), errors.into_iter().map(|e| e.href).collect::<Vec<_>>())
        };
        assert_eq!(at(typed(&[])).1, ["#feld-grundbetrag"]);
        assert_eq!(at(typed(&[("je_betrag", "5")])).1, ["#feld-je_gruppe"]);
        assert_eq!(at(typed(&[("je_gruppe", "eltern")])).1, ["#feld-je_betrag"]);
        assert_eq!(at(typed(&[("wenn", "umfang=ganztags")])).1, ["#feld-dann_betrag"]);
        assert_eq!(at(typed(&[("dann_betrag", "5")])).1, ["#feld-wenn"]);
        assert_eq!(at(typed(&[("grundbetrag", "zehn")])).1, ["#feld-grundbetrag"]);
        let (parts, errors) = at(typed(&[("wenn", "umfang=ganztags"), ("dann_betrag", "40")]));
        assert!(errors.is_empty());
        assert_eq!(parts.and_then(|p| p.choice), Some(("umfang=ganztags".into(), 4000, 0)), "sonst: 0,00 €");
        // A Staffel needs what it counts and both amounts; a Befreiung needs an amount.
        assert_eq!(at(typed(&[("staffel_erste", "90")])).1, ["#feld-staffel_einheiten"]);
        assert_eq!(at(typed(&[("staffel_einheiten", "eltern")])).1, ["#feld-staffel_erste"]);
        assert_eq!(at(typed(&[("staffel_einheiten", "eltern"), ("staffel_erste", "90")])).1, ["#feld-staffel_weitere"]);
        assert_eq!(
            at(typed(&[("staffel_einheiten", "umfang"), ("staffel_erste", "1"), ("staffel_weitere", "1")])).1,
            ["#feld-staffel_einheiten"]
        );
        assert_eq!(at(typed(&[("befreit_1", "umfang=halbtags")])).1, ["#feld-grundbetrag"]);
        assert_eq!(at(typed(&[("grundbetrag", "15"), ("befreit_2", "umfang=nie")])).1, ["#feld-befreit_2"]);
        let (parts, errors) = at(typed(&[
            ("staffel_einheiten", "eltern"),
            ("staffel_erste", "90,00"),
            ("staffel_weitere", "135"),
            ("befreit_1", "umfang=halbtags"),
            ("befreit_2", "umfang=ganztags"),
        ]));
        assert!(errors.is_empty(), "{errors:?}");
        let parts = parts.unwrap();
        assert_eq!(parts.tiered, Some(("eltern".into(), 9000, 13_500)));
        assert_eq!(parts.exempt, ["umfang=halbtags", "umfang=ganztags"]);
        assert_eq!(
            parts.expr(),
            Expr::If {
                when: Cond::AnyOf { field: "umfang".into(), values: vec!["halbtags".into(), "ganztags".into()] },
                then: Box::new(Expr::Cents(0)),
                otherwise: Box::new(Expr::Sum(vec![Expr::Tiered {
                    units: "eltern".into(),
                    first: 9000,
                    further: 13_500
                }])),
            }
        );
    }

    /// The demo's tariffs — written in JSON — open in the builder without JSON.
    #[test]
    fn the_demo_tariffs_fit_the_builder() {
        let form = form();
        let dog_tax = Expr::Tiered { units: "eltern".into(), first: 9000, further: 13_500 };
        assert_eq!(parts_of(&form, &dog_tax).and_then(|p| p.tiered), Some(("eltern".into(), 9000, 13_500)));
        let easter_fire = Expr::If {
            when: Cond::AnyOf { field: "umfang".into(), values: vec!["halbtags".into()] },
            then: Box::new(Expr::Cents(0)),
            otherwise: Box::new(Expr::Cents(1500)),
        };
        let p = parts_of(&form, &easter_fire).unwrap();
        assert_eq!((p.fixed, p.exempt.clone()), (Some(1500), vec!["umfang=halbtags".to_owned()]));
        assert!(tiered_text(&form, &dog_tax).contains("90,00 € für die erste Einheit, 135,00 € für jede weitere"));
    }

    /// How the fee is paid: a mode and one of the computed amounts, or nothing.
    #[test]
    fn the_payment_names_a_computed_amount() {
        let mut form = form();
        form.computed.push(Computed { id: "gebuehr".into(), label: "Gebühr".into(), expr: Expr::Cents(1500) });
        let f = |art: &str, betrag: &str| RulesForm {
            aktion: "berechnet_zahlung".into(),
            zahlung_art: art.into(),
            zahlung_betrag: betrag.into(),
            ..RulesForm::default()
        };
        apply(&mut form, &f("vorab", "gebuehr")).unwrap();
        let p = form.payment.clone().unwrap();
        assert_eq!((p.mode, p.amount.as_str()), (FormPayMode::Vorab, "gebuehr"));
        let refused = |art: &str, betrag: &str| {
            let mut form = form.clone();
            apply(&mut form, &f(art, betrag)).unwrap_err().into_iter().map(|m| m.href).collect::<Vec<_>>()
        };
        assert_eq!(refused("rechnung", ""), ["#feld-zahlung_betrag"]);
        assert_eq!(refused("rechnung", "weg"), ["#feld-zahlung_betrag"]);
        assert_eq!(refused("bar", "gebuehr"), ["#feld-zahlung_art"]);
        apply(&mut form, &f("", "")).unwrap();
        assert!(form.payment.is_none());
    }
}
