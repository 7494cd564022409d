//! The receipt page. Its answers are rendered for each submission; the page around
//! them (header, navigation, footer, the receipt's wording) is the same for every
//! citizen without an account who applied with the same form, so it is rendered
//! once per form version, place and catalogue snapshot and filled in (see `cut`).

use super::cut::{Cut, Cuts, FormPageKey, mark, plain};
use super::journey::{Journey, base};
use crate::AppState;
use crate::error::AppError;
use crate::templates::push_escaped;
use amtsweg_portal::submission::SubmissionData;
use axum::http::HeaderMap;
use minijinja::{Value, context};
use std::sync::Arc;

/// What the receipt page shows.
pub(super) struct Receipt {
    pub number: String,
    pub submitted_at: i64,
    pub status: String,
    pub data: SubmissionData,
    pub in_account: bool,
    /// The fee to pay and how (none for forms without one).
    pub payment: Option<PaymentPart>,
}

/// The payment part of a receipt (`antrag::zahlung`): the payment with the pay
/// form, what the provider's return said, and why paying could not begin.
pub(super) struct PaymentPart {
    pub payment: Value,
    pub notice: Option<Value>,
    pub error: Option<String>,
}

pub(crate) type ReceiptPages = Cuts<FormPageKey>;

/// The values of the page that differ between two receipts.
struct Values<'a> {
    token: &'a str,
    number: &'a str,
    submitted: &'a str,
    status: &'a str,
    angaben: Value,
}

fn html(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    v: &Values<'_>,
    in_account: bool,
    payment: Option<&PaymentPart>,
) -> Result<String, AppError> {
    let url = j.receipt_url(v.token);
    let ctx = context! {
        title => "Antrag eingegangen", receipt_number => v.number, submitted => v.submitted,
        status => v.status, angaben => &v.angaben,
        pdf => format!("{url}/quittung.pdf"), authority_name => &j.authority.name,
        in_account,
        payment => payment.map(|p| &p.payment), payment_notice => payment.and_then(|p| p.notice.as_ref()),
        payment_error => payment.and_then(|p| p.error.as_deref()),
        // Booking after submission: the receipt number is appended in the template.
        appointment => j.form.appointment.as_ref().map(|o| context! {
            required => o.required,
            url => format!("/o/{}/termine/?leistung={}&vorgang=", j.authority.slug, crate::urls::urlencode(&o.leika)),
        }),
        ..base(state, j, headers, &url, "Antrag eingegangen")
    };
    Ok(state.templates.render("antrag/eingang.html", ctx)?)
}

/// The page for `r`, whose answers are already rendered as `angaben`.
pub(super) fn render(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    token: &str,
    r: &Receipt,
    angaben: String,
) -> Result<String, AppError> {
    let submitted = amtsweg_portal::time::when(r.submitted_at);
    let full = |angaben: String| Values {
        token,
        number: &r.number,
        submitted: &submitted,
        status: &r.status,
        angaben: Value::from_safe_string(angaben),
    };
    // A payment's state changes while the page is seen again: never from the cache.
    let cacheable =
        j.citizen.is_none() && !r.in_account && r.payment.is_none() && !state.templates.has_overrides() && plain(token);
    if !cacheable {
        return html(state, j, headers, &full(angaben), r.in_account, r.payment.as_ref());
    }
    let mut escaped = [String::new(), String::new(), String::new()];
    for (out, text) in escaped.iter_mut().zip([&r.number, &submitted, &r.status]) {
        push_escaped(out, text);
    }
    let [number, submitted_text, status] = &escaped;
    let values = [token, number.as_str(), submitted_text.as_str(), status.as_str(), angaben.as_str()];
    let key = FormPageKey::new(state, j, headers);
    if let Some(cut) = state.receipt_pages.get(&key) {
        return Ok(cut.fill(&values));
    }
    let marks = ["Token", "Number", "Submitted", "Status", "Angaben"].map(mark);
    let [m_token, m_number, m_submitted, m_status, m_angaben] = &marks;
    let marked = Values {
        token: m_token,
        number: m_number,
        submitted: m_submitted,
        status: m_status,
        angaben: Value::from(m_angaben.as_str()),
    };
    let page = html(state, j, headers, &marked, false, None)?;
    let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
    match Cut::new(&page, &marks) {
        Some(cut) => {
            let cut = Arc::new(cut);
            state.receipt_pages.put(key, Arc::clone(&cut));
            Ok(cut.fill(&values))
        }
        None => html(state, j, headers, &full(angaben), false, None),
    }
}
