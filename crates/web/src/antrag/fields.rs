//! Between the form model and HTML: the view of one step (every field with its
//! value, error, hint and condition) and reading a posted step back into answers.
//! Answers in words (check page, receipt, PDF, e-mail) are `amtsweg_forms::display`.
//!
//! Input names: `f.<field>` (address: `f.<field>.strasse|plz|ort`), rows of a
//! repeating group `g.<group>.<row>.<field>` with the row count in `g.<group>.anzahl`.
//! HTML ids replace the dots with dashes, so the error summary links to `#f-<field>`.

use amtsweg_forms::{Answer, Answers, Cond, Field, Form, Item, Kind, Step, holds, split_address};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub use amtsweg_forms::display::{FileInfo, anchor, euro_text};

#[derive(Debug, Serialize)]
pub struct ChoiceView {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Debug, Serialize)]
pub struct FieldView {
    id: String,
    name: String,
    kind: &'static str,
    label: String,
    hint: String,
    required: bool,
    /// Marked "(freiwillig)": never needed with the answers so far nor with any
    /// answer still possible on this page.
    optional: bool,
    value: String,
    error: Option<String>,
    options: Vec<ChoiceView>,
    text: String,
    locked: bool,
    condition: Option<String>,
    street: String,
    plz: String,
    city: String,
    file: Option<FileInfo>,
    accept: String,
    max_mb: String,
    input_type: &'static str,
    autocomplete: &'static str,
    inputmode: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RowView {
    index: usize,
    number: usize,
    fields: Vec<FieldView>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum ItemView {
    Field(Box<FieldView>),
    Group {
        id: String,
        label: String,
        repeat: bool,
        min: u32,
        max: u32,
        rows: Vec<RowView>,
        fields: Vec<FieldView>,
        can_add: bool,
        can_remove: bool,
        error: Option<String>,
        condition: Option<String>,
    },
}

fn field_by_id<'f>(form: &'f Form, id: &str) -> Option<&'f Field> {
    form.steps.iter().flat_map(|s| &s.items).find_map(|i| match i {
        Item::Field(f) if f.id == id => Some(f),
        Item::Group(g) => g.fields.iter().find(|f| f.id == id),
        Item::Field(_) => None,
    })
}

fn label_of(form: &Form, id: &str) -> String {
    field_by_id(form, id).map_or_else(|| id.to_owned(), |f| f.label.clone())
}

fn choice_label(form: &Form, id: &str, value: &str) -> String {
    match field_by_id(form, id).map(|f| &f.kind) {
        Some(Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. }) => {
            options.iter().find(|o| o.value == value).map_or_else(|| value.to_owned(), |o| o.label.clone())
        }
        Some(Kind::YesNo) => if value == "ja" { "Ja" } else { "Nein" }.to_owned(),
        _ => value.to_owned(),
    }
}

/// A condition in words, for fields that depend on another answer on the same page
/// (without JavaScript they are always shown, with this note).
#[must_use]
pub fn describe(form: &Form, c: &Cond) -> String {
    match c {
        Cond::Equals { field, value } => {
            format!("„{}“ ist „{}“", label_of(form, field), choice_label(form, field, value))
        }
        Cond::NotEquals { field, value } => {
            format!("„{}“ ist nicht „{}“", label_of(form, field), choice_label(form, field, value))
        }
        Cond::AnyOf { field, values } => format!(
            "„{}“ ist {}",
            label_of(form, field),
            values.iter().map(|v| format!("„{}“", choice_label(form, field, v))).collect::<Vec<_>>().join(" oder ")
        ),
        Cond::Filled { field } => format!("„{}“ ausgefüllt ist", label_of(form, field)),
        Cond::Yes { field } => format!("„{}“ mit Ja beantwortet ist", label_of(form, field)),
        Cond::All(cs) => cs.iter().map(|c| describe(form, c)).collect::<Vec<_>>().join(" und "),
        Cond::Any(cs) => cs.iter().map(|c| describe(form, c)).collect::<Vec<_>>().join(" oder "),
        Cond::Not(c) => format!("nicht: {}", describe(form, c)),
    }
}

fn cond_fields(c: &Cond, out: &mut Vec<String>) {
    match c {
        Cond::Equals { field, .. }
        | Cond::NotEquals { field, .. }
        | Cond::AnyOf { field, .. }
        | Cond::Filled { field }
        | Cond::Yes { field } => out.push(field.clone()),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| cond_fields(c, out)),
        Cond::Not(c) => cond_fields(c, out),
    }
}

/// The ids answered at the top level on a step (fields, groups, plain groups' fields).
#[must_use]
pub fn ids_of(step: &Step) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for item in &step.items {
        match item {
            Item::Field(f) => {
                ids.insert(f.id.clone());
            }
            Item::Group(g) => {
                ids.insert(g.id.clone());
                // Fields of a repeating group are answered inside its rows; only a
                // plain group's fields are answers of their own (and may share ids
                // with fields of other steps).
                if g.repeat.is_none() {
                    ids.extend(g.fields.iter().map(|f| f.id.clone()));
                }
            }
        }
    }
    ids
}

/// How a conditional part of a step is shown: hidden (depends on earlier answers
/// that rule it out), shown plainly, or shown with a note because it depends on an
/// answer on this same page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    No,
    Yes,
    WithNote(String),
}

/// Whether condition `c` depends on an answer given on `step` itself.
fn on_this_page(step: &Step, c: &Cond) -> bool {
    let mut deps = Vec::new();
    cond_fields(c, &mut deps);
    let here = ids_of(step);
    deps.iter().any(|d| here.contains(d))
}

/// Whether `f` must be answered, whether it is truly optional, and the note that
/// says when it is needed. A field needed only after an answer on this same page
/// is not "(freiwillig)": its note says when it is required, so it does not turn
/// from optional into required when the citizen sends the page.
fn requirement(
    form: &Form,
    step: &Step,
    f: &Field,
    answers: &Answers,
    shown: Option<String>,
) -> (bool, bool, Option<String>) {
    let may_be_needed = f.required || f.required_if.is_some();
    match (shown, &f.required_if) {
        // Shown only after an answer on this page.
        (Some(note), _) if may_be_needed => match (&f.required_if, f.required) {
            (_, true) => (false, false, Some(format!("{note} Dann ist diese Angabe Pflicht."))),
            (Some(c), false) => (false, false, Some(format!("{note} Pflichtangabe, wenn {}.", describe(form, c)))),
            (None, false) => (false, true, Some(note)),
        },
        (Some(note), _) => (false, true, Some(note)),
        (None, _) if is_required(f, answers) => (true, false, None),
        (None, Some(c)) if on_this_page(step, c) => {
            (false, false, Some(format!("Pflichtangabe, wenn {}.", describe(form, c))))
        }
        (None, _) => (false, true, None),
    }
}

fn shown(form: &Form, step: &Step, c: Option<&Cond>, answers: &Answers) -> Shown {
    let Some(c) = c else { return Shown::Yes };
    if on_this_page(step, c) {
        Shown::WithNote(format!("Nur auszufüllen, wenn {}.", describe(form, c)))
    } else if holds(c, answers) {
        Shown::Yes
    } else {
        Shown::No
    }
}

fn one(a: Option<&Answer>) -> String {
    match a {
        Some(Answer::One(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Values of a field as the citizen typed them or as stored, for an input.
fn input_value(f: &Field, v: &str) -> String {
    match &f.kind {
        Kind::Date { .. } | Kind::BirthDate { .. } => {
            amtsweg_forms::Date::parse(v).map_or_else(|| v.to_owned(), amtsweg_forms::Date::german)
        }
        _ => v.to_owned(),
    }
}

/// The view of one field.
#[allow(clippy::too_many_arguments)]
fn field_view(
    f: &Field,
    html_id: String,
    name: String,
    answer: Option<&Answer>,
    errors: &BTreeMap<String, String>,
    path: &str,
    files: &[FileInfo],
    locked: bool,
    condition: Option<String>,
    (required, optional): (bool, bool),
) -> FieldView {
    let value = one(answer);
    let chosen: Vec<String> = match answer {
        Some(Answer::Many(v)) => v.clone(),
        Some(Answer::One(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let choices = |options: &[amtsweg_forms::Choice]| {
        options
            .iter()
            .map(|o| ChoiceView { value: o.value.clone(), label: o.label.clone(), checked: chosen.contains(&o.value) })
            .collect()
    };
    let (kind, options, text): (&'static str, Vec<ChoiceView>, String) = match &f.kind {
        Kind::LongText { .. } => ("long_text", Vec::new(), String::new()),
        Kind::Select { options } => ("select", choices(options), String::new()),
        Kind::Radio { options } => ("radio", choices(options), String::new()),
        Kind::Checkboxes { options, .. } => ("checkboxes", choices(options), String::new()),
        Kind::YesNo => (
            "radio",
            vec![
                ChoiceView { value: "ja".into(), label: "Ja".into(), checked: value == "ja" },
                ChoiceView { value: "nein".into(), label: "Nein".into(), checked: value == "nein" },
            ],
            String::new(),
        ),
        Kind::Address { .. } => ("address", Vec::new(), String::new()),
        Kind::File { .. } => ("file", Vec::new(), String::new()),
        Kind::Info { text } => ("info", Vec::new(), text.clone()),
        Kind::Declaration { text } => ("declaration", Vec::new(), text.clone()),
        _ => ("input", Vec::new(), String::new()),
    };
    let (input_type, autocomplete, inputmode) = match &f.kind {
        Kind::Email => ("email", "email", ""),
        Kind::Phone => ("tel", "tel", "tel"),
        Kind::Number { .. } => ("text", "", "numeric"),
        Kind::Euro { .. } => ("text", "", "decimal"),
        Kind::Plz => ("text", "postal-code", "numeric"),
        Kind::Iban => ("text", "", ""),
        Kind::SteuerId => ("text", "", "numeric"),
        Kind::Name => ("text", "name", ""),
        Kind::BirthDate { .. } => ("text", "bday", ""),
        _ => ("text", "", ""),
    };
    let (street, place) = split_address(&value);
    let (plz, city) = place.split_once(' ').unwrap_or((place, ""));
    let (accept, max_mb) = match &f.kind {
        Kind::File { accept, max_bytes } => (
            accept.iter().map(|a| format!(".{a}")).collect::<Vec<_>>().join(","),
            format!("{:.0}", (*max_bytes as f64 / 1_048_576.0).max(1.0)),
        ),
        _ => (String::new(), String::new()),
    };
    let mut hint = f.hint.clone();
    if hint.is_empty()
        && let Some(example) = amtsweg_forms::engine::date_example(&f.kind, amtsweg_portal::time::today())
    {
        // An example the field accepts: a birth date in the past, a date within its bounds.
        hint = format!("Zum Beispiel {example}");
    }
    if let Kind::File { accept, .. } = &f.kind {
        let formats = accept.iter().map(|a| a.to_uppercase()).collect::<Vec<_>>().join(", ");
        hint = format!("{hint} Erlaubt: {formats}, höchstens {max_mb} MB.").trim().to_owned();
    }
    FieldView {
        id: html_id,
        name,
        kind,
        label: f.label.clone(),
        hint,
        required,
        optional,
        value: input_value(f, &value),
        error: errors.get(path).cloned(),
        options,
        text,
        locked,
        condition,
        street: street.to_owned(),
        plz: plz.to_owned(),
        city: city.trim().to_owned(),
        file: files.iter().find(|x| x.field == path).cloned(),
        accept,
        max_mb,
        input_type,
        autocomplete,
        inputmode,
    }
}

fn is_required(f: &Field, answers: &Answers) -> bool {
    f.required || f.required_if.as_ref().is_some_and(|c| holds(c, answers))
}

/// Everything a step page shows.
#[must_use]
pub fn step_view(
    form: &Form,
    step: &Step,
    answers: &Answers,
    errors: &BTreeMap<String, String>,
    files: &[FileInfo],
    locked: &BTreeSet<String>,
) -> Vec<ItemView> {
    let mut out = Vec::new();
    for item in &step.items {
        match item {
            Item::Field(f) => {
                let note = match shown(form, step, f.visible_if.as_ref(), answers) {
                    Shown::No => continue,
                    Shown::Yes => None,
                    Shown::WithNote(n) => Some(n),
                };
                let (required, optional, note) = requirement(form, step, f, answers, note);
                out.push(ItemView::Field(Box::new(field_view(
                    f,
                    format!("f-{}", f.id),
                    format!("f.{}", f.id),
                    answers.get(&f.id),
                    errors,
                    &f.id,
                    files,
                    locked.contains(&f.id),
                    note,
                    (required, optional),
                ))));
            }
            Item::Group(g) => {
                let note = match shown(form, step, g.visible_if.as_ref(), answers) {
                    Shown::No => continue,
                    Shown::Yes => None,
                    Shown::WithNote(n) => Some(n),
                };
                let fields_of = |scope: &Answers, prefix: Option<usize>| -> Vec<FieldView> {
                    g.fields
                        .iter()
                        .map(|f| {
                            let (id, name, path) = match prefix {
                                Some(i) => (
                                    format!("g-{}-{i}-{}", g.id, f.id),
                                    format!("g.{}.{i}.{}", g.id, f.id),
                                    format!("{}[{i}].{}", g.id, f.id),
                                ),
                                None => (format!("f-{}", f.id), format!("f.{}", f.id), f.id.clone()),
                            };
                            let required = is_required(f, answers);
                            let optional = !required && !f.required_if.as_ref().is_some_and(|c| on_this_page(step, c));
                            field_view(
                                f,
                                id,
                                name,
                                scope.get(&f.id),
                                errors,
                                &path,
                                files,
                                locked.contains(&f.id),
                                None,
                                (required, optional),
                            )
                        })
                        .collect()
                };
                match g.repeat {
                    Some(rep) => {
                        let rows: Vec<BTreeMap<String, Answer>> = match answers.get(&g.id) {
                            Some(Answer::Rows(r)) => r.clone(),
                            _ => Vec::new(),
                        };
                        // Always show at least the minimum (and one) empty row to fill in.
                        let shown_rows = rows.len().max(rep.min.max(1) as usize).min(rep.max as usize);
                        let empty = BTreeMap::new();
                        let rows_view = (0..shown_rows)
                            .map(|i| RowView {
                                index: i,
                                number: i + 1,
                                fields: fields_of(rows.get(i).unwrap_or(&empty), Some(i)),
                            })
                            .collect();
                        out.push(ItemView::Group {
                            id: format!("g-{}", g.id),
                            label: g.label.clone(),
                            repeat: true,
                            min: rep.min,
                            max: rep.max,
                            rows: rows_view,
                            fields: Vec::new(),
                            can_add: (shown_rows as u32) < rep.max,
                            can_remove: (shown_rows as u32) > rep.min.max(1),
                            error: errors.get(&g.id).cloned(),
                            condition: note,
                        });
                    }
                    None => out.push(ItemView::Group {
                        id: format!("g-{}", g.id),
                        label: g.label.clone(),
                        repeat: false,
                        min: 0,
                        max: 0,
                        rows: Vec::new(),
                        fields: fields_of(answers, None),
                        can_add: false,
                        can_remove: false,
                        error: errors.get(&g.id).cloned(),
                        condition: note,
                    }),
                }
            }
        }
    }
    out
}

/// Notes on the fields that still show the value taken from the citizen's account
/// (`account`, see `journey::prefill`): where it came from, and that it may be changed.
/// Fields an ID provider locked have their own note.
pub fn mark_from_account(items: &mut [ItemView], answers: &Answers, account: &Answers, locked: &BTreeSet<String>) {
    const NOTE: &str = "Aus Ihrem Bürgerkonto übernommen. Bitte prüfen Sie die Angabe; Sie können sie hier ändern.";
    let mark = |f: &mut FieldView| {
        let Some(id) = f.name.strip_prefix("f.") else { return };
        if f.locked || locked.contains(id) || account.get(id).is_none() || account.get(id) != answers.get(id) {
            return;
        }
        f.hint = if f.hint.is_empty() { NOTE.to_owned() } else { format!("{NOTE} {}", f.hint) };
    };
    for item in items {
        match item {
            ItemView::Field(f) => mark(f),
            ItemView::Group { fields, .. } => fields.iter_mut().for_each(mark),
        }
    }
}

/// What a posted step says.
#[derive(Debug, Default)]
pub struct PostedStep {
    /// Answers to the fields of this step (files are added by the caller).
    pub answers: Answers,
    /// The first name that is no input of this step as shown (forged or stale);
    /// empty when every name belongs to the step.
    pub foreign: Vec<String>,
}

/// The posted pairs by name, in the order they came (checkboxes send one name
/// several times); a lookup is one hash instead of a scan of every pair.
type ByName<'p> = HashMap<&'p str, Vec<&'p str>>;

fn read_value(f: &Field, name: &str, posted: &ByName<'_>, used: &mut HashSet<String>) -> Option<Answer> {
    let get = |n: &str| posted.get(n).and_then(|v| v.first()).map(|v| (*v).to_owned());
    match &f.kind {
        Kind::Info { .. } | Kind::File { .. } => None,
        Kind::Checkboxes { .. } => {
            used.insert(name.to_owned());
            let v: Vec<String> =
                posted.get(name).map(|v| v.iter().map(|s| (*s).to_owned()).collect()).unwrap_or_default();
            Some(Answer::Many(v))
        }
        Kind::Address { .. } => {
            let parts = ["strasse", "plz", "ort"].map(|p| {
                let n = format!("{name}.{p}");
                let v = get(&n).unwrap_or_default().replace(['\r', '\n'], " ").trim().to_owned();
                used.insert(n);
                v
            });
            if parts.iter().all(String::is_empty) {
                Some(Answer::One(String::new()))
            } else {
                Some(Answer::One(format!("{}\n{} {}", parts[0], parts[1], parts[2])))
            }
        }
        _ => {
            used.insert(name.to_owned());
            Some(Answer::One(get(name).unwrap_or_default().trim().to_owned()))
        }
    }
}

/// Reads the posted inputs of `step` into answers. The first input the step does not
/// show is named in `foreign` (and reading stops there: nothing of such a post is
/// kept); `reserved` names (token, CSRF, buttons) are ignored. The number and size of
/// `posted` are capped before (`input_limits`); this is linear in them.
#[must_use]
pub fn read_step(
    form: &Form,
    step: &Step,
    before: &Answers,
    posted: &[(String, String)],
    reserved: &[&str],
) -> PostedStep {
    let mut out = PostedStep::default();
    let mut by_name: ByName<'_> = HashMap::with_capacity(posted.len());
    for (k, v) in posted {
        by_name.entry(k.as_str()).or_default().push(v.as_str());
    }
    let mut used: HashSet<String> = HashSet::new();
    for item in &step.items {
        match item {
            Item::Field(f) => {
                if shown(form, step, f.visible_if.as_ref(), before) == Shown::No {
                    continue;
                }
                if let Some(a) = read_value(f, &format!("f.{}", f.id), &by_name, &mut used) {
                    out.answers.insert(f.id.clone(), a);
                }
            }
            Item::Group(g) => {
                if shown(form, step, g.visible_if.as_ref(), before) == Shown::No {
                    continue;
                }
                match g.repeat {
                    Some(rep) => {
                        let count_name = format!("g.{}.anzahl", g.id);
                        let count = by_name
                            .get(count_name.as_str())
                            .and_then(|v| v.first())
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0)
                            .min(rep.max as usize);
                        used.insert(count_name);
                        let mut rows = Vec::new();
                        for i in 0..count {
                            let mut row = BTreeMap::new();
                            for f in &g.fields {
                                if let Some(a) = read_value(f, &format!("g.{}.{i}.{}", g.id, f.id), &by_name, &mut used)
                                    && a != Answer::One(String::new())
                                    && a != Answer::Many(Vec::new())
                                {
                                    row.insert(f.id.clone(), a);
                                }
                            }
                            rows.push(row);
                        }
                        out.answers.insert(g.id.clone(), Answer::Rows(rows));
                    }
                    None => {
                        for f in &g.fields {
                            if let Some(a) = read_value(f, &format!("f.{}", f.id), &by_name, &mut used) {
                                out.answers.insert(f.id.clone(), a);
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some((k, _)) = posted.iter().find(|(k, _)| !used.contains(k) && !reserved.contains(&k.as_str())) {
        out.foreign.push(k.clone());
    }
    out
}

/// Drops empty answers (an empty input is "not answered").
#[must_use]
pub fn without_empty(answers: Answers) -> Answers {
    answers
        .into_iter()
        .filter(|(_, a)| match a {
            Answer::One(s) => !s.is_empty(),
            Answer::Many(v) => !v.is_empty(),
            Answer::Rows(_) => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T",
            "steps": [{"id": "a", "title": "A", "items": [
                {"item": "field", "id": "art", "label": "Art", "type": "radio", "options": [
                    {"value": "privat", "label": "Privat"}, {"value": "verein", "label": "Verein"}]},
                {"item": "field", "id": "verein", "label": "Vereinsname", "type": "text",
                    "visible_if": {"equals": {"field": "art", "value": "verein"}}},
                {"item": "field", "id": "wo", "label": "Anschrift", "type": "address"},
                {"item": "group", "id": "kinder", "label": "Kind", "repeat": {"min": 0, "max": 3}, "fields": [
                    {"item": "field", "id": "name", "label": "Name", "type": "name"}]}
            ]}]
        }))
        .unwrap()
    }

    #[test]
    fn reads_a_posted_step_and_names_foreign_inputs() {
        let f = form();
        let posted: Vec<(String, String)> = [
            ("f.art", "verein"),
            ("f.verein", " Schützen "),
            ("f.wo.strasse", "Am Markt 1"),
            ("f.wo.plz", "29393"),
            ("f.wo.ort", "Moorbrück"),
            ("g.kinder.anzahl", "2"),
            ("g.kinder.0.name", "Ida"),
            ("g.kinder.1.name", ""),
            ("f.preis", "0"),
            ("csrf", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let p = read_step(&f, &f.steps[0], &Answers::new(), &posted, &["csrf"]);
        assert_eq!(p.answers["verein"], Answer::One("Schützen".into()));
        assert_eq!(p.answers["wo"], Answer::One("Am Markt 1\n29393 Moorbrück".into()));
        let Answer::Rows(rows) = &p.answers["kinder"] else { panic!() };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], Answer::One("Ida".into()));
        assert!(rows[1].is_empty());
        assert_eq!(p.foreign, ["f.preis"]);
    }

    #[test]
    fn reading_is_linear_and_stops_at_the_first_foreign_input() {
        // Issue 18: 100,000 unknown names took seconds (a list searched per name).
        // The caps of `input_limits` keep real posts far smaller; this proves the
        // reading itself no longer grows quadratically.
        let f = form();
        let mut posted: Vec<(String, String)> = vec![("f.art".into(), "privat".into())];
        posted.extend((0..100_000).map(|i| (format!("x{i}"), "1".to_owned())));
        let started = std::time::Instant::now();
        let p = read_step(&f, &f.steps[0], &Answers::new(), &posted, &["csrf"]);
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
        assert_eq!(p.foreign, ["x0"], "only the first foreign name");
        assert_eq!(p.answers["art"], Answer::One("privat".into()));
    }

    #[test]
    fn same_page_conditions_are_explained_not_hidden() {
        let f = form();
        let view = step_view(&f, &f.steps[0], &Answers::new(), &BTreeMap::new(), &[], &BTreeSet::new());
        let json = serde_json::to_string(&view).unwrap();
        assert!(json.contains("Nur auszufüllen, wenn „Art“ ist „Verein“."), "{json}");
    }

    #[test]
    fn anchors_and_amounts() {
        assert_eq!(anchor("name"), "f-name");
        assert_eq!(anchor("kinder[1].name"), "g-kinder-1-name");
        assert_eq!(euro_text(123_450), "1.234,50 €");
        assert_eq!(euro_text(500), "5,00 €");
    }
}
