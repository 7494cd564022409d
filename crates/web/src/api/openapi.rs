//! The OpenAPI document of `/api/v1/`, generated from the handlers' types with
//! utoipa, served at `/api/openapi.json` and snapshot-tested against
//! `docs/openapi.json`.

use super::Problem;
use super::antraege::*;
use super::auth::*;
use super::finanzen::{BookingSource, ClaimStateName, UpsertResult};
use super::termine::{AppointmentState, NewAppointmentStatus};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// What every operation may answer besides its own responses, and where the ids of
/// one answer lead (OpenAPI links, which API testing tools follow with real ids).
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, ResponseBuilder, Type, header::HeaderBuilder};
        // The rate limits (`web.limits`) answer any operation with 429 before it runs.
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
            .description(Some("Seconds to wait before the next try."))
            .build();
        let retry_later = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .header("Retry-After", retry_after.clone())
                .build()
        };
        let too_many =
            retry_later("Too many requests from this client or from everyone; try again after `Retry-After`.");
        // A full disk (or database) answers any operation that stores something with
        // 503 `storage-full`; reads keep working, but the document cannot tell which
        // operations write, so all name it.
        let storage_full =
            retry_later("The portal's storage is full; nothing was stored. Try again after `Retry-After`.");
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                op.responses.responses.entry("429".into()).or_insert_with(|| too_many.clone().into());
                op.responses.responses.entry("503".into()).or_insert_with(|| storage_full.clone().into());
            }
        }
        let first = "$response.body#/items/0/id";
        link(
            openapi,
            "/api/v1/antraege",
            "200",
            &["detail", "receipt", "acknowledge", "status", "message"],
            &[("id", first)],
        );
        link(openapi, "/api/v1/termine", "200", &["appointment_status"], &[("id", "$response.body#/items/0/id")]);
        link(
            openapi,
            "/api/v1/antraege/{id}",
            "200",
            &["file"],
            &[("id", "$response.body#/id"), ("file", "$response.body#/files/0/id")],
        );
    }
}

/// Adds links from the GET `path`'s `status` response to `operations`.
fn link(
    openapi: &mut utoipa::openapi::OpenApi,
    path: &str,
    status: &str,
    operations: &[&str],
    params: &[(&str, &str)],
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let Some(RefOr::T(response)) = openapi
        .paths
        .paths
        .get_mut(path)
        .and_then(|i| i.get.as_mut())
        .and_then(|op| op.responses.responses.get_mut(status))
    else {
        return;
    };
    for op in operations {
        let mut l = LinkBuilder::new().operation_id(*op);
        for (name, value) in params {
            l = l.parameter(*name, *value);
        }
        response.links.insert((*op).to_owned(), RefOr::T(l.build()));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Amtsweg API", version = "1", description = "Submissions for back-office software: fetch, acknowledge, report status and messages back. Appointments for counter software: a location's day, attended, missed, cancelled. Claims and payments for finance software: send claims with notices, read the payments taken, make activation codes. Errors are RFC 9457 problem details."),
    paths(token, list, detail, receipt, file, acknowledge, status, message, signed_download, super::termine::day, super::termine::status,
        super::finanzen::claims, super::finanzen::payments, super::finanzen::activation_code, super::finanzen::unlink),
    components(schemas(Problem, ListStatus, AppointmentState, NewAppointmentStatus, ClaimStateName, UpsertResult, BookingSource)),
    modifiers(&Security, &Conventions),
    tags((name = "auth", description = "OAuth 2.0 client credentials"), (name = "submissions", description = "Anträge"),
        (name = "appointments", description = "Termine (scope `termine`)"),
        (name = "finance", description = "Forderungen und Zahlungen (scope `finanzen`)"))
)]
pub struct ApiDoc;

/// The OpenAPI document as served.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served, as JSON. utoipa 5 writes a link's `operationId` as
/// `operation_id`, which OpenAPI tools ignore; no other key of the document has
/// that spelling, so it is put right here.
///
/// # Errors
/// When the document cannot be serialised.
pub fn openapi_document() -> Result<String, serde_json::Error> {
    Ok(openapi().to_pretty_json()?.replace("\"operation_id\": ", "\"operationId\": "))
}

pub(crate) async fn openapi_json() -> Response {
    match openapi_document() {
        Ok(s) => ([(header::CONTENT_TYPE, "application/json")], s).into_response(),
        Err(e) => Problem::internal(&e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// The published OpenAPI document (docs/openapi.json) is what the code
    /// generates: a change of the API shows up in review as a change of that file.
    /// `AMTSWEG_UPDATE_SNAPSHOTS=1` rewrites it.
    #[test]
    fn the_openapi_document_matches_its_snapshot() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let now = openapi_document().unwrap() + "\n";
        if std::env::var_os("AMTSWEG_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &now).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == now,
            "docs/openapi.json differs from the generated document; run with AMTSWEG_UPDATE_SNAPSHOTS=1 and review the diff"
        );
        let doc: serde_json::Value = serde_json::from_str(&now).unwrap();
        for p in ["/api/v1/token", "/api/v1/antraege", "/api/v1/antraege/{id}", "/api/v1/antraege/{id}/status"] {
            assert!(doc["paths"][p].is_object(), "{p} documented");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
