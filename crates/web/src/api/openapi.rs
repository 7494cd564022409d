//! The OpenAPI document of `/api/v1/`, generated from the handlers' types with
//! utoipa, served at `/api/openapi.json` and snapshot-tested against
//! `docs/openapi.json`.

use super::Problem;
use super::antraege::*;
use super::auth::*;
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

#[derive(OpenApi)]
#[openapi(
    info(title = "Amtsweg API", version = "1", description = "Submissions for back-office software: fetch, acknowledge, report status and messages back. Errors are RFC 9457 problem details."),
    paths(token, list, detail, receipt, file, acknowledge, status, message, signed_download),
    components(schemas(Problem)),
    modifiers(&Security),
    tags((name = "auth", description = "OAuth 2.0 client credentials"), (name = "submissions", description = "Anträge"))
)]
pub struct ApiDoc;

/// The OpenAPI document as served.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) async fn openapi_json() -> Response {
    match openapi().to_pretty_json() {
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
        let now = openapi().to_pretty_json().unwrap() + "\n";
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
