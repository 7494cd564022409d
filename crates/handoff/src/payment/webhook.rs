//! The poke to the finance software (connector kind `finanzen_webhook`): "new
//! payments are there, up to sequence number N". It carries no payment data — the
//! receiver fetches them through `GET /api/v1/zahlungen?seit=` with its own
//! credentials — so a wrong or leaked webhook address discloses nothing.

use crate::deliver::{Failure, WebhookTarget, http_outcome, signature};
use amtsweg_outbound::{Failure as Class, Policy};
use std::time::Duration;

/// How long a poke may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The body of a poke.
#[must_use]
pub fn body(authority_slug: &str, last_seq: i64) -> serde_json::Value {
    serde_json::json!({"event": "payments.available", "authority": authority_slug, "last_seq": last_seq})
}

/// Sends the poke, signed like the submission webhook (`X-Amtsweg-Signature`).
///
/// # Errors
/// The classified failure (staff-readable, German) with the receiver's
/// `Retry-After`; `permanent` when trying again cannot help.
pub async fn poke(policy: &Policy, t: &WebhookTarget, authority_slug: &str, last_seq: i64) -> Result<(), Failure> {
    let fail = |message: String, permanent: bool| Failure { message, retry_after: None, permanent };
    let url = policy.check(&t.url).map_err(|r| fail(format!("Webhook: {}", r.german()), true))?;
    let body = serde_json::to_vec(&body(authority_slug, last_seq)).map_err(|e| fail(e.to_string(), false))?;
    let sig = signature(&t.secret, jiff::Timestamp::now().as_second(), &body).map_err(|e| fail(e, false))?;
    let client = policy
        .client_builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Amtsweg/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fail(e.to_string(), false))?;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("idempotency-key", format!("payments-{authority_slug}-{last_seq}"))
        .header("x-amtsweg-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let class = Class::of(&e);
            tracing::warn!(error = %amtsweg_outbound::chain(&e), "finance webhook failed");
            fail(format!("Webhook: {}", class.german()), class == Class::NotAllowed)
        })?;
    match http_outcome(resp).await {
        Ok(_) => Ok(()),
        Err((f, detail)) => {
            tracing::warn!(error = %detail, "finance webhook refused");
            Err(f)
        }
    }
}
