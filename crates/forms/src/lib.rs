//! Forms as data and the one rule engine (Antragsformulare). Pure: no I/O, no
//! clock, no tokio — the server validates every request with it, and it compiles for
//! `wasm32-unknown-unknown` so the browser can run the same rules.
//!
//! [`accept()`] is the one call from posted answers to what may be kept (the answers
//! asked for, normalised, computed, with their problems); [`display`] shows answers
//! in words for the check page, the receipt and the e-mailed copy.

pub mod accept;
pub mod check;
pub mod date;
pub mod display;
pub mod engine;
pub mod german;
pub mod model;
pub mod workflow;

pub use accept::{Accepted, accept};
pub use check::{Finding, Target, ascii_id, check, findings, id_from_label, tidy_ids, valid_id};
pub use date::Date;
pub use engine::{
    Answer, Answers, Problem, check_value, compute, holds, keep_asked, normalize, split_address, validate,
    visible_steps,
};
pub use model::{
    AppointmentOffer, Choice, Computed, Cond, Expr, Field, Form, FormPayMode, Group, Item, Kind, PaymentSpec, Prefill,
    Repeat, Rule, Step,
};
pub use workflow::Workflow;

pub mod diff;
