//! The simulator's check of a paymentRequest: the wire shape and every rule the
//! standard states, each refusal with the error code a real provider answers.

use super::*;

/// The paymentRequest as the standard defines it; unknown fields are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct WireRequest {
    pub(super) request_id: String,
    pub(super) request_timestamp: String,
    pub(super) currency: String,
    pub(super) gros_amount: Box<RawValue>,
    pub(super) purpose: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) redirect_url: String,
    pub(super) items: Vec<WireItem>,
    #[serde(default)]
    pub(super) requestor: Option<WireRequestor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct WireItem {
    pub(super) id: String,
    pub(super) reference: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) tax_rate: Box<RawValue>,
    pub(super) quantity: u32,
    pub(super) total_net_amount: Box<RawValue>,
    pub(super) total_tax_amount: Box<RawValue>,
    pub(super) single_net_amount: Box<RawValue>,
    pub(super) single_tax_amount: Box<RawValue>,
    #[serde(default)]
    pub(super) booking_data: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // parsed to refuse unknown fields; only some are checked
pub(super) struct WireRequestor {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) is_organization: Option<bool>,
    #[serde(default)]
    pub(super) organization_name: Option<String>,
    #[serde(default)]
    pub(super) address: Option<WireAddress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // parsed to refuse unknown fields; only some are checked
pub(super) struct WireAddress {
    #[serde(default)]
    pub(super) street: Option<String>,
    #[serde(default)]
    pub(super) house_number: Option<String>,
    #[serde(default)]
    pub(super) address_line: Option<Vec<String>>,
    #[serde(default)]
    pub(super) postal_code: Option<String>,
    #[serde(default)]
    pub(super) city: Option<String>,
    #[serde(default)]
    pub(super) country: Option<String>,
}

/// `^[\w\d-]+$`, 1..=36 (ids of the standard; `\w` is ASCII there).
pub(super) fn is_id(s: &str) -> bool {
    (1..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[\w\d\s-]+$` (purpose).
pub(super) fn is_purpose_text(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c.is_ascii_whitespace())
}

/// `^[\w\d\s-,\.\u00C0-\u017F]+$` (description, booking data).
pub(super) fn is_description_text(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | ',' | '.' | '\u{C0}'..='\u{17F}')
                || c.is_ascii_whitespace()
        })
}

/// The requestor as the published models allow it: names and street like a
/// description (≤ 250), house number `[\w\d-]` (≤ 20), postcode digits (≤ 5), city
/// like a description without the full stop, a two-letter country.
fn requestor(p: &WireRequestor) -> Result<(), String> {
    let text = |v: &Option<String>, what: &str, dot: bool| match v {
        Some(t) if t.chars().count() > 250 || !is_description_text(t) || (!dot && t.contains('.')) => {
            Err(format!("requestor {what} has more than 250 characters or characters not allowed"))
        }
        _ => Ok(()),
    };
    if p.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err("requestor needs a name".into());
    }
    text(&p.name, "name", true)?;
    text(&p.first_name, "firstName", true)?;
    text(&p.organization_name, "organizationName", true)?;
    let Some(a) = &p.address else { return Ok(()) };
    text(&a.street, "street", true)?;
    text(&a.city, "city", false)?;
    if a.house_number.as_deref().is_some_and(|h| h.len() > 20 || !is_id(&h[..h.len().min(36)]) || h.is_empty()) {
        return Err("requestor houseNumber must be 1 to 20 letters, digits or hyphens".into());
    }
    if a.postal_code.as_deref().is_some_and(|c| !(1..=5).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err("requestor postalCode must be 1 to 5 digits".into());
    }
    if a.country.as_deref().is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err("requestor country must be two upper-case letters".into());
    }
    Ok(())
}

/// A JSON number as cents, or why not.
pub(super) fn money(raw: &RawValue, what: &str) -> Result<Cents, String> {
    let text = raw.get();
    if text.starts_with('"') {
        return Err(format!("{what} must be a number"));
    }
    Cents::parse_decimal(text).map_err(|_| format!("{what} {text} is no amount in cents"))
}

pub(super) enum Refusal {
    Validation(String),
    Calculation(String),
}

pub(super) fn validate(r: &WireRequest) -> Result<Cents, Refusal> {
    use Refusal::{Calculation, Validation};
    if !is_id(&r.request_id) {
        return Err(Validation("requestId must be 1 to 36 letters, digits, underscores or hyphens".into()));
    }
    if r.request_timestamp.parse::<jiff::Timestamp>().is_err() {
        return Err(Validation("requestTimestamp is no RFC 3339 date-time".into()));
    }
    if r.currency != "EUR" {
        return Err(Validation(format!("currency {} is not supported", r.currency)));
    }
    let gros = money(&r.gros_amount, "grosAmount").map_err(Validation)?;
    if gros.0 <= 0 || gros > Cents::MAX_ONLINE {
        return Err(Validation("grosAmount must be greater than 0 and at most 999999".into()));
    }
    if r.purpose.chars().count() > 27 || !is_purpose_text(&r.purpose) {
        return Err(Validation("purpose must be 1 to 27 letters, digits, blanks or hyphens".into()));
    }
    if let Some(d) = &r.description
        && (d.chars().count() > 250 || !is_description_text(d))
    {
        return Err(Validation("description has more than 250 characters or characters not allowed".into()));
    }
    let redirect_ok = r.redirect_url.len() <= 2082
        && reqwest::Url::parse(&r.redirect_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !redirect_ok {
        return Err(Validation("redirectUrl must be an absolute http or https URL of at most 2082 characters".into()));
    }
    if let Some(p) = &r.requestor {
        requestor(p).map_err(Validation)?;
    }
    if !(1..=99).contains(&r.items.len()) {
        return Err(Validation("items must hold 1 to 99 positions".into()));
    }
    let mut sum = 0i64;
    for (n, item) in r.items.iter().enumerate() {
        let at = |m: &str| format!("items {n} {m}");
        if !is_id(&item.id) || !is_id(&item.reference) {
            return Err(Validation(at("id and reference must be 1 to 36 letters, digits, underscores or hyphens")));
        }
        if let Some(d) = &item.description
            && (d.chars().count() > 250 || !is_description_text(d))
        {
            return Err(Validation(at("description has characters not allowed")));
        }
        let rate = money(&item.tax_rate, "taxRate").map_err(|e| Validation(at(&e)))?;
        if !(0..=10_000).contains(&rate.0) {
            return Err(Validation(at("taxRate must be between 0 and 100")));
        }
        if !(1..=999_999).contains(&item.quantity) {
            return Err(Validation(at("quantity must be between 1 and 999999")));
        }
        let amounts = [
            money(&item.total_net_amount, "totalNetAmount"),
            money(&item.total_tax_amount, "totalTaxAmount"),
            money(&item.single_net_amount, "singleNetAmount"),
            money(&item.single_tax_amount, "singleTaxAmount"),
        ];
        let mut v = [0i64; 4];
        for (slot, a) in v.iter_mut().zip(amounts) {
            let a = a.map_err(|e| Validation(at(&e)))?;
            if a.0 < 0 || a > Cents::MAX_ONLINE {
                return Err(Validation(at("amounts must be between 0 and 999999")));
            }
            *slot = a.0;
        }
        let [total_net, total_tax, single_net, single_tax] = v;
        let q = i64::from(item.quantity);
        if single_net * q != total_net || single_tax * q != total_tax {
            return Err(Calculation(at("totals do not equal single amounts times quantity")));
        }
        for (k, value) in item.booking_data.iter().flatten() {
            if k.is_empty() || k.len() > 64 || value.chars().count() > 250 || !is_description_text(value) {
                return Err(Validation(at("bookingData entries must be non-empty keys with allowed characters")));
            }
        }
        sum += total_net + total_tax;
    }
    if sum != gros.0 {
        return Err(Calculation("grosAmount does not equal the sum of the items".into()));
    }
    Ok(gros)
}
