//! Computed amounts (e.g. the fee) on the rules page, built without JSON from the
//! common parts: a fixed amount, an amount per entry of a repeating group, and an
//! amount depending on one answer — stored as the sum of the parts. Amounts of other
//! shapes (written in the JSON) are shown read-only.

use super::eingaben::Reader;
use super::feld::condition_pairs;
use super::{Msg, RulesForm, euro, expr_text, msg};
use amtsweg_forms::check::Finding;
use amtsweg_forms::check::id_from_label;
use amtsweg_forms::{Computed, Cond, Expr, Form, Item};
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
        if let Some((cond, then, otherwise)) = &self.choice {
            let (field, value) = cond.split_once('=').unwrap_or((cond, ""));
            parts.push(Expr::If {
                when: Cond::Equals { field: field.to_owned(), value: value.to_owned() },
                then: Box::new(Expr::Cents(*then)),
                otherwise: Box::new(Expr::Cents(*otherwise)),
            });
        }
        Expr::Sum(parts)
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
    let nothing = f.grundbetrag.trim().is_empty() && f.je_gruppe.is_empty() && f.wenn.is_empty() && !typed_amounts;
    if nothing && f.je_betrag.trim().is_empty() {
        errors.push(msg(
            "feld-grundbetrag",
            "Bitte geben Sie mindestens einen Betrag an: einen festen Betrag, einen Betrag je Eintrag oder einen Betrag nach einer Antwort.",
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
        _ => return Err(vec![msg("berechnet", "Diese Aktion gibt es nicht.")]),
    }
    Ok(())
}

/// The input of the builder a finding of the check is most likely about.
pub(super) fn finding_anchor(aktion: &str, f: &Finding) -> &'static str {
    let m = &f.message;
    if aktion == "berechnet_loeschen" {
        "berechnet"
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
    let editing = (typed.aktion == "berechnet_aendern")
        .then(|| form.computed.get(typed.nr))
        .flatten()
        .map(|c| context! { nr => typed.nr, label => &c.label });
    context! { list, groups, conditions, editing }
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
    }
}
