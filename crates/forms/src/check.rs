//! Structural checks of a form definition, before it is stored by the editor: ids,
//! uniqueness, reserved step names, options, limits, and that every condition,
//! computed value and rule points at something that exists. The messages are German,
//! for the people who build forms (not for citizens). The ids themselves (valid ids,
//! ids from labels, tidying imported ids) are in `check/ids.rs`.

mod ids;

pub use ids::{RESERVED_STEP_IDS, ascii_id, id_from_label, ids_in_use, tidy_id, tidy_ids, valid_id};

use crate::date::Date;
use crate::model::{Cond, Expr, Field, Form, Item, Kind, Rule};
use std::collections::{BTreeMap, BTreeSet};

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
            Expr::Tiered { units, first, further } => {
                let number = self.ix.fields.get(units.as_str()).is_some_and(|f| matches!(f.kind, Kind::Number { .. }));
                if !number && !self.ix.repeating.contains(units.as_str()) {
                    self.push(
                        target.clone(),
                        format!(
                            "Berechneter Wert „{owner}“: die Staffel zählt „{units}“ – das ist weder eine wiederholbare Gruppe noch ein Zahlfeld des Formulars."
                        ),
                    );
                }
                if *first < 0 || *further < 0 {
                    self.push(
                        target.clone(),
                        format!("Berechneter Wert „{owner}“: die Beträge einer Staffel dürfen nicht negativ sein."),
                    );
                }
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
    if let Some(p) = &form.payment {
        if !form.computed.iter().any(|c| c.id == p.amount) {
            c.push(
                Target::Form,
                format!("Der Betrag der Zahlung verweist auf den unbekannten berechneten Wert „{}“.", p.amount),
            );
        }
        if p.purpose.chars().count() > 100 {
            c.push(Target::Form, "Der Zahlungszweck darf höchstens 100 Zeichen lang sein.".into());
        }
    }
    // The key is matched against the authority's calendars; a typo would leave the
    // receipt page without its booking link.
    if let Some(a) = &form.appointment
        && !(a.leika.len() == 14 && a.leika.bytes().all(|b| b.is_ascii_digit()))
    {
        c.push(
            Target::Form,
            format!("Der Leistungsschlüssel für die Terminbuchung muss aus 14 Ziffern bestehen, nicht „{}“.", a.leika),
        );
    }
    c.out
}

/// The structural problems of the form in plain German; empty when it may be stored.
#[must_use]
pub fn check(form: &Form) -> Vec<String> {
    findings(form).into_iter().map(|f| f.message).collect()
}

#[cfg(test)]
mod tests;
