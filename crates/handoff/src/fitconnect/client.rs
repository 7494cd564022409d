//! The delivery: one self-contained attempt against the Submission API (token, key,
//! announce, upload each attachment, submit), every request with our idempotency key.

use super::metadata::service_identifier;
use super::{FitConnectConfig, FitConnectError, PublicJwk, Trust, attachments, data_json, encrypt_jwe, metadata_json};
use crate::package::Package;
use amtsweg_outbound::{Failure, Policy};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// Each request gets this long; attachments can be large, but a hung
/// Zustelldienst must not block the outbox worker forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an error response body ends up in the error (and the back office).
pub(super) const BODY_EXCERPT_CHARS: usize = 300;

/// Delivers `p` to the configured destination; returns the FIT-Connect submission id.
///
/// Every request's URL passes `policy` first; `client` should be built by
/// [`Policy::client_builder`], so that the address is checked again when connecting.
/// The destination's key is used only when `trust` vouches for it.
///
/// # Errors
/// See [`FitConnectError`]; [`FitConnectError::is_retryable`] tells the outbox
/// whether to try again later.
pub async fn deliver(
    client: &reqwest::Client,
    policy: &Policy,
    trust: &Trust,
    cfg: &FitConnectConfig,
    p: &Package,
) -> Result<String, FitConnectError> {
    cfg.validate()?;
    cfg.check_urls(policy)?;
    if p.form.leika.is_empty() || !p.form.leika.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FitConnectError::Package(format!(
            "form {} has no valid LeiKa key (\"{}\"), FIT-Connect needs one",
            p.form.slug, p.form.leika
        )));
    }
    let destination_id = cfg.destination_id.trim().to_ascii_lowercase();
    let mut api =
        Api { client, policy, base: cfg.api_base(), bearer: cfg.token.clone(), idempotency_key: &p.idempotency_key };
    if let (Some(url), Some(id), Some(secret)) = (&cfg.token_url, &cfg.client_id, &cfg.client_secret) {
        api.bearer = Some(api.fetch_token(url, id, secret, cfg.scope.as_deref()).await?);
    }
    let key = match &cfg.encryption_key {
        Some(jwk) => {
            let key = PublicJwk::from_value(jwk)?;
            trust.verify(jwk, &key)?;
            key
        }
        None => {
            let (jwk, key) = api.fetch_key(&destination_id).await?;
            trust.verify(&jwk, &key)?;
            key
        }
    };

    let atts = attachments(p);
    let data = data_json(p, &atts)?;
    let meta = metadata_json(p, &data, &atts)?;

    let announce = json!({
        "destinationId": destination_id,
        "announcedAttachments": atts.iter().map(|a| a.id.to_string()).collect::<Vec<_>>(),
        "serviceType": {"identifier": service_identifier(p), "name": p.form.leistung_name},
    });
    let step = "announce submission";
    let created: Value =
        api.json(step, api.request(step, reqwest::Method::POST, "/v1/submissions")?.json(&announce)).await?;
    let submission_id = created
        .get("submissionId")
        .and_then(Value::as_str)
        .ok_or_else(|| FitConnectError::Protocol { step, message: "no submissionId".into() })?;
    // The id becomes part of URLs: accept only what FIT-Connect issues, a UUID.
    let submission_id = Uuid::parse_str(submission_id)
        .map_err(|_| FitConnectError::Protocol { step, message: format!("submissionId {submission_id:?} is no UUID") })?
        .to_string();

    for a in &atts {
        let jwe = encrypt_jwe(&key, a.bytes, Some(&a.mime_type))?;
        let path = format!("/v1/submissions/{submission_id}/attachments/{}", a.id);
        let step = "upload attachment";
        let req = api.request(step, reqwest::Method::PUT, &path)?;
        let req = req.header(reqwest::header::CONTENT_TYPE, "application/jose");
        api.send(step, req.body(jwe)).await?;
    }

    let body = json!({
        "encryptedMetadata": encrypt_jwe(&key, &meta, Some("application/json"))?,
        "encryptedData": encrypt_jwe(&key, &data, Some("application/json"))?,
    });
    let path = format!("/v1/submissions/{submission_id}");
    api.send("submit", api.request("submit", reqwest::Method::PUT, &path)?.json(&body)).await?;
    Ok(submission_id)
}

/// One delivery's view of the Submission API.
struct Api<'a> {
    client: &'a reqwest::Client,
    policy: &'a Policy,
    base: &'a str,
    bearer: Option<String>,
    idempotency_key: &'a str,
}

impl Api<'_> {
    /// A request to the API, its URL checked by the policy (IP literals never reach
    /// the policy client's resolver).
    fn request(
        &self,
        step: &'static str,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, FitConnectError> {
        let url = self
            .policy
            .check(&format!("{}{path}", self.base))
            .map_err(|refusal| FitConnectError::Refused { step, refusal })?;
        Ok(self.decorate(self.client.request(method, url)))
    }

    fn decorate(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = req.timeout(REQUEST_TIMEOUT).header("Idempotency-Key", self.idempotency_key);
        match &self.bearer {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    async fn send(
        &self,
        step: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FitConnectError> {
        let resp = req.send().await.map_err(|e| transport(step, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(FitConnectError::Http { step, status: status.as_u16(), body: excerpt(&text) })
    }

    async fn json(&self, step: &'static str, req: reqwest::RequestBuilder) -> Result<Value, FitConnectError> {
        let resp = self.send(step, req).await?;
        let bytes = resp.bytes().await.map_err(|e| transport(step, &e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FitConnectError::Protocol { step, message: format!("not JSON: {e}") })
    }

    /// OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
    async fn fetch_token(
        &self,
        url: &str,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> Result<String, FitConnectError> {
        let step = "fetch access token";
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let url = self.policy.check(url).map_err(|refusal| FitConnectError::Refused { step, refusal })?;
        let req =
            self.client.post(url).timeout(REQUEST_TIMEOUT).header("Idempotency-Key", self.idempotency_key).form(&form);
        let answer = self.json(step, req).await?;
        if let Some(kind) = answer.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(FitConnectError::Protocol {
                step,
                message: format!("token_type is {kind:?}, expected Bearer"),
            });
        }
        answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| FitConnectError::Protocol { step, message: "no access_token".into() })
    }

    /// The destination names its current encryption key; fetch that key.
    /// Returns the key as received (for its certificate chain) and parsed.
    async fn fetch_key(&self, destination_id: &str) -> Result<(Value, PublicJwk), FitConnectError> {
        let step = "fetch destination";
        let path = format!("/v1/destinations/{destination_id}");
        let dest = self.json(step, self.request(step, reqwest::Method::GET, &path)?).await?;
        let kid = dest
            .get("encryptionKid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| FitConnectError::Protocol { step, message: "no encryptionKid".into() })?;
        // The kid goes into a URL path: keep it to the characters key ids use.
        if !kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(FitConnectError::Protocol {
                step,
                message: format!("encryptionKid {kid:?} has odd characters"),
            });
        }
        let step = "fetch encryption key";
        let path = format!("/v1/destinations/{destination_id}/keys/{kid}");
        let jwk = self.json(step, self.request(step, reqwest::Method::GET, &path)?).await?;
        let key = PublicJwk::from_value(&jwk)?;
        if key.kid() != kid {
            return Err(FitConnectError::Key(format!("the destination served key {:?} for kid {kid:?}", key.kid())));
        }
        Ok((jwk, key))
    }
}

fn transport(step: &'static str, e: &reqwest::Error) -> FitConnectError {
    FitConnectError::Transport { step, message: error_chain(e), class: Failure::of(e) }
}

/// reqwest's top-level message ("error sending request") hides the cause; the chain
/// names it ("connection refused", "certificate verify failed").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

pub(super) fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > BODY_EXCERPT_CHARS {
        let cut: String = flat.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else if flat.is_empty() {
        "(empty body)".into()
    } else {
        flat
    }
}
