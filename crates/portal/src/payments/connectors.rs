//! The authority's payment connectors (table `payment_connectors`): their settings
//! hold secrets (OAuth2 client secret, client certificate key, webhook secret) and
//! are sealed under the authority's key, bound to the connector's id — a sealed value
//! copied to another connector does not open. Kept apart from the hand-off
//! connectors, so a payment provider never becomes a delivery target.
//!
//! Checking a configuration is the caller's (`PaymentTarget::parse` with the outbound
//! policy, then `check_resolved`), before it is stored here.

use crate::keyring::{authority_scope, record};
use crate::{Portal, Result};
use amtsweg_store::payments::PaymentConnectorRow;

/// Purpose payment connector settings are sealed for (bound to the connector's id).
pub(crate) const CONFIG: &str = "payment-connector:config";

/// Seals the settings `json` of payment connector `id` of the authority.
///
/// # Errors
/// On crypto or store errors.
pub async fn seal_config(portal: &Portal, authority_id: i64, id: i64, json: &str) -> Result<String> {
    portal.seal_bound(&authority_scope(authority_id), CONFIG, &record::payment_connector(id), json.as_bytes()).await
}

/// Adds an (active) payment connector of `kind` with its settings `json`: inserted
/// first, as the settings are bound to the id the insert gives, then sealed and
/// stored in the same transaction. Returns the new id.
///
/// # Errors
/// On crypto or store errors.
pub async fn add(
    portal: &Portal,
    authority_id: i64,
    form_id: Option<i64>,
    kind: &str,
    name: &str,
    json: &str,
) -> Result<i64> {
    // The data key exists before the transaction: sealing inside it needs no other.
    portal.keyring.ready(&portal.store, &authority_scope(authority_id)).await?;
    let mut tx = portal.store.begin().await?;
    let id = tx.insert_payment_connector(authority_id, form_id, kind, name, "").await?;
    let sealed = seal_config(portal, authority_id, id, json).await?;
    tx.update_payment_connector(authority_id, id, form_id, name, &sealed).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a payment connector of the authority (form, name, settings). False when
/// the authority has no such connector.
///
/// # Errors
/// On crypto or store errors.
pub async fn update(
    portal: &Portal,
    authority_id: i64,
    id: i64,
    form_id: Option<i64>,
    name: &str,
    json: &str,
) -> Result<bool> {
    let sealed = seal_config(portal, authority_id, id, json).await?;
    let mut tx = portal.store.begin().await?;
    let changed = tx.update_payment_connector(authority_id, id, form_id, name, &sealed).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Opens a payment connector's settings.
///
/// # Errors
/// When they do not open (wrong key, changed data, copied from another connector).
pub async fn open_config(portal: &Portal, c: &PaymentConnectorRow) -> Result<String> {
    portal.open_bound_text(&authority_scope(c.authority_id), CONFIG, &record::payment_connector(c.id), &c.config).await
}
