//! The demo keeps its promises: every service and form of the demo Verbund is walked
//! as a citizen sees it, and every contradiction a citizen would notice fails the
//! test — an "online" promise without a form behind it, a trust-level box without a
//! form, a page whose trust level differs from its form's, a fee in the service text
//! that the form computes differently, a form named unlike its service, placeholder
//! text on published pages, promises of what is not there yet ("sobald es
//! bereitsteht"), and demo LeiKa keys or checksums shown to citizens.

use crate::on_each_backend;
use crate::support::TestApp;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::pages::PageKind;
use amtsweg_forms::{Answer, Answers, Cond, Expr, Form, Item, Kind, compute};
use std::collections::BTreeMap;

/// Sentences naming an outside service: their "online" is not a promise of ours.
const OUTSIDE: [&str; 3] = ["i-Kfz", "Bundesamt für Justiz", "Online-Portal der Meldebehörden"];

/// Text that must never reach a citizen.
const PLACEHOLDERS: [&str; 8] =
    ["bitte ergänzen", "Bitte ergänzen", "TODO", "Platzhalter", "XXX", "Lorem ipsum", "{name}", "Demo-Schlüssel"];

/// Whether a sentence promises to apply online here ("… oder online anmelden",
/// "nutzen Sie das Online-Formular").
fn promises_online(sentence: &str) -> bool {
    if OUTSIDE.iter().any(|m| sentence.contains(m)) {
        return false;
    }
    let lower = sentence.to_lowercase();
    if ["online-formular", "online-antrag", "online-dienst", "online-anmeldung"].iter().any(|w| lower.contains(w)) {
        return true;
    }
    lower.match_indices("online").any(|(i, w)| {
        let before = lower[..i].chars().next_back();
        let mut after = lower[i + w.len()..].chars();
        let standalone_start = before.is_none_or(|c| !c.is_alphanumeric() && c != '-');
        let end = match after.next() {
            None => true,
            Some('-') => after.next().is_none_or(char::is_whitespace), // "Online- oder Postanträge"
            Some(c) => !c.is_alphanumeric(),
        };
        standalone_start && end
    })
}

/// Whether a sentence promises something the portal does not have yet ("das Video
/// finden Sie hier, sobald es bereitsteht", "wird noch erstellt", "demnächst").
/// A process step ("wir benachrichtigen Sie, sobald die Bescheinigung bereitliegt",
/// "sobald der Ausweis fertig ist") is no such promise: only "sobald" with content
/// being available or switched on is.
fn promises_later(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    if [
        "wird noch erstellt",
        "werden noch erstellt",
        "in vorbereitung",
        "in kürze",
        "demnächst",
        "bald verfügbar",
        "noch in arbeit",
        "folgt später",
        "folgen später",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return true;
    }
    lower.split("sobald").skip(1).any(|rest| {
        ["bereitsteht", "bereitstehen", "verfügbar", "freigeschaltet", "online ist"].iter().any(|w| rest.contains(w))
    })
}

/// The visible text of an HTML page, roughly: tags become spaces (so a sentence with
/// emphasis inside stays one sentence), entities stay as they are.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '\n']).map(str::trim).filter(|s| !s.is_empty())
}

/// The euro amounts (cents) a text states: "90,00 Euro", "15 €", "2,60 Euro".
fn euro_amounts(text: &str) -> Vec<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let number = w.trim_end_matches('€').trim_start_matches(['(', '-']);
        let euro_follows = w.ends_with('€') && number.len() < w.len()
            || words.get(i + 1).is_some_and(|n| n.starts_with("Euro") || n.starts_with('€'));
        if !euro_follows || number.is_empty() {
            continue;
        }
        let (int, frac) = number.split_once(',').unwrap_or((number, "00"));
        let int = int.replace('.', "");
        if int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()) {
            out.push(int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap());
        }
    }
    out
}

/// Whether the text explains `cents`: stated as such, as the sum of up to three
/// stated amounts (90 € + 135 € for two dogs), or 0 when the text says so.
fn explained(cents: i64, stated: &[i64], text: &str) -> bool {
    if cents == 0 {
        let lower = text.to_lowercase();
        return ["gebührenfrei", "kostenlos", "beitragsfrei", "keine gebühr"].iter().any(|w| lower.contains(w));
    }
    stated.contains(&cents)
        || stated.iter().any(|a| stated.iter().any(|b| a + b == cents))
        || stated.iter().any(|a| stated.iter().any(|b| stated.iter().any(|c| a + b + c == cents)))
}

fn cond_ids(c: &Cond, out: &mut Vec<String>) {
    match c {
        Cond::Equals { field, .. }
        | Cond::NotEquals { field, .. }
        | Cond::AnyOf { field, .. }
        | Cond::Filled { field }
        | Cond::Yes { field } => out.push(field.clone()),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| cond_ids(c, out)),
        Cond::Not(c) => cond_ids(c, out),
    }
}

fn expr_ids(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Cents(_) => {}
        Expr::Field(id) | Expr::Count(id) | Expr::Tiered { units: id, .. } => out.push(id.clone()),
        Expr::Sum(es) | Expr::Product(es) => es.iter().for_each(|e| expr_ids(e, out)),
        Expr::If { when, then, otherwise } => {
            cond_ids(when, out);
            expr_ids(then, out);
            expr_ids(otherwise, out);
        }
    }
}

/// The answers an amount may depend on, each with every value worth trying: each
/// option of a choice, one to three entries of a repeating group, 1–3 as a number.
fn tariff_cases(form: &Form) -> Vec<Answers> {
    let mut ids = Vec::new();
    form.computed.iter().for_each(|c| expr_ids(&c.expr, &mut ids));
    ids.sort();
    ids.dedup();
    let mut cases = vec![Answers::new()];
    for id in ids {
        let mut values: Vec<Answer> = Vec::new();
        for item in form.steps.iter().flat_map(|s| &s.items) {
            let fields = match item {
                Item::Group(g) if g.id == id && g.repeat.is_some() => {
                    values = (1..=3).map(|n| Answer::Rows(vec![BTreeMap::new(); n])).collect();
                    continue;
                }
                Item::Group(g) => g.fields.iter().collect::<Vec<_>>(),
                Item::Field(f) => vec![f],
            };
            for f in fields.into_iter().filter(|f| f.id == id) {
                values = match &f.kind {
                    Kind::Select { options } | Kind::Radio { options } => {
                        options.iter().map(|o| Answer::One(o.value.clone())).collect()
                    }
                    Kind::YesNo => vec![Answer::One("ja".into()), Answer::One("nein".into())],
                    Kind::Number { .. } => (1..=3).map(|n| Answer::One(n.to_string())).collect(),
                    _ => vec![Answer::One("1".into())],
                };
            }
        }
        let mut next = Vec::new();
        for a in &cases {
            for v in &values {
                let mut a = a.clone();
                a.insert(id.clone(), v.clone());
                next.push(a);
            }
        }
        cases = next;
    }
    cases
}

/// The words of a name outside parentheses, lower case.
fn name_words(s: &str) -> Vec<String> {
    let mut depth = 0;
    let plain: String = s
        .chars()
        .filter(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth == 0 && *c != ')'
        })
        .collect();
    plain.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Everything the walk finds wrong, one line each.
async fn contradictions(app: &TestApp) -> Vec<String> {
    let mut wrong = Vec::new();
    let c = app.state.catalogue();
    for a in app.store.store.authorities().await.unwrap() {
        let slug = a.slug.as_str();
        let Some(a) = c.authority_by_slug(slug) else { continue };
        for l in c.leistungen_of(a.id) {
            let who = format!("{slug}/{}", l.slug.as_str());
            let page = app.get(&format!("/o/{slug}/leistungen/{}", l.slug.as_str())).await;
            assert_eq!(page.status, 200, "{who}");
            let forms: Vec<_> = c.forms_of_leistung(l.id).collect();
            let text: Vec<&str> = [
                &l.summary,
                &l.description,
                &l.requirements,
                &l.documents,
                &l.fees,
                &l.deadlines,
                &l.procedure,
                &l.processing_time,
            ]
            .into_iter()
            .map(String::as_str)
            .collect();
            if forms.is_empty() && l.online_url.is_empty() {
                for s in text.iter().flat_map(|t| sentences(t)) {
                    if promises_online(s) {
                        wrong.push(format!("{who}: promises to apply online but has no form: „{s}“"));
                    }
                }
                if page.body.contains("Vertrauensniveau") {
                    wrong.push(format!("{who}: shows a trust level box but has no online form"));
                }
                if page.body.contains("jetzt online beantragen") {
                    wrong.push(format!("{who}: links an online form it does not have"));
                }
            }
            for s in sentences(&visible_text(&page.body)) {
                if promises_later(s) {
                    wrong.push(format!("{who}: promises something it does not have yet: „{s}“"));
                }
            }
            if !l.leika_verified && page.body.contains(l.leika.as_str()) {
                wrong.push(format!("{who}: shows the unchecked demo LeiKa key {}", l.leika.as_str()));
            }
            for p in PLACEHOLDERS.iter().chain(&["SHA-256", "Prüfsumme"]) {
                if page.body.contains(p) {
                    wrong.push(format!("{who}: the service page shows „{p}“"));
                }
            }
            for f in &forms {
                let form = &f.form;
                let level = TrustLevel::parse(&form.trust_level).unwrap();
                if level != l.trust_level {
                    wrong.push(format!(
                        "{who}: the service says trust level „{}“, its form „{}“ asks for „{}“",
                        l.trust_level.as_str(),
                        form.title,
                        level.as_str()
                    ));
                }
                if !page.body.contains(&format!("<dd>{}<br>", level.label())) {
                    wrong.push(format!("{who}: the page does not show the form's trust level „{}“", level.label()));
                }
                let title = name_words(&form.title);
                let missing: Vec<String> = name_words(&l.name).into_iter().filter(|w| !title.contains(w)).collect();
                if !missing.is_empty() {
                    wrong.push(format!("{who}: the form „{}“ is not named like its service „{}“", form.title, l.name));
                }
                let stated = euro_amounts(&l.fees);
                if !form.computed.is_empty() && !stated.is_empty() {
                    for case in tariff_cases(form) {
                        for (id, cents) in compute(form, &case) {
                            if !explained(cents, &stated, &l.fees) {
                                wrong.push(format!(
                                    "{who}: „{}“ computes {id} = {},{:02} € for {case:?}, the service text says {stated:?} (cents)",
                                    form.title,
                                    cents / 100,
                                    cents % 100
                                ));
                            }
                        }
                    }
                }
                // The form's own first page says nothing it must not either.
                let start = app.get(&format!("/o/{slug}/antrag/{}/", f.slug)).await;
                for p in PLACEHOLDERS.iter().chain(&["SHA-256", "Prüfsumme"]) {
                    if start.status == 200 && start.body.contains(p) {
                        wrong.push(format!("{who}: the form's first page shows „{p}“"));
                    }
                }
            }
        }
        for kind in PageKind::ALL {
            let page = app.get(&format!("/o/{slug}/seiten/{}", kind.slug())).await;
            assert_eq!(page.status, 200, "{slug}/{}", kind.slug());
            for p in PLACEHOLDERS {
                if page.body.contains(p) {
                    wrong.push(format!("{slug}: the page „{}“ shows the placeholder „{p}“", kind.label()));
                }
            }
            for s in sentences(&visible_text(&page.body)) {
                if promises_later(s) {
                    wrong.push(format!("{slug}: the page „{}“ promises what it does not have: „{s}“", kind.label()));
                }
            }
        }
        let start = app.get(&format!("/o/{slug}/")).await;
        for p in PLACEHOLDERS {
            if start.body.contains(p) {
                wrong.push(format!("{slug}: the start page shows „{p}“"));
            }
        }
        for s in sentences(&visible_text(&start.body)) {
            if promises_later(s) {
                wrong.push(format!("{slug}: the start page promises what it does not have: „{s}“"));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn the_demo_keeps_its_promises() {
    on_each_backend!(|app| {
        let wrong = contradictions(app).await;
        assert!(wrong.is_empty(), "{} contradictions in the demo:\n{}", wrong.len(), wrong.join("\n"));
    });
}

/// The walk's detectors themselves: each finds what it is meant to find.
#[test]
fn the_detectors_find_what_they_look_for() {
    assert!(promises_online("Füllen Sie den Antrag aus oder nutzen Sie das Online-Formular der Samtgemeinde"));
    assert!(promises_online("Sie können das Gewerbe persönlich, schriftlich oder online anmelden"));
    assert!(promises_online("bei Online- oder Postanträgen in der Regel innerhalb einer Woche"));
    assert!(!promises_online("Mit der Online-Ausweisfunktion können Sie sich ausweisen"));
    assert!(!promises_online("Viele Zulassungen können Sie auch online erledigen (i-Kfz)"));
    assert_eq!(euro_amounts("für den ersten Hund: 90,00 Euro; weitere 135 Euro, Marke 2,60 €"), [9000, 13_500, 260]);
    let text = "- für den ersten Hund: 90,00 Euro\n- für jeden weiteren Hund: 135,00 Euro";
    let stated = euro_amounts(text);
    assert!(explained(22_500, &stated, text) && explained(36_000, &stated, text));
    assert!(!explained(15_000, &stated, text) && !explained(0, &stated, text) && !explained(-3_000, &stated, text));
    assert!(explained(0, &[1500], "Vereine sind gebührenfrei."));
    assert_eq!(name_words("Hund anmelden (Hundesteuer)"), ["hund", "anmelden"]);
    assert!(promises_later(
        "Das Video mit Gebärdensprache finden Sie über den Link oben auf dieser Seite, sobald es bereitsteht"
    ));
    assert!(promises_later("Das Video in Deutscher Gebärdensprache wird noch erstellt"));
    assert!(promises_later("Die Online-Terminbuchung ist demnächst möglich"));
    assert!(!promises_later("Wir benachrichtigen Sie, sobald die Bescheinigung bereitliegt"));
    assert!(!promises_later("Die Unterlagen werden versandt, sobald die Stimmzettel gedruckt sind"));
    assert!(!promises_later("Sobald der Ausweis fertig ist, erhalten Sie eine Nachricht"));
    assert_eq!(
        sentences(&visible_text("<p>Erster Satz. <b>Zweiter</b> Satz</p>")).collect::<Vec<_>>(),
        ["Erster Satz", "Zweiter  Satz"]
    );
}
