//! Structural checks of a form definition, before it is stored by the editor: ids,
//! uniqueness, reserved step names, options, limits, and that every condition,
//! computed value and rule points at something that exists. The messages are German,
//! for the people who build forms (not for citizens).

use crate::date::Date;
use crate::model::{Cond, Expr, Field, Form, Item, Kind, Rule};
use std::collections::{BTreeMap, BTreeSet};

/// Step ids that are path words of the citizen journey (`/antrag/<form>/<token>/<step>`).
pub const RESERVED_STEP_IDS: [&str; 7] =
    ["pruefen", "absenden", "gespeichert", "verwerfen", "datei", "eingang", "fortsetzen"];

/// The trust levels a form may ask for.
pub const TRUST_LEVELS: [&str; 3] = ["normal", "substanziell", "hoch"];

/// What a finding is about, so an editor can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The form as a whole (id, title, trust level, no steps).
    Form,
    /// A step, by its id.
    Step(String),
    /// A field or group by its key: the id, or `group.field` for a field of a group.
    Item(String),
    /// A computed value, by its position.
    Computed(usize),
    /// A rule across fields, by its position.
    Rule(usize),
}

/// One problem of a form definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub target: Target,
    pub message: String,
}

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
        Expr::Field(f) | Expr::Count(f) => *f = tidy_id(f),
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

/// What conditions, computed values and rules may refer to: the answers at the top
/// level (fields, also those of plain groups) and the repeating groups.
struct Index<'f> {
    fields: BTreeMap<&'f str, &'f Field>,
    repeating: BTreeSet<&'f str>,
    groups: BTreeSet<&'f str>,
}

fn options(f: &Field) -> Option<&[crate::model::Choice]> {
    match &f.kind {
        Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. } => Some(options),
        _ => None,
    }
}

fn id_message(what: &str, id: &str) -> String {
    if id.is_empty() {
        format!("{what} hat keine Kennung.")
    } else {
        format!("Die Kennung „{id}“ ({what}) ist ungültig: erlaubt sind Kleinbuchstaben a–z, Ziffern, _ und -.")
    }
}

struct Checker<'f> {
    form: &'f Form,
    ix: Index<'f>,
    out: Vec<Finding>,
}

impl<'f> Checker<'f> {
    fn push(&mut self, target: Target, message: String) {
        self.out.push(Finding { target, message });
    }

    fn index(&mut self) {
        let mut step_ids = BTreeSet::new();
        let mut field_seen: BTreeSet<&str> = BTreeSet::new();
        let form = self.form;
        for s in &form.steps {
            let target = Target::Step(s.id.clone());
            if !valid_id(&s.id) {
                self.push(target.clone(), id_message(&format!("Schritt „{}“", s.title), &s.id));
            } else if RESERVED_STEP_IDS.contains(&s.id.as_str()) {
                self.push(
                    target.clone(),
                    format!(
                        "Der Schritt „{}“ darf nicht die Kennung „{}“ haben: sie ist für die Adressen des Antrags reserviert ({}).",
                        s.title,
                        s.id,
                        RESERVED_STEP_IDS.join(", ")
                    ),
                );
            }
            if !step_ids.insert(s.id.as_str()) {
                self.push(target.clone(), format!("Die Kennung „{}“ ist für mehrere Schritte vergeben.", s.id));
            }
            if s.title.trim().is_empty() {
                self.push(target, format!("Der Schritt „{}“ hat keine Überschrift.", s.id));
            }
            for item in &s.items {
                match item {
                    Item::Field(f) => {
                        if !field_seen.insert(f.id.as_str()) {
                            self.push(
                                Target::Item(f.id.clone()),
                                format!("Die Kennung „{}“ ist für mehrere Felder vergeben.", f.id),
                            );
                        }
                        self.ix.fields.insert(&f.id, f);
                    }
                    Item::Group(g) => {
                        if !self.ix.groups.insert(&g.id) {
                            self.push(
                                Target::Item(g.id.clone()),
                                format!("Die Kennung „{}“ ist für mehrere Gruppen vergeben.", g.id),
                            );
                        }
                        if g.repeat.is_some() {
                            self.ix.repeating.insert(&g.id);
                            let mut inner = BTreeSet::new();
                            for f in &g.fields {
                                if !inner.insert(f.id.as_str()) {
                                    self.push(
                                        Target::Item(format!("{}.{}", g.id, f.id)),
                                        format!(
                                            "Die Kennung „{}“ ist in der Gruppe „{}“ für mehrere Felder vergeben.",
                                            f.id, g.label
                                        ),
                                    );
                                }
                            }
                        } else {
                            for f in &g.fields {
                                if !field_seen.insert(f.id.as_str()) {
                                    self.push(
                                        Target::Item(format!("{}.{}", g.id, f.id)),
                                        format!("Die Kennung „{}“ ist für mehrere Felder vergeben.", f.id),
                                    );
                                }
                                self.ix.fields.insert(&f.id, f);
                            }
                        }
                    }
                }
            }
        }
        let clashes: Vec<&str> = self.ix.repeating.iter().copied().filter(|g| self.ix.fields.contains_key(g)).collect();
        for g in clashes {
            self.push(
                Target::Item(g.to_owned()),
                format!("Die wiederholbare Gruppe „{g}“ und ein Feld haben dieselbe Kennung; die Antworten wären nicht zu unterscheiden."),
            );
        }
    }

    fn cond(&mut self, owner: &str, target: &Target, c: &Cond) {
        let unknown =
            |field: &str| format!("„{owner}“: die Bedingung verweist auf „{field}“, das es im Formular nicht gibt.");
        match c {
            Cond::Equals { field, value } | Cond::NotEquals { field, value } => {
                self.cond_value(owner, target, field, std::slice::from_ref(value), unknown(field));
            }
            Cond::AnyOf { field, values } => {
                if values.is_empty() {
                    self.push(target.clone(), format!("„{owner}“: die Bedingung nennt keine Werte."));
                }
                self.cond_value(owner, target, field, values, unknown(field));
            }
            Cond::Filled { field } => {
                if !self.ix.fields.contains_key(field.as_str()) && !self.ix.groups.contains(field.as_str()) {
                    self.push(target.clone(), unknown(field));
                }
            }
            Cond::Yes { field } => match self.ix.fields.get(field.as_str()) {
                None => self.push(target.clone(), unknown(field)),
                Some(f) if !matches!(f.kind, Kind::YesNo | Kind::Declaration { .. }) => self.push(
                    target.clone(),
                    format!("„{owner}“: die Bedingung fragt nach „Ja“ bei „{}“, das keine Ja/Nein-Frage ist.", f.label),
                ),
                Some(_) => {}
            },
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| self.cond(owner, target, c)),
            Cond::Not(c) => self.cond(owner, target, c),
        }
    }

    fn cond_value(&mut self, owner: &str, target: &Target, field: &str, values: &[String], unknown: String) {
        let Some(f) = self.ix.fields.get(field).copied() else {
            return self.push(target.clone(), unknown);
        };
        let allowed: Option<Vec<&str>> = match &f.kind {
            Kind::YesNo => Some(vec!["ja", "nein"]),
            _ => options(f).map(|o| o.iter().map(|c| c.value.as_str()).collect()),
        };
        if let Some(allowed) = allowed {
            for v in values.iter().filter(|v| !allowed.contains(&v.as_str())) {
                self.push(
                    target.clone(),
                    format!(
                        "„{owner}“: die Bedingung erwartet bei „{}“ den Wert „{v}“, den es dort nicht gibt.",
                        f.label
                    ),
                );
            }
        }
    }

    fn field(&mut self, f: &Field, key: String, in_repeating: bool) {
        let target = Target::Item(key);
        let label = if f.label.trim().is_empty() { f.id.clone() } else { f.label.clone() };
        if !valid_id(&f.id) {
            self.push(target.clone(), id_message(&format!("Feld „{label}“"), &f.id));
        }
        if f.label.trim().is_empty() {
            self.push(target.clone(), format!("Das Feld „{}“ hat keine Bezeichnung.", f.id));
        }
        if let Some(opts) = options(f) {
            if opts.is_empty() {
                self.push(target.clone(), format!("„{label}“ braucht mindestens eine Auswahlmöglichkeit."));
            }
            let mut seen = BTreeSet::new();
            for o in opts {
                if o.value.trim().is_empty() || o.label.trim().is_empty() {
                    self.push(
                        target.clone(),
                        format!("„{label}“: eine Auswahlmöglichkeit hat keinen Wert oder keine Bezeichnung."),
                    );
                } else if !seen.insert(o.value.as_str()) {
                    self.push(target.clone(), format!("„{label}“: der Wert „{}“ kommt mehrfach vor.", o.value));
                }
            }
        }
        let bounds = |min: Option<i64>, max: Option<i64>| min.zip(max).is_some_and(|(a, b)| a > b);
        match &f.kind {
            Kind::Text { max_len } | Kind::LongText { max_len } if *max_len == 0 => {
                self.push(target.clone(), format!("„{label}“: die Höchstlänge muss größer als 0 sein."));
            }
            Kind::Number { min, max } if bounds(*min, *max) => {
                self.push(target.clone(), format!("„{label}“: das Minimum ist größer als das Maximum."));
            }
            Kind::Euro { min_cents, max_cents } if bounds(*min_cents, *max_cents) => {
                self.push(target.clone(), format!("„{label}“: der Mindestbetrag ist größer als der Höchstbetrag."));
            }
            Kind::Checkboxes { options, min, max } => {
                if max.is_some_and(|m| *min > m) {
                    self.push(
                        target.clone(),
                        format!("„{label}“: mindestens {min} ist mehr als höchstens {}.", max.unwrap_or_default()),
                    );
                }
                if *min as usize > options.len() {
                    self.push(
                        target.clone(),
                        format!(
                            "„{label}“: es sollen mindestens {min} gewählt werden, es gibt aber nur {} Möglichkeiten.",
                            options.len()
                        ),
                    );
                }
            }
            Kind::Date { not_before, not_after } => {
                for b in [not_before, not_after].into_iter().flatten() {
                    if b != "heute" && Date::parse(b).is_none() {
                        self.push(
                            target.clone(),
                            format!("„{label}“: „{b}“ ist kein Datum (TT.MM.JJJJ oder „heute“)."),
                        );
                    }
                }
                if let (Some(a), Some(b)) =
                    (not_before.as_deref().and_then(Date::parse), not_after.as_deref().and_then(Date::parse))
                    && a > b
                {
                    self.push(target.clone(), format!("„{label}“: das früheste Datum liegt nach dem spätesten."));
                }
            }
            Kind::BirthDate { min_age, max_age } if min_age.zip(*max_age).is_some_and(|(a, b)| a > b) => {
                self.push(target.clone(), format!("„{label}“: das Mindestalter ist höher als das Höchstalter."));
            }
            Kind::File { accept, max_bytes } => {
                if accept.is_empty() {
                    self.push(target.clone(), format!("„{label}“ braucht mindestens eine erlaubte Dateiendung."));
                }
                for a in accept
                    .iter()
                    .filter(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
                {
                    self.push(
                        target.clone(),
                        format!(
                            "„{label}“: „{a}“ ist keine gültige Dateiendung (Kleinbuchstaben und Ziffern ohne Punkt, zum Beispiel pdf)."
                        ),
                    );
                }
                if *max_bytes == 0 {
                    self.push(target.clone(), format!("„{label}“: die höchste Dateigröße muss größer als 0 sein."));
                }
                if in_repeating {
                    self.push(
                        target.clone(),
                        format!("„{label}“: Dateien können nicht in einer wiederholbaren Gruppe hochgeladen werden."),
                    );
                }
            }
            _ => {}
        }
        for c in [&f.visible_if, &f.required_if].into_iter().flatten() {
            self.cond(&label, &target, c);
        }
    }

    fn items(&mut self) {
        let form = self.form;
        for s in &form.steps {
            if let Some(c) = &s.visible_if {
                self.cond(&s.title, &Target::Step(s.id.clone()), c);
            }
            for item in &s.items {
                match item {
                    Item::Field(f) => self.field(f, f.id.clone(), false),
                    Item::Group(g) => {
                        let target = Target::Item(g.id.clone());
                        let label = if g.label.trim().is_empty() { g.id.clone() } else { g.label.clone() };
                        if !valid_id(&g.id) {
                            self.push(target.clone(), id_message(&format!("Gruppe „{label}“"), &g.id));
                        }
                        if g.label.trim().is_empty() {
                            self.push(target.clone(), format!("Die Gruppe „{}“ hat keine Bezeichnung.", g.id));
                        }
                        if g.fields.is_empty() {
                            self.push(target.clone(), format!("Die Gruppe „{label}“ enthält kein Feld."));
                        }
                        if let Some(r) = g.repeat
                            && (r.max < 1 || r.min > r.max)
                        {
                            self.push(
                                target.clone(),
                                format!(
                                    "Die Gruppe „{label}“: höchstens {} Einträge muss mindestens 1 und nicht weniger als mindestens {} sein.",
                                    r.max, r.min
                                ),
                            );
                        }
                        if let Some(c) = &g.visible_if {
                            self.cond(&label, &target, c);
                        }
                        for f in &g.fields {
                            self.field(f, format!("{}.{}", g.id, f.id), g.repeat.is_some());
                        }
                    }
                }
            }
        }
    }

    fn expr(&mut self, owner: &str, target: &Target, e: &Expr) {
        match e {
            Expr::Cents(_) => {}
            Expr::Field(id) => match self.ix.fields.get(id.as_str()) {
                None => {
                    self.push(target.clone(), format!("Berechneter Wert „{owner}“: das Feld „{id}“ gibt es nicht."))
                }
                Some(f) if !matches!(f.kind, Kind::Number { .. } | Kind::Euro { .. }) => self.push(
                    target.clone(),
                    format!("Berechneter Wert „{owner}“: „{}“ ist kein Zahl- oder Eurofeld.", f.label),
                ),
                Some(_) => {}
            },
            Expr::Count(g) => {
                if !self.ix.repeating.contains(g.as_str()) {
                    self.push(
                        target.clone(),
                        format!("Berechneter Wert „{owner}“: „{g}“ ist keine wiederholbare Gruppe des Formulars."),
                    );
                }
            }
            Expr::Sum(es) | Expr::Product(es) => es.iter().for_each(|e| self.expr(owner, target, e)),
            Expr::If { when, then, otherwise } => {
                self.cond(owner, target, when);
                self.expr(owner, target, then);
                self.expr(owner, target, otherwise);
            }
        }
    }

    fn date_field(&mut self, n: usize, id: &str) {
        let target = Target::Rule(n);
        match self.ix.fields.get(id) {
            None => self.push(target, format!("Regel {}: das Feld „{id}“ gibt es nicht.", n + 1)),
            Some(f) if !matches!(f.kind, Kind::Date { .. } | Kind::BirthDate { .. }) => {
                self.push(target, format!("Regel {}: „{}“ ist kein Datumsfeld.", n + 1, f.label));
            }
            Some(_) => {}
        }
    }

    fn computed_and_rules(&mut self) {
        let form = self.form;
        let mut ids = BTreeSet::new();
        for (n, c) in form.computed.iter().enumerate() {
            let target = Target::Computed(n);
            if !valid_id(&c.id) {
                self.push(target.clone(), id_message(&format!("berechneter Wert „{}“", c.label), &c.id));
            }
            if !ids.insert(c.id.as_str()) {
                self.push(target.clone(), format!("Die Kennung „{}“ ist für mehrere berechnete Werte vergeben.", c.id));
            }
            self.expr(&c.label, &target, &c.expr);
        }
        for (n, r) in form.rules.iter().enumerate() {
            let message = match r {
                Rule::DateAfter { field, other, message } => {
                    self.date_field(n, field);
                    self.date_field(n, other);
                    if field == other {
                        self.push(
                            Target::Rule(n),
                            format!("Regel {}: ein Datum wird mit sich selbst verglichen.", n + 1),
                        );
                    }
                    message
                }
                Rule::WithinDays { field, message, .. } => {
                    self.date_field(n, field);
                    message
                }
            };
            if message.trim().is_empty() {
                self.push(Target::Rule(n), format!("Regel {} hat keine Meldung für die Antragstellenden.", n + 1));
            }
        }
    }
}

/// Every structural problem of the form, each with what it is about.
#[must_use]
pub fn findings(form: &Form) -> Vec<Finding> {
    let mut c = Checker {
        form,
        ix: Index { fields: BTreeMap::new(), repeating: BTreeSet::new(), groups: BTreeSet::new() },
        out: Vec::new(),
    };
    if !valid_id(&form.id) {
        c.push(Target::Form, id_message("das Formular", &form.id));
    }
    if form.title.trim().is_empty() {
        c.push(Target::Form, "Das Formular hat keinen Titel.".into());
    }
    if !TRUST_LEVELS.contains(&form.trust_level.as_str()) {
        c.push(
            Target::Form,
            format!("Das Vertrauensniveau „{}“ gibt es nicht (normal, substanziell oder hoch).", form.trust_level),
        );
    }
    if form.steps.is_empty() {
        c.push(Target::Form, "Das Formular hat keinen Schritt. Legen Sie mindestens einen an.".into());
    }
    c.index();
    c.items();
    c.computed_and_rules();
    if form.direct_submit {
        let has_file = form.steps.iter().flat_map(|s| &s.items).any(|i| match i {
            Item::Field(f) => matches!(f.kind, Kind::File { .. }),
            Item::Group(g) => g.fields.iter().any(|f| matches!(f.kind, Kind::File { .. })),
        });
        if form.steps.len() != 1 || has_file {
            c.push(
                Target::Form,
                "Direkt absenden geht nur bei Formularen mit einer Seite und ohne Datei-Uploads.".into(),
            );
        }
    }
    if let Some(w) = &form.workflow {
        for m in w.problems() {
            c.push(Target::Form, m);
        }
    }
    c.out
}

/// The structural problems of the form in plain German; empty when it may be stored.
#[must_use]
pub fn check(form: &Form) -> Vec<String> {
    findings(form).into_iter().map(|f| f.message).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Choice, Computed, Group, Repeat, Step};

    fn field(id: &str, kind: Kind) -> Field {
        Field {
            id: id.into(),
            label: format!("Feld {id}"),
            hint: String::new(),
            kind,
            required: false,
            required_if: None,
            visible_if: None,
            prefill: None,
        }
    }

    fn choices(values: &[&str]) -> Vec<Choice> {
        values.iter().map(|v| Choice { value: (*v).into(), label: v.to_uppercase() }).collect()
    }

    fn form(items: Vec<Item>) -> Form {
        Form {
            id: "test".into(),
            title: "Test".into(),
            trust_level: "normal".into(),
            steps: vec![Step { id: "eins".into(), title: "Eins".into(), items, visible_if: None }],
            computed: Vec::new(),
            rules: Vec::new(),
            direct_submit: false,
            workflow: None,
        }
    }

    fn text(id: &str) -> Item {
        Item::Field(field(id, Kind::Text { max_len: 200 }))
    }

    fn has(form: &Form, needle: &str) -> bool {
        let all = check(form);
        all.iter().any(|m| m.contains(needle)) || panic!("no finding with {needle:?} in {all:?}")
    }

    #[test]
    fn a_plain_form_passes() {
        let mut f = form(vec![
            text("name"),
            Item::Field(field("art", Kind::Radio { options: choices(&["a", "b"]) })),
            Item::Field(field("datum", Kind::Date { not_before: Some("heute".into()), not_after: None })),
            Item::Field(field("ende", Kind::Date { not_before: None, not_after: Some("31.12.2030".into()) })),
            Item::Group(Group {
                id: "kinder".into(),
                label: "Kinder".into(),
                // Ids in a repeating group are scoped to it.
                fields: vec![field("name", Kind::Name)],
                repeat: Some(Repeat { min: 0, max: 5 }),
                visible_if: Some(Cond::Equals { field: "art".into(), value: "b".into() }),
            }),
        ]);
        f.computed.push(Computed { id: "gebuehr".into(), label: "Gebühr".into(), expr: Expr::Count("kinder".into()) });
        f.rules.push(Rule::DateAfter { field: "ende".into(), other: "datum".into(), message: "Später".into() });
        assert_eq!(check(&f), Vec::<String>::new());
    }

    #[test]
    fn ids_must_be_valid_and_unique() {
        assert!(has(&form(vec![text("Name")]), "„Name“"));
        assert!(has(&form(vec![text("")]), "keine Kennung"));
        assert!(has(&form(vec![text("a"), text("a")]), "mehrere Felder"));
        let plain = Item::Group(Group {
            id: "g".into(),
            label: "G".into(),
            fields: vec![field("a", Kind::Email)],
            repeat: None,
            visible_if: None,
        });
        assert!(has(&form(vec![text("a"), plain]), "mehrere Felder"), "plain groups share the field namespace");
        let repeating = |id: &str, fields: Vec<Field>| {
            Item::Group(Group {
                id: id.into(),
                label: "R".into(),
                fields,
                repeat: Some(Repeat { min: 1, max: 2 }),
                visible_if: None,
            })
        };
        let twice = repeating("r", vec![field("x", Kind::Email), field("x", Kind::Phone)]);
        assert!(has(&form(vec![twice]), "in der Gruppe „R“"));
        assert!(has(&form(vec![text("r"), repeating("r", vec![field("x", Kind::Email)])]), "dieselbe Kennung"));
        assert!(has(
            &form(vec![repeating("r", vec![field("x", Kind::Email)]), repeating("r", vec![field("y", Kind::Email)])]),
            "mehrere Gruppen"
        ));
        let mut f = form(vec![text("a")]);
        f.steps.push(Step { id: "eins".into(), title: "Noch mal".into(), items: vec![], visible_if: None });
        assert!(has(&f, "mehrere Schritte"));
        f.id = "Test Form".into();
        assert!(has(&f, "„Test Form“ (das Formular)"));
    }

    #[test]
    fn reserved_step_ids_are_refused() {
        for reserved in RESERVED_STEP_IDS {
            let mut f = form(vec![text("a")]);
            f.steps[0].id = reserved.into();
            assert!(has(&f, "reserviert"), "{reserved}");
        }
        let mut f = form(vec![]);
        f.steps.clear();
        assert!(has(&f, "keinen Schritt"));
    }

    #[test]
    fn options_limits_and_files() {
        assert!(has(&form(vec![Item::Field(field("s", Kind::Select { options: vec![] }))]), "mindestens eine Auswahl"));
        let dup = Kind::Checkboxes { options: choices(&["x", "y", "x"]), min: 0, max: None };
        assert!(has(&form(vec![Item::Field(field("c", dup))]), "„x“ kommt mehrfach vor"));
        let bad_min = Kind::Checkboxes { options: choices(&["x"]), min: 2, max: Some(1) };
        assert!(has(&form(vec![Item::Field(field("c", bad_min))]), "mindestens 2 ist mehr als höchstens 1"));
        assert!(has(&form(vec![Item::Field(field("n", Kind::Number { min: Some(5), max: Some(1) }))]), "Minimum"));
        let date = Kind::Date { not_before: Some("morgen".into()), not_after: None };
        assert!(has(&form(vec![Item::Field(field("d", date))]), "„morgen“ ist kein Datum"));
        let file = Kind::File { accept: vec![], max_bytes: 0 };
        let f = form(vec![Item::Field(field("f", file))]);
        assert!(has(&f, "Dateiendung") && has(&f, "Dateigröße"));
        let dotted = Kind::File { accept: vec![".PDF".into()], max_bytes: 10 };
        assert!(has(&form(vec![Item::Field(field("f", dotted))]), "keine gültige Dateiendung"));
        let empty_repeat = Item::Group(Group {
            id: "r".into(),
            label: "R".into(),
            fields: vec![field("upload", Kind::File { accept: vec!["pdf".into()], max_bytes: 10 })],
            repeat: Some(Repeat { min: 3, max: 2 }),
            visible_if: None,
        });
        let f = form(vec![empty_repeat]);
        assert!(has(&f, "höchstens 2 Einträge") && has(&f, "wiederholbaren Gruppe hochgeladen"));
        let zero = Item::Group(Group {
            id: "r".into(),
            label: "R".into(),
            fields: vec![],
            repeat: Some(Repeat { min: 0, max: 0 }),
            visible_if: None,
        });
        let f = form(vec![zero]);
        assert!(has(&f, "höchstens 0 Einträge") && has(&f, "enthält kein Feld"));
    }

    #[test]
    fn references_must_exist() {
        let mut shown = field("x", Kind::Email);
        shown.visible_if = Some(Cond::Equals { field: "fehlt".into(), value: "a".into() });
        assert!(has(&form(vec![Item::Field(shown)]), "„fehlt“, das es im Formular nicht gibt"));
        let mut req = field("x", Kind::Email);
        req.required_if = Some(Cond::Equals { field: "art".into(), value: "c".into() });
        let f = form(vec![Item::Field(field("art", Kind::Radio { options: choices(&["a", "b"]) })), Item::Field(req)]);
        assert!(has(&f, "den Wert „c“"));
        let mut yes = field("x", Kind::Email);
        yes.visible_if = Some(Cond::Not(Box::new(Cond::Yes { field: "y".into() })));
        assert!(has(&form(vec![text("y"), Item::Field(yes)]), "keine Ja/Nein-Frage"));
        let mut in_group = field("x", Kind::Email);
        in_group.visible_if = Some(Cond::Filled { field: "name".into() });
        let group = Item::Group(Group {
            id: "kinder".into(),
            label: "Kinder".into(),
            fields: vec![field("name", Kind::Name)],
            repeat: Some(Repeat { min: 0, max: 5 }),
            visible_if: None,
        });
        assert!(has(&form(vec![group, Item::Field(in_group)]), "„name“"), "fields of repeating groups are rows");

        let mut f = form(vec![text("t")]);
        f.computed.push(Computed {
            id: "summe".into(),
            label: "Summe".into(),
            expr: Expr::Sum(vec![Expr::Field("t".into()), Expr::Count("t".into()), Expr::Field("weg".into())]),
        });
        assert!(has(&f, "kein Zahl- oder Eurofeld") && has(&f, "keine wiederholbare Gruppe") && has(&f, "„weg“"));
        f.rules.push(Rule::DateAfter { field: "t".into(), other: "nirgends".into(), message: String::new() });
        f.rules.push(Rule::WithinDays { field: "t".into(), days: 3, message: "Bald".into() });
        assert!(has(&f, "Regel 1: „Feld t“ ist kein Datumsfeld"));
        assert!(has(&f, "Regel 1: das Feld „nirgends“") && has(&f, "Regel 1 hat keine Meldung"));
        assert!(has(&f, "Regel 2: „Feld t“ ist kein Datumsfeld"));
    }

    #[test]
    fn direct_submission_needs_one_page_without_uploads() {
        let mut f = form(vec![Item::Field(field("name", Kind::Text { max_len: 200 }))]);
        f.direct_submit = true;
        assert!(check(&f).is_empty(), "{:?}", check(&f));
        let mut upload = f.clone();
        upload.steps[0].items.push(Item::Field(field("plan", Kind::File { accept: vec![], max_bytes: 0 })));
        assert!(check(&upload).iter().any(|m| m.contains("Direkt absenden")));
        let mut two = f.clone();
        two.steps.push(Step { id: "zwei".into(), title: "Zwei".into(), items: vec![], visible_if: None });
        assert!(check(&two).iter().any(|m| m.contains("Direkt absenden")));
    }

    #[test]
    fn findings_name_their_target() {
        let f = form(vec![Item::Field(field("s", Kind::Select { options: vec![] }))]);
        assert_eq!(findings(&f)[0].target, Target::Item("s".into()));
    }

    #[test]
    fn imported_ids_are_tidied_with_their_references() {
        let mut shown = field("F2", Kind::Email);
        shown.visible_if = Some(Cond::Yes { field: "G1_F1".into() });
        let mut f = form(vec![Item::Field(field("G1_F1", Kind::YesNo)), Item::Field(shown)]);
        f.id = "S00000121".into();
        f.steps[0].id = "G00000630".into();
        f.computed.push(Computed { id: "Fee".into(), label: "Gebühr".into(), expr: Expr::Cents(100) });
        assert!(!check(&f).is_empty());
        tidy_ids(&mut f);
        assert_eq!(check(&f), Vec::<String>::new());
        assert_eq!((f.id.as_str(), f.steps[0].id.as_str()), ("s00000121", "g00000630"));
        assert_eq!(tidy_id("Ä b.c"), "__b_c");
    }

    #[test]
    fn ids_from_labels() {
        let mut taken = BTreeSet::new();
        assert_eq!(id_from_label("Straße und Hausnummer", &taken), "strasse_und_hausnummer");
        assert_eq!(id_from_label("  Größe (in m²) ", &taken), "groesse_in_m");
        assert_eq!(id_from_label("!!!", &taken), "feld");
        assert_eq!(id_from_label("Prüfen", &taken), "pruefen_2", "reserved step words are avoided");
        taken.insert("name".to_owned());
        taken.insert("name_2".to_owned());
        assert_eq!(id_from_label("Name", &taken), "name_3");
        assert!(valid_id(&id_from_label("Ärger über „Öl“ – 100 %", &taken)));
    }
}
