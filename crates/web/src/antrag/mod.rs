//! The citizen's application journey at `/o/<slug>/antrag/<form>/`: one topic per
//! page with back and continue, an error summary that links to the fields, a page to
//! check every answer, the declaration, submission and the receipt — all without
//! JavaScript. The rule engine (`amtsweg_forms`) judges every request; nothing the
//! browser says is trusted.
//!
//! The first page comes with a signed form token. The first POST keeps the answers as
//! a draft under that token, bound to the citizen's account or — without one — to a
//! cookie of this browser; the submission keeps the token, so a double submit or a
//! retry shows the same receipt. Anonymous drafts resume on another device through a
//! one-time link sent by e-mail; every draft expires (`web.draft_days`).

pub(crate) mod absenden;
pub(crate) mod cut;
pub(crate) mod eingang;
pub(crate) mod entwurf;
pub mod fields;
pub(crate) mod first_page;
pub mod input_limits;
pub(crate) mod journey;
pub(crate) mod konto;
pub(crate) mod receipt_page;
pub(crate) mod schritt;
pub(crate) mod start;
pub mod upload;
pub(crate) mod zahlung;
pub(crate) mod zurueckziehen;

pub(crate) use eingang::{pdf_response, receipt_view};

/// The cookie that binds anonymous drafts to this browser.
pub const DRAFT_COOKIE: &str = "__Host-amtsweg_antrag";
