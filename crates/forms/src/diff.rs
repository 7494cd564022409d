//! What changed between two versions of a form, field by field (for the editor's
//! version history; submissions keep referencing the exact version they used).

use crate::model::{Field, Form, Item};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Title { before: String, after: String },
    StepAdded { step: String },
    StepRemoved { step: String },
    FieldAdded { field: String, label: String },
    FieldRemoved { field: String, label: String },
    FieldChanged { field: String, label: String },
    RulesChanged,
    ComputedChanged,
}

fn fields(form: &Form) -> Vec<(String, &Field)> {
    let mut out = Vec::new();
    for s in &form.steps {
        for item in &s.items {
            match item {
                Item::Field(f) => out.push((f.id.clone(), f)),
                Item::Group(g) => out.extend(g.fields.iter().map(|f| (format!("{}.{}", g.id, f.id), f))),
            }
        }
    }
    out
}

/// The changes from `before` to `after`, in reading order.
#[must_use]
pub fn diff(before: &Form, after: &Form) -> Vec<Change> {
    let mut out = Vec::new();
    if before.title != after.title {
        out.push(Change::Title { before: before.title.clone(), after: after.title.clone() });
    }
    for s in &after.steps {
        if !before.steps.iter().any(|b| b.id == s.id) {
            out.push(Change::StepAdded { step: s.title.clone() });
        }
    }
    for s in &before.steps {
        if !after.steps.iter().any(|a| a.id == s.id) {
            out.push(Change::StepRemoved { step: s.title.clone() });
        }
    }
    let (old, new) = (fields(before), fields(after));
    for (id, f) in &new {
        match old.iter().find(|(o, _)| o == id) {
            None => out.push(Change::FieldAdded { field: id.clone(), label: f.label.clone() }),
            Some((_, o)) if o != f => out.push(Change::FieldChanged { field: id.clone(), label: f.label.clone() }),
            Some(_) => {}
        }
    }
    for (id, f) in &old {
        if !new.iter().any(|(n, _)| n == id) {
            out.push(Change::FieldRemoved { field: id.clone(), label: f.label.clone() });
        }
    }
    if before.rules != after.rules {
        out.push(Change::RulesChanged);
    }
    if before.computed != after.computed {
        out.push(Change::ComputedChanged);
    }
    out
}
