//! The field types the editor offers (Feldarten): their German names for the type
//! select, the key of each `Kind`, and a new field of a type with settings that pass
//! the check. Shared by the editor page, the field page and the group page, which all
//! add fields or change their type.

use amtsweg_forms::{Choice, Field, Kind};

/// The field types with their German names, in the order of the type select.
pub(super) const KINDS: [(&str, &str); 21] = [
    ("text", "Text, einzeilig"),
    ("long_text", "Text, mehrzeilig"),
    ("number", "Ganze Zahl"),
    ("euro", "Betrag in Euro"),
    ("date", "Datum"),
    ("select", "Auswahlliste"),
    ("radio", "Auswahl (eine Möglichkeit)"),
    ("checkboxes", "Mehrfachauswahl"),
    ("yes_no", "Ja/Nein-Frage"),
    ("email", "E-Mail-Adresse"),
    ("phone", "Telefonnummer"),
    ("iban", "IBAN"),
    ("plz", "Postleitzahl"),
    ("steuer_id", "Steuer-Identifikationsnummer"),
    ("kfz", "Kfz-Kennzeichen"),
    ("address", "Anschrift"),
    ("name", "Name"),
    ("birth_date", "Geburtsdatum"),
    ("file", "Datei hochladen"),
    ("info", "Hinweistext (ohne Eingabe)"),
    ("declaration", "Erklärung zum Bestätigen"),
];

pub(super) fn kind_key(k: &Kind) -> &'static str {
    match k {
        Kind::Text { .. } => "text",
        Kind::LongText { .. } => "long_text",
        Kind::Number { .. } => "number",
        Kind::Euro { .. } => "euro",
        Kind::Date { .. } => "date",
        Kind::Select { .. } => "select",
        Kind::Radio { .. } => "radio",
        Kind::Checkboxes { .. } => "checkboxes",
        Kind::YesNo => "yes_no",
        Kind::Email => "email",
        Kind::Phone => "phone",
        Kind::Iban => "iban",
        Kind::Plz => "plz",
        Kind::SteuerId => "steuer_id",
        Kind::Kfz => "kfz",
        Kind::Address { .. } => "address",
        Kind::Name => "name",
        Kind::BirthDate { .. } => "birth_date",
        Kind::File { .. } => "file",
        Kind::Info { .. } => "info",
        Kind::Declaration { .. } => "declaration",
    }
}

pub(super) fn kind_label(key: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == key).map_or("unbekannt", |(_, l)| l)
}

fn placeholder_options() -> Vec<Choice> {
    (1..=2).map(|n| Choice { value: format!("moeglichkeit_{n}"), label: format!("Möglichkeit {n}") }).collect()
}

/// A new field type with settings that pass the check (choices get two placeholders
/// to rename).
pub(super) fn new_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "text" => Kind::Text { max_len: 200 },
        "long_text" => Kind::LongText { max_len: 5000 },
        "number" => Kind::Number { min: None, max: None },
        "euro" => Kind::Euro { min_cents: None, max_cents: None },
        "date" => Kind::Date { not_before: None, not_after: None },
        "select" => Kind::Select { options: placeholder_options() },
        "radio" => Kind::Radio { options: placeholder_options() },
        "checkboxes" => Kind::Checkboxes { options: placeholder_options(), min: 0, max: None },
        "yes_no" => Kind::YesNo,
        "email" => Kind::Email,
        "phone" => Kind::Phone,
        "iban" => Kind::Iban,
        "plz" => Kind::Plz,
        "steuer_id" => Kind::SteuerId,
        "kfz" => Kind::Kfz,
        "address" => Kind::Address { in_verbund: false },
        "name" => Kind::Name,
        "birth_date" => Kind::BirthDate { min_age: None, max_age: None },
        "file" => {
            Kind::File { accept: ["pdf", "jpg", "jpeg", "png"].map(str::to_owned).to_vec(), max_bytes: 5_000_000 }
        }
        "info" => Kind::Info { text: String::new() },
        "declaration" => {
            Kind::Declaration { text: "Ich versichere, dass meine Angaben vollständig und richtig sind.".into() }
        }
        _ => return None,
    })
}

/// Field types whose settings must be filled in after adding the field.
pub(super) fn needs_settings(k: &Kind) -> bool {
    matches!(
        k,
        Kind::Select { .. } | Kind::Radio { .. } | Kind::Checkboxes { .. } | Kind::Info { .. } | Kind::File { .. }
    )
}

/// A new field with no hint, condition or prefill (information texts and
/// declarations are never "required").
pub(super) fn blank_field(id: String, label: &str, kind: Kind, required: bool) -> Field {
    let answerable = !matches!(kind, Kind::Info { .. } | Kind::Declaration { .. });
    Field {
        id,
        label: label.to_owned(),
        hint: String::new(),
        kind,
        required: answerable && required,
        required_if: None,
        visible_if: None,
        prefill: None,
    }
}

pub(super) fn options_of(k: &Kind) -> Option<&Vec<Choice>> {
    match k {
        Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. } => Some(options),
        _ => None,
    }
}
