//! The REST API for back-office software (`/api/v1/`): list new submissions, fetch
//! their data, files and receipt, acknowledge them, and report status and messages
//! back to the citizen. Clients are registered per authority in the back office
//! (Schnittstellen) and see that authority's submissions only.
//!
//! Authentication: OAuth 2.0 client credentials (`POST /api/v1/token`, then
//! `Authorization: Bearer <token>`) or the client's key directly
//! (`X-API-Key: <client_id>:<secret>`). Errors are `application/problem+json`, in
//! German, or in English with `Accept-Language: en` — also for a path, query or body
//! that does not parse (`extract`), so every answer is one the document describes.
//!
//! The OpenAPI document (`/api/openapi.json`) is generated from the handlers'
//! types with utoipa and snapshot-tested.

mod antraege;
mod auth;
mod extract;
mod finanzen;
mod openapi;
mod problem;
mod termine;

pub use auth::{Client, secret_hash};
pub use openapi::{ApiDoc, openapi, openapi_document};
pub use problem::Problem;
pub(crate) use problem::language;

pub(crate) use antraege::{acknowledge, detail, file, list, message, receipt, signed_download, status};
pub(crate) use auth::token;
pub(crate) use finanzen::{
    FINANCE, activation_code as finance_activation_code, claims as finance_claims, payments as finance_payments,
    unlink as finance_unlink,
};
pub(crate) use openapi::openapi_json;
pub(crate) use termine::{day as appointments_day, status as appointment_status};

/// Scope to read an authority's submissions.
pub(crate) const READ: &str = "submissions:read";
/// Scope to report status and messages back.
pub(crate) const WRITE: &str = "submissions:write";
/// Scope to read a location's appointments (with the citizens' contact data) and
/// mark them attended, missed or cancelled.
pub(crate) const APPOINTMENTS: &str = "termine";
