//! Paying online through an XBezahldienste provider.
//!
//! Starting: an attempt is begun in the store first (locking the payment, so two
//! clicks start one attempt; an INITIAL attempt younger than 30 minutes is reused and
//! the citizen sent to its pay page again), then the transaction is created at the
//! provider and the citizen redirected there. A creation that gets no usable answer
//! abandons the attempt: the citizen never saw a pay page, so it cannot be paid.
//!
//! Returning: the provider sends the citizen to `{base}/zahlung/{secret}` — 32 random
//! bytes made for this attempt, of which the store keeps only the SHA-256, so a
//! forged or foreign address finds nothing. Query parameters the provider adds are
//! ignored: the state is only ever learnt by asking the provider (the standard has
//! no notification), once on return with a short timeout and otherwise by the
//! [`super::worker`]. Whatever the citizen does with the tab changes nothing.

use crate::tokens::{hash_token, random_token};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::payment::{Cents, ClaimState, PaymentStatus, ProviderStatus, xbezahl_description, xbezahl_purpose};
use amtsweg_handoff::payment::Gateway;
use amtsweg_handoff::payment::xbezahl::{
    Item, PaymentRequest, ProviderError, Requestor, RequestorAddress, TransactionStatus, XBezahlConfig,
};
use amtsweg_store::payments::{
    AttemptRow, BeginAttempt, KIND_XBEZAHLDIENSTE, NewAttempt, NewPayment, Observation, PaymentConnectorRow,
    PaymentRow, Recorded,
};
use std::time::Duration;

/// An INITIAL attempt younger than this is reused (its pay page is still valid).
pub const REUSE_MS: i64 = 30 * 60 * 1000;

/// How long the return page waits for the provider's answer before it says "we are
/// still checking" and leaves the rest to the worker.
pub const RETURN_CHECK: Duration = Duration::from_secs(5);

/// What starting a payment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Send the citizen to the provider's pay page.
    Redirect(String),
    /// Nothing (more) to pay.
    AlreadyPaid,
    /// Not possible now; the German reason for the citizen.
    Refused(String),
}

/// Where the citizen goes back to after paying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Back {
    Submission { authority_id: i64, submission_id: i64, form_token: String },
    Claim { claim_id: i64 },
}

/// What the return page learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub back: Back,
    /// The attempt's state now.
    pub status: ProviderStatus,
    /// Whether the provider was asked just now (false: it could not be asked, or the
    /// state was final already).
    pub checked: bool,
}

const NOT_ONLINE: &str = "Eine Online-Zahlung ist hier gerade nicht möglich. Bitte wenden Sie sich an die Behörde.";
const TRY_LATER: &str =
    "Der Bezahldienst ist gerade nicht erreichbar. Bitte versuchen Sie es in ein paar Minuten noch einmal.";
const IN_FLIGHT: &str = "Ihre Zahlung wird gerade vorbereitet. Bitte versuchen Sie es in einer Minute noch einmal.";

/// Starts (or resumes) paying the fee of the authority's submission online.
///
/// # Errors
/// On store errors.
pub async fn start_for_submission(
    portal: &Portal,
    gw: &Gateway,
    authority_id: i64,
    submission_id: i64,
) -> Result<Started> {
    let Some(p) = portal.store.payment_of_submission(authority_id, submission_id).await? else {
        return Ok(Started::Refused("Für diesen Antrag ist nichts zu bezahlen.".into()));
    };
    let Some(s) = portal.store.submission(authority_id, submission_id).await? else {
        return Err(PortalError::NotFound);
    };
    let title = s.title.clone();
    start(portal, gw, &p, Some(s.form_id), &title).await
}

/// Starts (or resumes) paying a claim of the citizen online: the open amount as the
/// portal knows it (the finance software's, less what was booked here since its last
/// sync). Another citizen's claim is not found.
///
/// # Errors
/// Not found; store errors.
pub async fn start_for_claim(portal: &Portal, gw: &Gateway, citizen_id: i64, claim_id: i64) -> Result<Started> {
    let claim = portal.store.claim_of_citizen(citizen_id, claim_id).await?.ok_or(PortalError::NotFound)?;
    let Some((connector, _)) = super::online_connector(portal, claim.authority_id, None).await? else {
        return Ok(Started::Refused(NOT_ONLINE.into()));
    };
    let settings = super::settings::load(portal, claim.authority_id).await?;
    let booking = super::plan::Booking { leika: String::new(), data: settings.booking_data("", &claim.kassenzeichen) };
    let booking = serde_json::to_string(&booking).map_err(|e| PortalError::Internal(e.to_string()))?;
    // Found or made under the claim's lock: two clicks (two tabs) at once get one
    // payment, whose own lock then starts one attempt.
    let mut tx = portal.store.begin().await?;
    let locked = tx.claim_for_payment(claim.authority_id, claim.id).await?.ok_or(PortalError::NotFound)?;
    let claim = locked.claim;
    if !ClaimState::parse(&claim.state).is_some_and(ClaimState::is_payable) {
        return Ok(Started::Refused("Diese Forderung ist nicht mehr offen.".into()));
    }
    let open = locked.open_cents;
    if open == 0 {
        return Ok(Started::AlreadyPaid);
    }
    let reusable = locked.open_payment.filter(|p| p.amount_cents == open && p.paid_cents == 0);
    let p = match reusable {
        Some(p) => p,
        None => {
            let new = NewPayment {
                authority_id: claim.authority_id,
                mode: amtsweg_domain::payment::PayMode::Forderung.as_str().into(),
                connector_id: Some(connector.id),
                kassenzeichen: claim.kassenzeichen.clone(),
                rf_reference: claim.rf_reference.clone(),
                purpose: claim.kind.clone(),
                amount_cents: open,
                booking,
                due_on: claim.due_on.clone(),
                expires_at: None,
                citizen_id: Some(citizen_id),
                hold: false,
            };
            let id = tx.insert_claim_payment(&new, claim.id).await?;
            tx.lock_payment(claim.authority_id, id).await?.ok_or(PortalError::NotFound)?
        }
    };
    tx.commit().await?;
    start(portal, gw, &p, None, &claim.kind).await
}

/// The XBezahldienste connector for a payment: its own when that is an active one,
/// else the authority's for the form.
async fn connector_for(
    portal: &Portal,
    p: &PaymentRow,
    form_id: Option<i64>,
) -> Result<Option<(PaymentConnectorRow, XBezahlConfig)>> {
    if let Some(id) = p.connector_id
        && let Some(c) = portal.store.payment_connector(id).await?
        && c.authority_id == p.authority_id
        && c.kind == KIND_XBEZAHLDIENSTE
        && c.active == 1
        && let Some(cfg) = super::xbezahl_config(portal, &c).await
    {
        return Ok(Some((c, cfg)));
    }
    super::online_connector(portal, p.authority_id, form_id).await
}

/// `[A-Za-z0-9_-]`, at most 36: the standard's ids (item reference).
fn standard_id(s: &str) -> String {
    let id: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).take(36).collect();
    if id.is_empty() { "1".into() } else { id }
}

/// A booking data value as the standard allows it (`[\w\d\s-,.À-ſ]`).
fn booking_value(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ',' | '.' | ' ' | '\u{C0}'..='\u{17F}') {
                c
            } else {
                '-'
            }
        })
        .take(250)
        .collect::<String>()
        .trim()
        .to_owned()
}

async fn start(portal: &Portal, gw: &Gateway, p: &PaymentRow, form_id: Option<i64>, title: &str) -> Result<Started> {
    match PaymentStatus::parse(&p.status) {
        Some(PaymentStatus::Paid) => return Ok(Started::AlreadyPaid),
        Some(PaymentStatus::Open | PaymentStatus::PartlyPaid) => {}
        _ => return Ok(Started::Refused("Diese Zahlung ist nicht mehr möglich: die Frist ist abgelaufen.".into())),
    }
    let open = Cents(p.amount_cents - p.paid_cents);
    if open.0 <= 0 {
        return Ok(Started::AlreadyPaid);
    }
    if open > Cents::MAX_ONLINE {
        return Ok(Started::Refused(NOT_ONLINE.into()));
    }
    let Some((connector, cfg)) = connector_for(portal, p, form_id).await? else {
        return Ok(Started::Refused(NOT_ONLINE.into()));
    };
    let client = match gw.client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(connector = connector.id, error = %e, "payment connector unusable");
            return Ok(Started::Refused(NOT_ONLINE.into()));
        }
    };
    let secret = random_token();
    let return_hash = hash_token(&secret);
    let request_id = format!("aw-{}-{}", p.id, &hex::encode(rand::random::<[u8; 6]>()));
    let mut tx = portal.store.begin().await?;
    let begun = tx
        .begin_attempt(&NewAttempt {
            payment_id: p.id,
            authority_id: p.authority_id,
            connector_id: connector.id,
            request_id: &request_id,
            return_hash: &return_hash,
            amount_cents: open.0,
            reuse_younger_than_ms: REUSE_MS,
        })
        .await?;
    tx.commit().await?;
    let attempt = match begun {
        BeginAttempt::Created(a) => a,
        BeginAttempt::Running(a) if !a.transaction_url.is_empty() => return Ok(Started::Redirect(a.transaction_url)),
        BeginAttempt::Running(_) => return Ok(Started::Refused(IN_FLIGHT.into())),
        BeginAttempt::NotPayable(s) if s == PaymentStatus::Paid.as_str() => return Ok(Started::AlreadyPaid),
        BeginAttempt::NotPayable(_) => {
            return Ok(Started::Refused("Diese Zahlung ist nicht mehr möglich.".into()));
        }
    };
    let purpose_text = if p.purpose.is_empty() { title } else { p.purpose.as_str() };
    let authority = portal.catalogue().authority(p.authority_id).map(|a| a.name.clone()).unwrap_or_default();
    let booking = super::plan::Booking::of(&p.booking)
        .data
        .into_iter()
        .filter(|(k, _)| !k.trim().is_empty() && k.len() <= 64)
        .map(|(k, v)| (k, booking_value(&v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let request = PaymentRequest {
        request_id,
        timestamp_ms: amtsweg_store::now_ms(),
        amount: open,
        purpose: xbezahl_purpose(&p.kassenzeichen, purpose_text),
        description: xbezahl_description(&format!("{purpose_text}, {authority}")),
        redirect_url: format!("{}/zahlung/{secret}", portal.settings.base_url()),
        items: vec![Item {
            id: "1".into(),
            reference: standard_id(&p.kassenzeichen),
            description: xbezahl_description(purpose_text),
            quantity: 1,
            tax_rate_percent: 0,
            single_net: open,
            single_tax: Cents(0),
            booking,
        }],
        requestor: if cfg.send_requestor { requestor(portal, p.citizen_id).await? } else { None },
    };
    let sent_at = amtsweg_store::now_ms();
    match client.create(&request).await {
        Ok(created) => {
            let mut tx = portal.store.begin().await?;
            let stored =
                tx.attempt_created(attempt.id, &created.transaction_id, &created.transaction_url, sent_at).await;
            match stored {
                Ok(true) => {
                    tx.commit().await?;
                    Ok(Started::Redirect(created.transaction_url))
                }
                Ok(false) => Ok(Started::Refused(TRY_LATER.into())),
                Err(e) => {
                    // A transaction id the provider gave another attempt: never trusted.
                    drop(tx);
                    tracing::error!(attempt = attempt.id, error = %e, "provider answered a known transaction id");
                    abandon(portal, attempt.id, "transaction id already known").await?;
                    Ok(Started::Refused(TRY_LATER.into()))
                }
            }
        }
        Err(e) => {
            tracing::warn!(attempt = attempt.id, connector = connector.id, error = %e, "payment creation failed");
            abandon(portal, attempt.id, &e.german()).await?;
            Ok(Started::Refused(match e {
                ProviderError::Unavailable(_) | ProviderError::Garbage(_) => TRY_LATER.into(),
                _ => NOT_ONLINE.into(),
            }))
        }
    }
}

/// The person paying, from the profile of the citizen's account — only for a
/// connector that asks for it (`send_requestor`), and only when the profile has a
/// family name. Anonymous applicants are never named: their answers stay sealed.
async fn requestor(portal: &Portal, citizen_id: Option<i64>) -> Result<Option<Requestor>> {
    use amtsweg_domain::konto::ProfileField as F;
    let Some(id) = citizen_id else { return Ok(None) };
    let profile = crate::profile::profile(portal, id).await?;
    let get = |f: F| profile.iter().find(|e| e.field == f.key()).map(|e| e.value.trim().to_owned()).unwrap_or_default();
    let name = get(F::FamilyName);
    if name.is_empty() {
        return Ok(None);
    }
    let (street, plz, city) = (get(F::Street), get(F::Plz), get(F::City));
    let address = (!street.is_empty() && !plz.is_empty() && !city.is_empty()).then(|| {
        // "Große Straße 12a": the house number is the last word when it starts with a digit.
        let (road, number) = match street.rsplit_once(' ') {
            Some((road, n)) if n.starts_with(|c: char| c.is_ascii_digit()) => (road.trim().to_owned(), n.to_owned()),
            _ => (street.clone(), String::new()),
        };
        RequestorAddress { street: road, house_number: number, postal_code: plz, city, country: "DE".into() }
    });
    Ok(Some(Requestor {
        name,
        first_name: get(F::GivenName),
        is_organization: false,
        organization_name: String::new(),
        address,
    }))
}

async fn abandon(portal: &Portal, attempt_id: i64, why: &str) -> Result<()> {
    let mut tx = portal.store.begin().await?;
    tx.abandon_attempt(attempt_id, why).await?;
    tx.commit().await?;
    Ok(())
}

/// The citizen came back from the provider with `secret`. `None`: no attempt has
/// that secret (forged, foreign or mistyped) — answer 404.
///
/// # Errors
/// On store errors.
pub async fn on_return(portal: &Portal, gw: &Gateway, secret: &str) -> Result<Option<Returned>> {
    let well_formed = secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Ok(None);
    }
    let Some(a) = portal.store.attempt_by_return_hash(&hash_token(secret)).await? else { return Ok(None) };
    let Some(p) = portal.store.payment(a.authority_id, a.payment_id).await? else { return Ok(None) };
    let back = match (p.submission_id, p.claim_id) {
        (Some(sid), _) => {
            let Some(s) = portal.store.submission(p.authority_id, sid).await? else { return Ok(None) };
            Back::Submission { authority_id: p.authority_id, submission_id: sid, form_token: s.form_token }
        }
        (None, Some(claim_id)) => Back::Claim { claim_id },
        (None, None) => return Ok(None),
    };
    let stored = ProviderStatus::parse(&a.provider_status).unwrap_or(ProviderStatus::New);
    if stored.is_final() || a.transaction_id.is_none() {
        return Ok(Some(Returned { back, status: stored, checked: false }));
    }
    let asked = check(portal, gw, &a, RETURN_CHECK).await?;
    Ok(Some(match asked {
        Some(r) => Returned { back, status: r.status, checked: true },
        None => Returned { back, status: stored, checked: false },
    }))
}

/// Asks the provider for the attempt's state (within `limit`) and records it.
/// `None` when the provider could not be asked or answered nothing usable (logged;
/// the worker asks again).
pub(crate) async fn check(portal: &Portal, gw: &Gateway, a: &AttemptRow, limit: Duration) -> Result<Option<Recorded>> {
    match ask(portal, gw, a, limit).await? {
        Ok((ts, sent_at)) => Ok(Some(observe(portal, a, &ts, sent_at).await?)),
        Err(e) => {
            tracing::info!(attempt = a.id, error = %e, "payment state not learnt");
            Ok(None)
        }
    }
}

/// The provider's answer about an attempt with the time our request was sent; the
/// error (German, for staff) when there is none.
pub(crate) async fn ask(
    portal: &Portal,
    gw: &Gateway,
    a: &AttemptRow,
    limit: Duration,
) -> Result<std::result::Result<(TransactionStatus, i64), String>> {
    let Some(txid) = a.transaction_id.as_deref() else { return Ok(Err("Keine Transaktion beim Bezahldienst.".into())) };
    let Some(c) = portal.store.payment_connector(a.connector_id).await? else {
        return Ok(Err("Die Verbindung zum Bezahldienst gibt es nicht mehr.".into()));
    };
    let Some(cfg) = super::xbezahl_config(portal, &c).await else {
        return Ok(Err("Die Einstellungen der Verbindung zum Bezahldienst sind nicht lesbar.".into()));
    };
    let client = match gw.client(&cfg) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e.german())),
    };
    let sent_at = amtsweg_store::now_ms();
    Ok(match tokio::time::timeout(limit, client.status(txid)).await {
        Ok(Ok(ts)) => Ok((ts, sent_at)),
        Ok(Err(e)) => Err(e.german()),
        Err(_) => Err("Der Bezahldienst hat nicht rechtzeitig geantwortet.".into()),
    })
}

/// Records what the provider said (seen when our request was sent): merges, books a
/// PAYED once and releases a held application with its notice, all in one
/// transaction.
pub(crate) async fn observe(portal: &Portal, a: &AttemptRow, ts: &TransactionStatus, sent_at: i64) -> Result<Recorded> {
    let mail = if ts.status == ProviderStatus::Payed { release_mail(portal, a).await? } else { None };
    let mut tx = portal.store.begin().await?;
    let recorded = tx
        .record_observation(
            &Observation {
                attempt_id: a.id,
                status: ts.status,
                seen_at: sent_at,
                transaction_reference: &ts.transaction_reference,
                payment_method: &ts.payment_method,
                reported_cents: ts.gros_amount.map(|c| c.0),
            },
            mail.as_ref(),
        )
        .await?;
    tx.commit().await?;
    if let Some(b) = &recorded.booked
        && let Some(sid) = b.released
    {
        tracing::info!(submission = sid, attempt = a.id, "paid application released");
    }
    Ok(recorded)
}

/// The notice for a release, when the attempt's payment holds an application.
async fn release_mail(portal: &Portal, a: &AttemptRow) -> Result<Option<amtsweg_store::outbox::EmailMessage>> {
    match portal.store.payment(a.authority_id, a.payment_id).await? {
        Some(p) => super::mail::release_notice(portal, &p).await,
        None => Ok(None),
    }
}
