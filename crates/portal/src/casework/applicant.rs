//! The applicant's name for the inbox, read from the answers: forms differ (one
//! "Name" field, given and family name, the first parent of a group), so the name is
//! found by what the fields are — prefilled from the account's name, of the type
//! "name", or with the usual ids — never by position alone.

use amtsweg_forms::{Answer, Answers, Field, Form, Item, Kind, Prefill};

fn text(a: Option<&Answer>) -> Option<String> {
    match a {
        Some(Answer::One(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

#[derive(Default)]
struct Parts {
    full: Option<String>,
    given: Option<String>,
    family: Option<String>,
    /// The first field of the type "name" that is none of the above.
    any: Option<String>,
}

impl Parts {
    fn take(&mut self, f: &Field, answers: &Answers) {
        let value = || text(answers.get(&f.id));
        match (f.prefill, f.id.as_str()) {
            (Some(Prefill::Name), _) | (None, "name" | "antragsteller" | "vor_und_familienname") => {
                if self.full.is_none() {
                    self.full = value();
                }
            }
            (Some(Prefill::GivenName), _) | (None, "vorname" | "vornamen") => {
                if self.given.is_none() {
                    self.given = value();
                }
            }
            (Some(Prefill::FamilyName), _) | (None, "familienname" | "nachname") => {
                if self.family.is_none() {
                    self.family = value();
                }
            }
            _ => {
                if matches!(f.kind, Kind::Name) && self.any.is_none() {
                    self.any = value();
                }
            }
        }
    }

    /// The name from fields that are meant to hold it.
    fn named(&self) -> Option<String> {
        match (&self.given, &self.family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (g, f) => self.full.clone().or_else(|| f.clone()).or_else(|| g.clone()),
        }
    }
}

/// The applicant's name as the answers give it, if the form asks for one.
#[must_use]
pub fn applicant_name(form: &Form, answers: &Answers) -> Option<String> {
    let mut top = Parts::default();
    let mut grouped = Parts::default();
    for step in &form.steps {
        for item in &step.items {
            match item {
                Item::Field(f) => top.take(f, answers),
                Item::Group(g) => {
                    // The first entry of a repeating group (e.g. the first parent).
                    let first = match answers.get(&g.id) {
                        Some(Answer::Rows(rows)) => rows.first().cloned(),
                        _ => None,
                    };
                    let entry: Answers = first.unwrap_or_else(|| answers.clone());
                    for f in &g.fields {
                        grouped.take(f, &entry);
                    }
                }
            }
        }
    }
    // A field meant for the name beats the first field of the type "name" (which
    // may be the child's, as in a Kita application).
    top.named().or_else(|| grouped.named()).or(top.any).or(grouped.any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: &str) -> Form {
        serde_json::from_str(json).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Answer::One((*v).to_owned()))).collect()
    }

    #[test]
    fn given_and_family_name_make_the_name() {
        let f = form(
            r#"{"id":"b","title":"B","steps":[{"id":"s","title":"S","items":[
            {"item":"field","id":"kind_vorname","label":"Kind","type":"name"},
            {"item":"field","id":"vorname","label":"Vorname","type":"name","prefill":"given_name"},
            {"item":"field","id":"familienname","label":"Familienname","type":"name"}]}]}"#,
        );
        let a = answers(&[("kind_vorname", "Paul"), ("vorname", "Erika"), ("familienname", "Musterfrau")]);
        assert_eq!(applicant_name(&f, &a).as_deref(), Some("Erika Musterfrau"));
    }

    #[test]
    fn one_name_field_or_the_first_entry_of_a_group() {
        let f = form(
            r#"{"id":"h","title":"H","steps":[{"id":"s","title":"S","items":[
            {"item":"field","id":"name","label":"Name","type":"text"}]}]}"#,
        );
        assert_eq!(applicant_name(&f, &answers(&[("name", " Max Mustermann ")])).as_deref(), Some("Max Mustermann"));
        assert_eq!(applicant_name(&f, &answers(&[])), None);
        let g = form(
            r#"{"id":"k","title":"K","steps":[{"id":"s","title":"S","items":[
            {"item":"group","id":"eltern","label":"Eltern","repeat":{"min":1,"max":2},"fields":[
              {"item":"field","id":"name","label":"Name","type":"name"}]}]}]}"#,
        );
        let mut a = Answers::new();
        a.insert(
            "eltern".into(),
            Answer::Rows(vec![answers(&[("name", "Anna Alt")]), answers(&[("name", "Bernd Alt")])]),
        );
        assert_eq!(applicant_name(&g, &a).as_deref(), Some("Anna Alt"));
        let kita = form(
            r#"{"id":"k","title":"K","steps":[{"id":"s","title":"S","items":[
            {"item":"group","id":"eltern","label":"Eltern","repeat":{"min":1,"max":2},"fields":[
              {"item":"field","id":"name","label":"Name","type":"name"}]},
            {"item":"field","id":"kind_vorname","label":"Kind","type":"name"}]}]}"#,
        );
        a.insert("kind_vorname".into(), Answer::One("Paul".into()));
        assert_eq!(applicant_name(&kita, &a).as_deref(), Some("Anna Alt"), "the parent, not the child");
    }
}
