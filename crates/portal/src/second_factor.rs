//! TOTP secrets at rest: sealed under the Verbund's key and bound to the row that
//! holds them (a staff member, a citizen, or the session an enrolment waits in), so
//! a database copy does not hand out second factors and a secret copied onto
//! another account does not open. Secrets written in clear by older versions are
//! sealed at start-up ([`seal_clear_secrets`]); until then they are read as they are.

use crate::keyring::{CITIZEN_SCOPE, Keyring};
use crate::{Portal, Result};
use amtsweg_store::Store;
pub use amtsweg_store::second_factor::TotpHolder;

const PURPOSE: &str = "totp";

fn record(holder: &TotpHolder) -> String {
    match holder {
        TotpHolder::Staff(id) => format!("staff:{id}"),
        TotpHolder::Citizen(id) => format!("citizen:{id}"),
        TotpHolder::Enrolment(hash) => format!("session:{hash}"),
    }
}

/// Seals a Base32 secret for storing it at `holder`.
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_secret(portal: &Portal, holder: &TotpHolder, secret: &str) -> Result<String> {
    portal.seal_bound(CITIZEN_SCOPE, PURPOSE, &record(holder), secret.as_bytes()).await
}

/// The Base32 secret stored at `holder`; a clear one (older versions) as it is.
///
/// # Errors
/// When a sealed secret does not open (changed, copied from another row).
pub async fn open_secret(portal: &Portal, holder: &TotpHolder, stored: &str) -> Result<String> {
    if !Keyring::is_sealed(stored) {
        return Ok(stored.to_owned());
    }
    portal.open_bound_text(CITIZEN_SCOPE, PURPOSE, &record(holder), stored).await
}

/// Seals every secret still stored in clear; idempotent (sealed ones are left as
/// they are) and safe with several nodes starting at once. Returns how many.
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_clear_secrets(store: &Store, keyring: &Keyring) -> Result<usize> {
    let mut sealed = 0;
    for s in store.totp_secrets().await? {
        if Keyring::is_sealed(&s.value) {
            continue;
        }
        let new = keyring.seal_bound(store, CITIZEN_SCOPE, PURPOSE, &record(&s.holder), s.value.as_bytes()).await?;
        let mut tx = store.begin().await?;
        if tx.replace_totp_secret(&s.holder, &s.value, &new).await? {
            sealed += 1;
        }
        tx.commit().await?;
    }
    if sealed > 0 {
        tracing::info!(secrets = sealed, "second-factor secrets stored in clear were sealed");
    }
    Ok(sealed)
}
