//! The citizen's profile, sealed at rest under the Verbund's key (see
//! [`crate::keyring`]): values the citizen typed and values an ID provider vouched for,
//! each with its source and trust level.

use crate::keyring::CITIZEN_SCOPE;
use crate::{Portal, Result};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};

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
pub async fn profile(portal: &Portal, citizen_id: i64) -> Result<Vec<ProfileEntry>> {
    let mut out = Vec::new();
    for v in portal.store.profile(citizen_id).await? {
        match portal.open_text(CITIZEN_SCOPE, &format!("profile:{}", v.field), &v.value).await {
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
pub async fn seal_value(portal: &Portal, field: ProfileField, value: &str) -> Result<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    portal.seal(CITIZEN_SCOPE, &format!("profile:{}", field.key()), value.as_bytes()).await
}

/// Stores one profile value (sealed) in its own transaction.
///
/// # Errors
/// On store or crypto errors.
pub async fn set(
    portal: &Portal,
    citizen_id: i64,
    field: ProfileField,
    value: &str,
    source: &ProfileSource,
    trust: TrustLevel,
) -> Result<bool> {
    let sealed = seal_value(portal, field, value).await?;
    let mut tx = portal.store.begin().await?;
    let done = tx.set_profile_value(citizen_id, field, &sealed, source, trust).await?;
    tx.commit().await?;
    Ok(done)
}
