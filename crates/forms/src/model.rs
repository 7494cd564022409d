//! The form definition: plain data, serialisable as JSON (see docs/FORMS.md).

use serde::{Deserialize, Serialize};

/// A form: steps of fields and groups, conditions, computed values and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub title: String,
    /// Trust level the form needs ("normal", "substanziell", "hoch").
    #[serde(default = "normal")]
    pub trust_level: String,
    pub steps: Vec<Step>,
    /// Computed values shown to the citizen (e.g. the fee), in euro cents.
    #[serde(default)]
    pub computed: Vec<Computed>,
    /// Rules across fields (end after start, age limits).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// One page that is submitted directly (no check page): for short mass
    /// procedures like postal votes. Only for one-step forms without file uploads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub direct_submit: bool,
    /// The processing states for the back office; `None`: the default workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::workflow::Workflow>,
    /// Booking an appointment after submission (e.g. identity documents need a
    /// personal visit): the receipt page links to the booking, which carries the
    /// receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<AppointmentOffer>,
    /// The fee of this form is to be paid: online before release, by invoice or at
    /// the counter. The amount is one of the computed values (in cents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentSpec>,
}

/// How a form's fee is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormPayMode {
    /// Online before the application is released to the authority.
    Vorab,
    /// By invoice (bank transfer with GiroCode) after submission.
    Rechnung,
    /// At the counter.
    VorOrt,
}

impl FormPayMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vorab => "vorab",
            Self::Rechnung => "rechnung",
            Self::VorOrt => "vor_ort",
        }
    }
}

/// The payment a form asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSpec {
    pub mode: FormPayMode,
    /// The id of the computed value that is the amount (cents).
    pub amount: String,
    /// What the payment is for, shown to the citizen and the provider; empty: the form's title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
}

/// The appointment a form offers or requires after submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentOffer {
    /// `true`: the application is only complete with the visit ("Bitte buchen Sie
    /// jetzt einen Termin"); `false`: the booking is offered.
    #[serde(default)]
    pub required: bool,
    /// The LeiKa key of the service to book (a calendar of the authority must offer it).
    pub leika: String,
}

impl Form {
    /// The workflow that applies to this form's submissions.
    #[must_use]
    pub fn workflow(&self) -> &crate::workflow::Workflow {
        // Built once: every receipt page and case list asks for it.
        static DEFAULT: std::sync::LazyLock<crate::workflow::Workflow> = std::sync::LazyLock::new(Default::default);
        self.workflow.as_ref().unwrap_or(&DEFAULT)
    }
}

fn normal() -> String {
    "normal".into()
}

/// One page of the form: one topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Cond>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum Item {
    Field(Field),
    Group(Group),
}

/// Fields that belong together; repeating when `min`/`max` are set (e.g. children).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub label: String,
    pub fields: Vec<Field>,
    /// Repeating group: at least `min`, at most `max` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Cond>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(flatten)]
    pub kind: Kind,
    /// Required always …
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// … or when a condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<Cond>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Cond>,
    /// Filled in from the citizen's account (see [`Prefill`]); values an ID provider
    /// vouched for cannot be changed in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
}

/// Where a prefilled value comes from in the citizen's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefill {
    /// Given and family name.
    Name,
    GivenName,
    FamilyName,
    BirthDate,
    /// Street, PLZ and place.
    Address,
    Email,
    Phone,
}

/// A choice of a select, radio or checkbox field (code list entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The field types, German ones included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Text {
        #[serde(default = "default_max_len")]
        max_len: u32,
    },
    LongText {
        #[serde(default = "default_long_len")]
        max_len: u32,
    },
    Number {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
    },
    /// Amount in euro, stored in cents.
    Euro {
        #[serde(default)]
        min_cents: Option<i64>,
        #[serde(default)]
        max_cents: Option<i64>,
    },
    Date {
        #[serde(default)]
        not_before: Option<String>,
        #[serde(default)]
        not_after: Option<String>,
    },
    Select {
        options: Vec<Choice>,
    },
    Radio {
        options: Vec<Choice>,
    },
    Checkboxes {
        options: Vec<Choice>,
        #[serde(default)]
        min: u32,
        #[serde(default)]
        max: Option<u32>,
    },
    YesNo,
    Email,
    Phone,
    Iban,
    Plz,
    SteuerId,
    Kfz,
    /// Street, PLZ and place, answered as "street\nPLZ place". With `in_verbund` the
    /// place must be one of the Verbund's places: the server checks that (this crate
    /// has no I/O).
    Address {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        in_verbund: bool,
    },
    Name,
    BirthDate {
        #[serde(default)]
        min_age: Option<u32>,
        #[serde(default)]
        max_age: Option<u32>,
    },
    File {
        /// Allowed extensions, lower-case without dot.
        accept: Vec<String>,
        max_bytes: u64,
    },
    /// Text for the citizen; no answer.
    Info {
        text: String,
    },
    /// Must be confirmed (e.g. "Ich versichere die Richtigkeit …").
    Declaration {
        text: String,
    },
}

fn default_max_len() -> u32 {
    200
}

fn default_long_len() -> u32 {
    5000
}

/// Conditions for visibility, required-ness and computed values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    Equals { field: String, value: String },
    NotEquals { field: String, value: String },
    AnyOf { field: String, values: Vec<String> },
    Filled { field: String },
    Yes { field: String },
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// A computed value (cents): e.g. a fee depending on answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Computed {
    pub id: String,
    pub label: String,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A constant in cents.
    Cents(i64),
    /// A number or euro field (euro in cents, numbers as given).
    Field(String),
    /// How many entries a repeating group has.
    Count(String),
    Sum(Vec<Expr>),
    Product(Vec<Expr>),
    If {
        when: Cond,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// A graduated amount ("Staffel"): `first` cents for the first unit and
    /// `further` cents for every further one. The units are the entries of the
    /// repeating group `units`, or the whole number answered in the number field
    /// `units`; no units (or none answered yet) cost nothing. E.g. the dog tax:
    /// 90 € for the first dog, 135 € for every further dog.
    Tiered {
        units: String,
        first: i64,
        further: i64,
    },
}

/// A rule across fields, with the message the citizen sees at `field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// `field` (a date) must be after `other` (a date).
    DateAfter { field: String, other: String, message: String },
    /// `field` (a date) must lie within `days` days from today.
    WithinDays { field: String, days: u32, message: String },
}
