//! Linking a citizen to a finance account (Personenkonto): the authority makes a
//! one-time activation code and sends it by letter to the taxpayer's address; the
//! citizen enters it in the account. Only the code's SHA-256 is stored. Wrong,
//! used and expired codes count as failures under `aktivierung:<citizen id>` in
//! `login_failures`, so guessing is throttled per citizen and per client.

use crate::{Portal, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::payment::{activation_code, normalize_activation_code};
use amtsweg_store::now_ms;
use amtsweg_store::payments::ActivationUse;
use sha2::{Digest, Sha256};

/// Failed activations of one citizen within an hour before more are refused.
pub const MAX_FAILURES_PER_HOUR: i64 = 5;
/// Failed activations from one client (for any citizen) within an hour.
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What entering an activation code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// Linked: the authority's name.
    Linked(String),
    /// No such code (or not a code at all).
    Wrong,
    /// Used already — or its account is linked to another citizen.
    Used,
    Expired,
    /// Too many failures: try again later.
    Throttled,
}

/// The key failures of a citizen's activations are counted under.
#[must_use]
pub fn failure_key(citizen_id: i64) -> String {
    format!("aktivierung:{citizen_id}")
}

/// The stored form of a code: SHA-256 (hex) of its normalised text.
#[must_use]
pub fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// Makes an activation code for the authority's finance account `account_ref`
/// (created when the finance software has not sent it yet), valid for
/// `valid_days` (1 to 365). Older unused codes of the account are revoked: only the
/// newest letter links. Returns the code — shown once, never stored — and when it
/// expires (ms).
///
/// # Errors
/// On store errors; a German message for a bad account or validity.
pub async fn create_activation_code(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    account_ref: &str,
    valid_days: i64,
) -> Result<std::result::Result<(String, i64), String>> {
    let account_ref = account_ref.trim();
    if account_ref.is_empty() || account_ref.chars().count() > 64 || account_ref.chars().any(char::is_control) {
        return Ok(Err("Das Personenkonto muss 1 bis 64 Zeichen lang sein.".into()));
    }
    if !(1..=365).contains(&valid_days) {
        return Ok(Err("Ein Aktivierungscode gilt 1 bis 365 Tage.".into()));
    }
    let random: [u8; 24] = rand::random();
    let code = activation_code(&random);
    let now = now_ms();
    let expires_at = now + valid_days * DAY_MS;
    let mut tx = portal.store.begin().await?;
    let account = tx.upsert_finance_account(authority_id, account_ref).await?;
    let revoked = tx.revoke_activation_codes(authority_id, account).await?;
    tx.insert_activation_code(authority_id, account, &code_hash(&code), expires_at, actor).await?;
    tx.append_audit(&AuditEntry {
        at: now,
        actor: actor.to_owned(),
        authority_id: Some(authority_id),
        action: "finance.activation_code".into(),
        target: format!("finance_account:{account}"),
        outcome: if revoked == 0 { "success".into() } else { format!("success revoked={revoked}") },
    })
    .await?;
    tx.commit().await?;
    Ok(Ok((code, expires_at)))
}

/// What [`unlink`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlinked {
    /// The account was linked to a citizen, and is no longer.
    pub unlinked: bool,
    /// Unused activation codes revoked.
    pub revoked_codes: u64,
}

/// Ends the link of the authority's finance account `account_ref` to its citizen
/// (`unlink`: the citizen no longer sees its claims, at once) and revokes its unused
/// activation codes (`revoke`) — for a letter that was lost or reached the wrong
/// person. Audited. `None` when the authority has no such account.
///
/// # Errors
/// On store errors.
pub async fn unlink(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    account_id: i64,
    unlink: bool,
    revoke: bool,
) -> Result<Option<Unlinked>> {
    let Some(account) = portal.store.finance_account_by_id(account_id).await? else { return Ok(None) };
    if account.authority_id != authority_id {
        return Ok(None);
    }
    let mut tx = portal.store.begin().await?;
    let unlinked = unlink && tx.unlink_finance_account(authority_id, account.id).await?;
    let revoked_codes = if revoke { tx.revoke_activation_codes(authority_id, account.id).await? } else { 0 };
    let target = format!("finance_account:{}", account.id);
    let now = now_ms();
    if unlinked {
        tx.append_audit(&AuditEntry {
            at: now,
            actor: actor.to_owned(),
            authority_id: Some(authority_id),
            action: "finance.unlink".into(),
            target: target.clone(),
            outcome: format!("success citizen={}", account.citizen_id.unwrap_or_default()),
        })
        .await?;
    }
    if revoked_codes > 0 {
        tx.append_audit(&AuditEntry {
            at: now,
            actor: actor.to_owned(),
            authority_id: Some(authority_id),
            action: "finance.activation_code.revoke".into(),
            target,
            outcome: format!("success revoked={revoked_codes}"),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Unlinked { unlinked, revoked_codes }))
}

/// A citizen enters an activation code (`client`: the stored form of the client,
/// for the limit per client). Linked once; wrong, used or expired codes count as
/// failures, and after [`MAX_FAILURES_PER_HOUR`] of the citizen (or
/// [`MAX_FAILURES_PER_CLIENT`] of the client) within an hour every try is refused
/// — even with the right code, so guessing gains nothing.
///
/// # Errors
/// On store errors.
pub async fn activate(portal: &Portal, citizen_id: i64, client: &str, code: &str) -> Result<Activation> {
    let key = failure_key(citizen_id);
    // The try is counted before it runs and taken back when it links (or is
    // refused): parallel tries then each see the others, so no more than the limit
    // of them get through — a check before and a count after would let all pass.
    let mut tx = portal.store.begin().await?;
    let counted = tx.record_try_from(&key, client).await?;
    tx.commit().await?;
    let since = now_ms() - HOUR_MS;
    if portal.store.failures_of(&key, since).await?.count > MAX_FAILURES_PER_HOUR
        || portal.store.failures_of_client("aktivierung:", client, since).await? > MAX_FAILURES_PER_CLIENT
    {
        let mut tx = portal.store.begin().await?;
        tx.withdraw_failure(counted).await?;
        tx.commit().await?;
        return Ok(Activation::Throttled);
    }
    let used = match normalize_activation_code(code) {
        None => ActivationUse::Unknown,
        Some(code) => {
            let mut tx = portal.store.begin().await?;
            let used = tx.use_activation_code(&code_hash(&code), citizen_id, now_ms()).await?;
            if let ActivationUse::Linked { authority_id, finance_account_id } = used {
                tx.withdraw_failure(counted).await?;
                tx.append_audit(&AuditEntry {
                    at: now_ms(),
                    actor: format!("citizen:{citizen_id}"),
                    authority_id: Some(authority_id),
                    action: "finance.link".into(),
                    target: format!("finance_account:{finance_account_id}"),
                    outcome: "success".into(),
                })
                .await?;
            }
            tx.commit().await?;
            used
        }
    };
    Ok(match used {
        ActivationUse::Linked { authority_id, .. } => {
            Activation::Linked(super::authority_name(portal, authority_id).await?)
        }
        ActivationUse::Unknown => Activation::Wrong,
        ActivationUse::Used | ActivationUse::LinkedElsewhere => Activation::Used,
        ActivationUse::Expired => Activation::Expired,
    })
}
