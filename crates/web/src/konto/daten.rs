//! The citizen's personal data, sealed at rest (see `crate::crypto`): profile values
//! under the Verbund's key, Postfach subjects, texts, file names and files under the
//! key of the authority the thread is with.

use crate::AppState;
use crate::crypto::CryptoError;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};

/// Scope of what the citizen keeps for themselves (profile).
pub const CITIZEN_SCOPE: &str = "verbund";

#[must_use]
pub fn authority_scope(authority_id: i64) -> String {
    format!("authority:{authority_id}")
}

/// A profile value as the citizen sees it.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub field: String,
    pub value: String,
    pub source: ProfileSource,
    pub trust_level: String,
}

/// The profile, opened. A value that does not open is left out (and logged) rather
/// than failing the page.
///
/// # Errors
/// On store errors.
pub async fn profile(state: &AppState, citizen_id: i64) -> Result<Vec<ProfileEntry>, CryptoError> {
    let mut out = Vec::new();
    for v in state.store.profile(citizen_id).await? {
        match state.keyring.open_text(&state.store, CITIZEN_SCOPE, &format!("profile:{}", v.field), &v.value).await {
            Ok(value) => {
                out.push(ProfileEntry { source: v.source(), field: v.field, value, trust_level: v.trust_level })
            }
            Err(e) => tracing::error!(field = %v.field, error = %e, "profile value does not open"),
        }
    }
    Ok(out)
}

/// Seals a profile value for storing (before the write transaction starts: sealing
/// may create the data key in a transaction of its own).
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_profile_value(state: &AppState, field: ProfileField, value: &str) -> Result<String, CryptoError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    state.keyring.seal(&state.store, CITIZEN_SCOPE, &format!("profile:{}", field.key()), value.as_bytes()).await
}

/// Stores one profile value (sealed) in its own transaction.
///
/// # Errors
/// On store or crypto errors.
pub async fn set_profile(
    state: &AppState,
    citizen_id: i64,
    field: ProfileField,
    value: &str,
    source: &ProfileSource,
    trust: TrustLevel,
) -> Result<bool, CryptoError> {
    let sealed = seal_profile_value(state, field, value).await?;
    let mut tx = state.store.begin().await?;
    let done = tx.set_profile_value(citizen_id, field, &sealed, source, trust).await?;
    tx.commit().await?;
    Ok(done)
}

/// Seals a Postfach text (`purpose`: "subject", "message", "file_name") or file.
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_postfach(
    state_store: (&crate::crypto::Keyring, &amtsweg_store::Store),
    authority_id: i64,
    purpose: &str,
    plain: &[u8],
) -> Result<String, CryptoError> {
    let (keyring, store) = state_store;
    keyring.seal(store, &authority_scope(authority_id), &format!("postfach:{purpose}"), plain).await
}

/// Opens a Postfach text; a value that does not open shows as a notice.
pub async fn open_postfach_text(state: &AppState, authority_id: i64, purpose: &str, sealed: &str) -> String {
    match state
        .keyring
        .open_text(&state.store, &authority_scope(authority_id), &format!("postfach:{purpose}"), sealed)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(%purpose, error = %e, "Postfach value does not open");
            "(nicht lesbar)".to_owned()
        }
    }
}
