//! Paying the fee of an application: the payment part of the receipt page (state,
//! Kassenzeichen, bank details with GiroCode, the "Jetzt bezahlen" button), starting
//! an online payment from there, and the page the payment provider sends the citizen
//! back to (`/zahlung/<secret>`).
//!
//! The provider never tells us anything on its own (XBezahldienste has no
//! notification): the return page asks it once, and the poll worker keeps asking
//! until the attempt is final. So the return page only reports what is known; a
//! citizen who never comes back is served all the same.

use super::journey::{Journey, own_submission};
use crate::AppState;
use crate::error::AppError;
use crate::render::{Crumb, base_context, render_page};
use amtsweg_domain::payment::ProviderStatus;
use amtsweg_handoff::payment::Gateway;
use amtsweg_portal::payments::online::{self, Back, Started};
use amtsweg_portal::payments::view::PaymentView;
use axum::Form as PostForm;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use std::time::Duration;

/// How long creating a transaction at the provider may take while the citizen waits.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The gateway to the payment providers under the portal's outbound policy.
///
/// Made per request: it caches its HTTP clients and OAuth2 tokens only for its own
/// lifetime, so a process-wide one (in the application state) would save a token
/// request per payment started — worth it once payments are frequent.
pub(crate) fn gateway(state: &AppState) -> Gateway {
    Gateway::new(state.config.connectors.outbound.clone(), CREATE_TIMEOUT)
}

/// The query word the return page adds to the receipt, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Paid,
    Cancelled,
    Failed,
    /// Not known yet: the provider still says INITIAL, or could not be asked.
    Pending,
}

impl Outcome {
    fn of(status: ProviderStatus) -> Self {
        match status {
            ProviderStatus::Payed => Self::Paid,
            ProviderStatus::Canceled => Self::Cancelled,
            ProviderStatus::Failed | ProviderStatus::Abandoned => Self::Failed,
            ProviderStatus::New | ProviderStatus::Initial => Self::Pending,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Paid => "bezahlt",
            Self::Cancelled => "abgebrochen",
            Self::Failed => "fehlgeschlagen",
            Self::Pending => "offen",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [Self::Paid, Self::Cancelled, Self::Failed, Self::Pending].into_iter().find(|o| o.word() == word)
    }

    /// From the `zahlung` parameter of a query (anything else in it is ignored).
    pub(crate) fn in_query(query: Option<&str>) -> Option<Self> {
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "zahlung")
            .and_then(|(_, v)| Self::parse(&v))
    }

    /// What to say about a payment now in the state `status` (`PaymentStatus` as
    /// text) after the return page reported `self`: the stored state wins where they
    /// differ (the worker may have learnt more since, or the payment awaits review).
    pub(crate) fn given(self, status: &str) -> Self {
        match (self, status) {
            (_, "paid") => Self::Paid,
            (Self::Paid, _) => Self::Pending,
            (o, _) => o,
        }
    }

    /// What the page says after the citizen came back: the kind of alert, its title
    /// and text.
    pub(crate) fn notice(self) -> Value {
        let (kind, title, text) = match self {
            Self::Paid => (
                "success",
                "Vielen Dank – Ihre Zahlung ist eingegangen",
                "Der Bezahldienst hat Ihre Zahlung bestätigt. Den aktuellen Stand sehen Sie unten.",
            ),
            Self::Cancelled => (
                "warning",
                "Sie haben die Zahlung abgebrochen",
                "Es wurde nichts bezahlt. Sie können es unten noch einmal versuchen.",
            ),
            Self::Failed => (
                "warning",
                "Die Zahlung hat nicht geklappt",
                "Es wurde nichts bezahlt. Sie können es unten noch einmal versuchen, auch mit einer anderen Zahlungsart.",
            ),
            Self::Pending => (
                "info",
                "Wir prüfen Ihre Zahlung noch",
                "Der Bezahldienst hat uns das Ergebnis noch nicht mitgeteilt. Wir fragen regelmäßig nach; Sie erhalten eine E-Mail, sobald die Zahlung eingegangen ist.",
            ),
        };
        context! { kind, title, text }
    }
}

/// The token of the "Jetzt bezahlen" form on a receipt: the session's for a
/// signed-in citizen, else tied to this browser's draft cookie and the form token
/// (the receipt of an anonymous application opens only in the browser that sent it).
/// `None` when neither exists (the page then offers no button).
pub(crate) fn pay_csrf(state: &AppState, j: &Journey, token: &str) -> Result<Option<String>, AppError> {
    if let Some(c) = &j.citizen {
        return Ok(Some(c.session.record.csrf_token.clone()));
    }
    match j.browser.as_deref() {
        Some(b) => Ok(Some(state.portal.keyring.mac(&format!("antrag-zahlung|{b}|{token}"))?)),
        None => Ok(None),
    }
}

/// The payment part of a page: the view plus, when it can be paid online and the
/// page may offer it, the form to start paying (`action`, `csrf`).
pub(crate) fn payment_context(p: &PaymentView, pay: Option<(String, String)>) -> Value {
    let pay = pay.filter(|_| p.can_pay_online).map(|(action, csrf)| context! { action, csrf });
    let bic = p.bank.as_ref().map(|b| b.bic.trim().to_owned()).unwrap_or_default();
    let recipient = p.bank.as_ref().map(|b| b.recipient.trim().to_owned()).unwrap_or_default();
    let partly = p.paid_cents > 0 && p.open_cents > 0;
    context! {
        p => Value::from_serialize(p),
        girocode => p.girocode_svg.clone().map(Value::from_safe_string),
        recipient, bic, partly, pay,
        // What to write in the transfer's reference: the RF reference when there is one.
        reference => if p.rf.is_empty() { p.kassenzeichen.clone() } else { p.rf.clone() },
        at_counter => p.mode == "vor_ort" && p.open_cents > 0,
        refunds => p.refunds.iter().filter(|r| r.status != "failed").map(Value::from_serialize).collect::<Vec<_>>(),
    }
}

/// Lets a page's "Jetzt bezahlen" form continue at the provider: Chromium applies
/// `form-action` to every redirect after a form is sent, and the answer to the form
/// is a redirect to the provider's pay page.
pub(crate) fn allow_provider(r: Response, p: Option<&PaymentView>) -> Response {
    match p.filter(|p| p.can_pay_online).and_then(|p| p.provider_origin.clone()) {
        Some(origin) => crate::security::allow_form_targets(r, &[origin]),
        None => r,
    }
}

/// `POST /o/<slug>/antrag/<form>/eingang/<token>/bezahlen`: starts (or resumes)
/// paying the fee online and sends the citizen to the provider's pay page. Only
/// the citizen or browser the receipt belongs to may; anyone else gets 404.
pub(crate) async fn pay(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<crate::csrf::CsrfField>,
) -> Result<Response, AppError> {
    let s = own_submission(&state, &mut j, &token).await?;
    let expected = pay_csrf(&state, &j, &token)?.ok_or(AppError::Forbidden)?;
    crate::csrf::check(&headers, &expected, &f.csrf)?;
    let receipt = j.receipt_url(&token);
    match online::start_for_submission(&state.portal, &gateway(&state), s.authority_id, s.id).await? {
        Started::Redirect(url) => Ok(Redirect::to(&url).into_response()),
        Started::AlreadyPaid => Ok(Redirect::to(&format!("{receipt}?zahlung=bezahlt#zahlung")).into_response()),
        Started::Refused(message) => super::eingang::receipt_with_error(&state, j, &headers, &token, message).await,
    }
}

/// `GET /zahlung/<secret>`: the provider sends the citizen back here. The provider
/// is asked once (briefly); a final answer leads to the receipt or claim with a
/// notice, anything else to a page that says the payment is still being checked.
/// An address that is not one of ours is not found — nothing else is revealed.
pub(crate) async fn returned(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let r = online::on_return(&state.portal, &gateway(&state), &secret).await?.ok_or(AppError::NotFound)?;
    let outcome = Outcome::of(r.status);
    let (target, authority, elsewhere) = match &r.back {
        Back::Submission { authority_id, submission_id, form_token } => {
            let c = state.catalogue();
            let authority = c.authority(*authority_id).cloned();
            let s = state.store.submission(*authority_id, *submission_id).await?.ok_or(AppError::NotFound)?;
            let form = c.form_by_id(*authority_id, s.form_id);
            let target = match (&authority, form) {
                (Some(a), Some(f)) => format!("/o/{}/antrag/{}/eingang/{form_token}", a.slug, f.slug),
                // A form no longer offered: the application is still in the account.
                _ => format!("/konto/antraege/{submission_id}"),
            };
            let elsewhere = match &authority {
                // A citizen's application opens wherever they sign in.
                Some(a) if s.citizen_id.is_none() && !may_open_here(&state, &headers, &s).await? => {
                    own_host(&state, &headers, a)
                }
                _ => None,
            };
            (target, authority, elsewhere)
        }
        Back::Claim { claim_id } => (format!("/konto/finanzen/{claim_id}"), None, None),
    };
    // The provider sends everyone back to the central address; an application made
    // without an account on the authority's own host opens only there (its browser
    // cookie belongs to that host), so continue there.
    let back = match elsewhere {
        Some(origin) => format!("{origin}{target}"),
        None => target.clone(),
    };
    let mut response = if outcome == Outcome::Pending {
        pending_page(&state, &headers, authority.as_ref(), &target, &back)?
    } else {
        Redirect::to(&format!("{back}?zahlung={}#zahlung", outcome.word())).into_response()
    };
    // The secret is in this address: it must not travel on, nor be kept.
    let h = response.headers_mut();
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Whether this browser may open the application's receipt on this host: its
/// citizen's session, or the browser cookie it was sent with (what the receipt
/// page itself checks, see `Journey::may_access`).
async fn may_open_here(
    state: &AppState,
    headers: &HeaderMap,
    s: &amtsweg_store::submissions::SubmissionRow,
) -> Result<bool, AppError> {
    if let Some(session) = crate::session::current(state, headers, "citizen").await?
        && s.citizen_id == Some(session.record.subject_id)
    {
        return Ok(true);
    }
    let cookie = crate::session::cookie_value(headers, super::DRAFT_COOKIE);
    Ok(!s.browser_hash.is_empty()
        && cookie.is_some_and(|b| crate::session::tokens_match(&crate::session::hash_token(b), &s.browser_hash)))
}

/// The origin of the authority's own host name (`https://moorbrueck.example`, with
/// the port member hosts are served on) when it has one and this request did not
/// come to it.
fn own_host(state: &AppState, headers: &HeaderMap, a: &amtsweg_domain::Authority) -> Option<String> {
    let host = a.hosts.first()?;
    let here = crate::konto::sso::this_host(headers);
    if crate::konto::sso::without_port(&here) == host.as_str() {
        return None;
    }
    let base = &state.config.public_base_url;
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let authority = rest.split('/').next().unwrap_or_default();
    let default = if scheme == "https" { 443 } else { 80 };
    let port = state.config.sso.member_port.or_else(|| {
        let name = crate::konto::sso::without_port(authority);
        authority[name.len()..].strip_prefix(':').and_then(|p| p.parse().ok())
    });
    Some(match port {
        Some(p) if p != default => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// "We are still checking your payment": the way back to the receipt or claim.
fn pending_page(
    state: &AppState,
    headers: &HeaderMap,
    authority: Option<&amtsweg_domain::Authority>,
    target: &str,
    back: &str,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let mut crumbs = Vec::new();
    if let Some(a) = authority {
        crumbs.push(Crumb::link(a.name.clone(), format!("/o/{}/", a.slug)));
    }
    crumbs.push(Crumb::here("Zahlung".to_owned()));
    let base = base_context(state, &c, authority, headers, target, crumbs);
    let claim = target.starts_with("/konto/finanzen/");
    let ctx = context! {
        title => "Wir prüfen Ihre Zahlung", back => format!("{back}?zahlung=offen#zahlung"), claim,
        notice => Outcome::Pending.notice(), ..base
    };
    Ok(render_page(state, "antrag/zahlung.html", ctx)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use amtsweg_domain::payment::ProviderStatus;

    #[test]
    fn outcomes_round_trip_through_the_query_word() {
        for s in ProviderStatus::ALL {
            let o = Outcome::of(s);
            assert_eq!(Outcome::parse(o.word()), Some(o));
        }
        assert_eq!(Outcome::of(ProviderStatus::Payed), Outcome::Paid);
        assert_eq!(Outcome::of(ProviderStatus::Abandoned), Outcome::Failed);
        assert_eq!(Outcome::of(ProviderStatus::Initial), Outcome::Pending);
        assert_eq!(Outcome::parse("<script>"), None);
        assert_eq!(Outcome::in_query(Some("a=1&zahlung=abgebrochen&zahlung=x")), Some(Outcome::Cancelled));
        assert_eq!(Outcome::in_query(None), None);
    }
}
