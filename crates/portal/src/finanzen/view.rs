//! What a citizen sees of the claims of linked finance accounts: per authority the
//! open ones (with due date and dunning level) and the settled ones, one claim with
//! its notices, bank details, GiroCode and whether it can be paid online, and the
//! notices to download again. Only claims of accounts linked to the citizen are
//! found; anyone else's answer is "none".

use super::{NOTICE_FILE, NOTICE_FILE_NAME, authority_name, open_title};
use crate::keyring::{authority_scope, record};
use crate::{Portal, Result};
use amtsweg_domain::payment::{Cents, ClaimState, InvoiceAccount, is_valid_rf, rf_printed};
use amtsweg_store::payments::{BookingRow, ClaimRow};
use serde::Serialize;

/// The open amount the portal shows: the finance software's open amount minus what
/// the portal booked on the claim since the claim was last synced, never below
/// zero. The finance software's next sync replaces the estimate.
#[must_use]
pub fn open_amount(c: &ClaimRow, bookings: &[BookingRow]) -> Cents {
    Cents(c.open_after(bookings))
}

/// One claim in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimSummary {
    pub id: i64,
    pub authority_id: i64,
    pub kassenzeichen: String,
    /// e.g. "Grundsteuer".
    pub kind: String,
    pub title: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    /// "15.05.2026".
    pub due_label: String,
    pub amount: Cents,
    /// "1.234,50 €".
    pub amount_label: String,
    /// Open as shown (see [`open_amount`]).
    pub open: Cents,
    pub open_label: String,
    /// Booked by the portal since the finance software's last sync.
    pub paid_since_sync: Cents,
    pub state: &'static str,
    /// The state in words; "Bezahlt – Buchung folgt" when the portal's payments cover
    /// what the finance software still has open.
    pub state_label: String,
    pub dunning_level: i64,
    /// Open and due before today.
    pub overdue: bool,
    /// Something may be paid on it now.
    pub payable: bool,
}

/// The claims of one authority's account(s) linked to the citizen.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorityClaims {
    pub authority_id: i64,
    pub authority_name: String,
    /// The linked accounts' references (Personenkonto).
    pub accounts: Vec<String>,
    /// Earliest due date first.
    pub open: Vec<ClaimSummary>,
    /// Newest due date first.
    pub settled: Vec<ClaimSummary>,
    pub open_total: Cents,
    pub open_total_label: String,
}

/// A notice of a claim.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeRef {
    pub id: i64,
    pub title: String,
    pub file_name: String,
    pub size: i64,
}

/// Money the portal booked on a claim.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimBooking {
    /// "16.05.2026".
    pub booked_on: String,
    pub amount_label: String,
    /// "online", "Überweisung", "vor Ort", "Erstattung".
    pub how: String,
}

/// One claim with everything to pay it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimView {
    pub claim: ClaimSummary,
    pub authority_name: String,
    /// "RF18 5390 0754 7034"; empty when the claim has none.
    pub rf_printed: String,
    pub notices: Vec<NoticeRef>,
    pub bookings: Vec<ClaimBooking>,
    /// The authority's account for transfers (its invoice connector), when it has one.
    pub bank: Option<InvoiceAccount>,
    /// IBAN in groups of four.
    pub iban_printed: String,
    /// GiroCode (SVG) for the open amount, when there is a bank account and
    /// something to pay.
    pub girocode_svg: Option<String>,
    /// The authority has an online payment connector and the claim can be paid.
    pub can_pay_online: bool,
}

fn date_label(iso: &str) -> String {
    iso.parse::<jiff::civil::Date>().map_or_else(|_| iso.to_owned(), |d| d.strftime("%d.%m.%Y").to_string())
}

async fn summary(portal: &Portal, c: &ClaimRow, bookings: &[BookingRow], today: jiff::civil::Date) -> ClaimSummary {
    let open = open_amount(c, bookings);
    let state = ClaimState::parse(&c.state).unwrap_or(ClaimState::Open);
    let paid_since_sync = c.booked_since_sync(bookings);
    let payable = state.is_payable() && open.0 > 0;
    let state_label = if state.is_payable() && open.0 == 0 {
        "Bezahlt – Buchung folgt".to_owned()
    } else if state == ClaimState::Dunning && c.dunning_level > 0 {
        format!("{} (Mahnstufe {})", state.label_de(), c.dunning_level)
    } else {
        state.label_de().to_owned()
    };
    let due = c.due_on.parse::<jiff::civil::Date>().ok();
    ClaimSummary {
        id: c.id,
        authority_id: c.authority_id,
        kassenzeichen: c.kassenzeichen.clone(),
        kind: c.kind.clone(),
        title: open_title(portal, c).await,
        due_on: c.due_on.clone(),
        due_label: date_label(&c.due_on),
        amount: Cents(c.amount_cents),
        amount_label: Cents(c.amount_cents).german(),
        open,
        open_label: open.german(),
        paid_since_sync: Cents(paid_since_sync.max(0)),
        state: state.as_str(),
        state_label,
        dunning_level: c.dunning_level,
        overdue: payable && due.is_some_and(|d| d < today),
        payable,
    }
}

fn today() -> jiff::civil::Date {
    crate::time::now_local().date()
}

/// The claims of every finance account linked to the citizen, per authority.
///
/// # Errors
/// On store errors.
pub async fn citizen_overview(portal: &Portal, citizen_id: i64) -> Result<Vec<AuthorityClaims>> {
    let accounts = portal.store.finance_accounts_of_citizen(citizen_id).await?;
    let claims = portal.store.claims_of_citizen(citizen_id).await?;
    let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    let bookings = portal.store.bookings_of_claims(&ids).await?;
    let today = today();
    let mut out: Vec<AuthorityClaims> = Vec::new();
    for a in &accounts {
        if let Some(g) = out.iter_mut().find(|g| g.authority_id == a.authority_id) {
            g.accounts.push(a.account_ref.clone());
            continue;
        }
        out.push(AuthorityClaims {
            authority_id: a.authority_id,
            authority_name: authority_name(portal, a.authority_id).await?,
            accounts: vec![a.account_ref.clone()],
            open: Vec::new(),
            settled: Vec::new(),
            open_total: Cents(0),
            open_total_label: String::new(),
        });
    }
    for c in &claims {
        let s = summary(portal, c, &bookings, today).await;
        let Some(g) = out.iter_mut().find(|g| g.authority_id == c.authority_id) else { continue };
        if s.payable {
            g.open_total = Cents(g.open_total.0 + s.open.0);
            g.open.push(s);
        } else {
            g.settled.push(s);
        }
    }
    for g in &mut out {
        g.open.sort_by(|a, b| a.due_on.cmp(&b.due_on).then(a.id.cmp(&b.id)));
        g.open_total_label = g.open_total.german();
    }
    Ok(out)
}

/// The GiroCode (SVG) for paying `open` on a claim to `bank`; `None` (logged)
/// when the account or amount does not fit a GiroCode.
fn girocode(bank: &InvoiceAccount, c: &ClaimRow, open: Cents) -> Option<String> {
    let rf = if is_valid_rf(&c.rf_reference) { c.rf_reference.as_str() } else { "" };
    crate::payments::girocode_svg(bank, open, rf, &c.kassenzeichen)
        .map_err(|e| tracing::warn!(error = %e, claim = c.id, "no GiroCode for a claim"))
        .ok()
}

fn how(b: &BookingRow) -> String {
    match b.source.as_str() {
        "online" => "online bezahlt".into(),
        "bank" => "Überweisung".into(),
        "counter" => "vor Ort bezahlt".into(),
        "refund" => "Erstattung".into(),
        _ => "Korrektur".into(),
    }
}

/// One claim of an account linked to the citizen, with its notices and how to pay
/// it; `None` for a claim that is not the citizen's.
///
/// # Errors
/// On store or crypto errors.
pub async fn claim_for_citizen(portal: &Portal, citizen_id: i64, claim_id: i64) -> Result<Option<ClaimView>> {
    let Some(c) = portal.store.claim_of_citizen(citizen_id, claim_id).await? else { return Ok(None) };
    let bookings = portal.store.bookings_of_claims(&[c.id]).await?;
    let s = summary(portal, &c, &bookings, today()).await;
    let scope = authority_scope(c.authority_id);
    let mut notices = Vec::new();
    for d in portal.store.claim_documents(c.id).await? {
        let file_name = portal
            .open_bound_text(&scope, NOTICE_FILE_NAME, &record::object(&d.object_key), &d.file_name)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "notice name does not open");
                "Bescheid.pdf".to_owned()
            });
        notices.push(NoticeRef { id: d.id, title: d.title, file_name, size: d.size });
    }
    let bank = if s.payable {
        crate::payments::invoice_account(portal, c.authority_id, None).await?.map(|(_, a)| a)
    } else {
        None
    };
    let girocode_svg = bank.as_ref().and_then(|b| girocode(b, &c, s.open));
    let online = crate::payments::online_connector(portal, c.authority_id, None).await?.is_some();
    let iban_printed = bank
        .as_ref()
        .map(|b| amtsweg_domain::payment::Iban::parse(&b.iban).map_or_else(|_| b.iban.clone(), |i| i.printed()))
        .unwrap_or_default();
    Ok(Some(ClaimView {
        can_pay_online: online && s.payable && s.open <= Cents::MAX_ONLINE,
        authority_name: authority_name(portal, c.authority_id).await?,
        rf_printed: if c.rf_reference.is_empty() { String::new() } else { rf_printed(&c.rf_reference) },
        notices,
        bookings: bookings
            .iter()
            .map(|b| ClaimBooking {
                booked_on: date_label(&b.booked_on),
                amount_label: Cents(b.amount_cents).german(),
                how: how(b),
            })
            .collect(),
        bank,
        iban_printed,
        girocode_svg,
        claim: s,
    }))
}

/// A notice of a claim of the citizen: its file name and the PDF; `None` when the
/// claim is not the citizen's or has no such notice.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn notice_for_citizen(
    portal: &Portal,
    citizen_id: i64,
    claim_id: i64,
    doc_id: i64,
) -> Result<Option<(String, Vec<u8>)>> {
    let Some(c) = portal.store.claim_of_citizen(citizen_id, claim_id).await? else { return Ok(None) };
    let Some(d) = portal.store.claim_documents(c.id).await?.into_iter().find(|d| d.id == doc_id) else {
        return Ok(None);
    };
    let scope = authority_scope(c.authority_id);
    let object = record::object(&d.object_key);
    let sealed = crate::files::get_sealed(portal, &d.object_key).await?;
    let bytes = portal.open_bound(&scope, NOTICE_FILE, &object, &sealed).await?;
    let name = portal.open_bound_text(&scope, NOTICE_FILE_NAME, &object, &d.file_name).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "notice name does not open");
        "Bescheid.pdf".to_owned()
    });
    Ok(Some((name, bytes)))
}
