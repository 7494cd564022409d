//! One sign-in for the whole Verbund, also across host names: member authorities
//! on their own host (e.g. `moorbrueck.example`) send citizens to the central account
//! host, which hands the sign-in back with a one-time code valid for one minute and
//! for that host only. Cookies never leave their host.
//!
//! The server decides both ends of a hand-over: the member host issues the browser
//! binding (a keyed tag over host, cookie hash and expiry, so the central host
//! accepts no binding a caller made up), and the code is only ever sent to a member
//! host on the port the installation serves it on (another port on the same name
//! may be someone else's server, and a request's `Host` header names any port).

use super::identity::sign_in;
use super::safe_next;
use crate::AppState;
use crate::error::AppError;
use crate::session::{self, Identification};
use crate::verwaltung::urlencode;
use amtsweg_domain::TrustLevel;
use amtsweg_store::konto::SsoGrant;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

/// The sign-in hand-over to member authorities' own host names (`[web.sso]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SsoConfig {
    /// The port member authorities' host names are reached on (as in their URLs).
    /// A hand-over to the same name on any other port is refused. Unset (default):
    /// the port of `public_base_url` (80 or 443 when it names none).
    pub member_port: Option<u16>,
}

/// How long a hand-over code is valid.
const CODE_MS: i64 = 60_000;
/// How long a browser binding issued by a member host is accepted (as its cookie).
const BIND_SECS: i64 = 15 * 60;
/// On the member host: the browser that asked for a sign-in (the code is bound to it,
/// so nobody can sign a victim in with the attacker's code).
const SSO_COOKIE: &str = "__Host-amtsweg_sso";

fn scheme(state: &AppState) -> &'static str {
    if state.config.public_base_url.starts_with("https://") { "https" } else { "http" }
}

/// The central host where citizens sign in (with port, as in a URL).
#[must_use]
pub fn account_host(state: &AppState) -> String {
    crate::tenant::account_host(state)
}

fn request_host(headers: &HeaderMap) -> String {
    headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().trim().to_ascii_lowercase()
}

pub(crate) fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.split(':').next().unwrap_or_default()
}

/// The name and port of `host` (`name`, `name:8080`, `[::1]:8080`); `None` for a
/// port that is not a number.
fn split_port(host: &str) -> Option<(&str, Option<u16>)> {
    let name = without_port(host);
    match host[name.len()..].strip_prefix(':') {
        None if host.len() == name.len() => Some((name, None)),
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some((name, Some(port.parse().ok()?)))
        }
        _ => None,
    }
}

fn default_port(state: &AppState) -> u16 {
    if scheme(state) == "https" { 443 } else { 80 }
}

/// The port member hosts are served on: configured, else that of `public_base_url`.
fn member_port(state: &AppState) -> u16 {
    if let Some(p) = state.config.sso.member_port {
        return p;
    }
    let url = &state.config.public_base_url;
    let authority = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest).split('/').next().unwrap_or_default();
    split_port(authority).and_then(|(_, p)| p).unwrap_or_else(|| default_port(state))
}

/// Whether `host` (from a query) is a member host on the port the installation
/// serves member hosts on: the only targets a hand-over code is sent to.
fn is_hand_over_target(state: &AppState, host: &str) -> bool {
    if host.contains('/') || host.contains('@') || !is_member_host(state, host) {
        return false;
    }
    split_port(host).is_some_and(|(_, port)| port.unwrap_or_else(|| default_port(state)) == member_port(state))
}

/// The binding a member host issues for the browser cookie with hash `cookie_hash`:
/// `hash.expiry.tag`, the tag keyed with the installation's key over host and expiry.
fn issue_binding(state: &AppState, host: &str, cookie_hash: &str) -> Result<String, AppError> {
    let expires = amtsweg_store::now_ms() / 1000 + BIND_SECS;
    let tag = state.portal.keyring.mac(&format!("sso-bind|{host}|{cookie_hash}|{expires}"))?;
    Ok(format!("{cookie_hash}.{expires}.{tag}"))
}

/// The cookie hash of a binding this installation issued for `host`, still valid.
fn checked_binding(state: &AppState, host: &str, bind: &str) -> Option<String> {
    let mut parts = bind.splitn(3, '.');
    let (hash, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = expires.parse().ok()?;
    if expires < amtsweg_store::now_ms() / 1000 || hash.is_empty() {
        return None;
    }
    let expected = state.portal.keyring.mac(&format!("sso-bind|{host}|{hash}|{expires}")).ok()?;
    session::tokens_match(tag, &expected).then(|| hash.to_owned())
}

/// Whether `host` belongs to a member authority of the Verbund (not the central host):
/// a host name configured for the authority, or — only while the central host itself
/// is local (demo, development) — `<slug>.localhost`.
fn is_member_host(state: &AppState, host: &str) -> bool {
    let name = without_port(host);
    let central = account_host(state);
    let local = matches!(without_port(&central), "localhost" | "127.0.0.1" | "[::1]");
    !host.is_empty()
        && state
            .catalogue()
            .authority_by_host(name)
            .is_some_and(|a| a.hosts.iter().any(|h| h == name) || (local && name.ends_with(".localhost")))
}

/// Where a sign-in on the central host hands over to when it is done: for `next` =
/// the hand-over (`/konto/sso/start?host=…`) to a member host of the Verbund, that
/// host's origin, its name (with port) and the authority's name.
pub(crate) struct HandOver {
    pub origin: String,
    pub host: String,
    pub authority: String,
}

/// The member host that `next` (a local path, already checked) hands the sign-in
/// over to, if any. A page whose form ends in that hand-over must allow the member
/// host as a form target (see `crate::security::csp_with_form_targets`).
pub(crate) fn hand_over(state: &AppState, next: &str) -> Option<HandOver> {
    let query = next.strip_prefix("/konto/sso/start?")?;
    let host = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.trim().to_ascii_lowercase())?;
    if !is_hand_over_target(state, &host) {
        return None;
    }
    let authority = state.catalogue().authority_by_host(without_port(&host))?.name.clone();
    Some(HandOver { origin: format!("{}://{host}", scheme(state)), host, authority })
}

/// The form targets a page on the central host must allow besides itself so that
/// its forms can end on the member host that `next` hands over to.
pub(crate) fn form_targets(state: &AppState, next: &str) -> Vec<String> {
    hand_over(state, next).map(|h| h.origin).into_iter().collect()
}

/// Whether this request came to a member authority's own host.
pub(crate) fn on_member_host(state: &AppState, headers: &HeaderMap) -> bool {
    is_member_host(state, &request_host(headers))
}

/// The host of this request (with port), lower-case.
pub(crate) fn this_host(headers: &HeaderMap) -> String {
    request_host(headers)
}

/// On a member authority's own host: the redirect to sign in centrally and come back
/// to `back` here. `None` on the central host(s).
pub(crate) fn redirect_to_central(state: &AppState, headers: &HeaderMap, back: &str) -> Option<Response> {
    via_central(state, headers, back, str::to_owned)
}

/// On a member host: continue on the central host at `central(via)`, where `via` is
/// the central path that hands the sign-in back to `back` on this host afterwards
/// (e.g. start BundID centrally, whose ACS is there). `None` on the central host.
pub(crate) fn via_central(
    state: &AppState,
    headers: &HeaderMap,
    back: &str,
    central: impl FnOnce(&str) -> String,
) -> Option<Response> {
    let host = request_host(headers);
    if !is_member_host(state, &host) {
        return None;
    }
    let bind = session::random_token();
    // Without the key no binding can be issued; the citizen then signs in here.
    let binding = issue_binding(state, &host, &session::hash_token(&bind)).ok()?;
    let via = format!(
        "/konto/sso/start?host={}&bind={}&weiter={}",
        urlencode(&host),
        urlencode(&binding),
        urlencode(&safe_next(Some(back)))
    );
    let url = format!("{}://{}{}", scheme(state), account_host(state), central(&via));
    let mut r = Redirect::to(&url).into_response();
    if let Some(c) = session::set_cookie(SSO_COOKIE, &bind, BIND_SECS) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Some(r)
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    host: Option<String>,
    /// The binding the member host issued for its browser cookie (see [`issue_binding`]).
    bind: Option<String>,
    weiter: Option<String>,
}

/// On the central host: signed in (or after signing in) → back to the member host
/// with a one-time code.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    let host = q.host.unwrap_or_default().trim().to_ascii_lowercase();
    // Only hosts of the Verbund's own authorities, on their own port: this is no
    // open redirect, and the code reaches no other server.
    if !is_hand_over_target(&state, &host) {
        return Err(AppError::BadRequest("Diese Adresse gehört zu keinem Portal des Verbunds.".into()));
    }
    // Checked before signing in, so a forged link does not even ask for a password.
    let Some(browser_hash) = checked_binding(&state, &host, q.bind.as_deref().unwrap_or_default()) else {
        return Err(AppError::BadRequest(
            "Die Anmeldung kann nicht übergeben werden: Der Link ist ungültig oder abgelaufen. Bitte öffnen Sie die Seite Ihrer Gemeinde erneut und melden Sie sich dort an."
                .into(),
        ));
    };
    let me = match super::require_citizen(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(to_login) => return Ok(to_login),
    };
    let code = session::random_token();
    let grant = SsoGrant {
        citizen_id: me.citizen.id,
        trust_level: me.trust.as_str().to_owned(),
        auth_method: me.session.record.auth_method.clone(),
        host: host.clone(),
        expires_at: amtsweg_store::now_ms() + CODE_MS,
        browser_hash,
    };
    let mut tx = state.store.begin().await?;
    tx.insert_sso_code(&session::hash_token(&code), &grant).await?;
    tx.commit().await?;
    let next = safe_next(q.weiter.as_deref());
    Ok(Redirect::to(&format!("{}://{host}/konto/sso/annehmen?code={code}&weiter={}", scheme(&state), urlencode(&next)))
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct AcceptQuery {
    code: Option<String>,
    weiter: Option<String>,
}

/// On the member host: redeems the code for a session of this host.
pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AcceptQuery>,
) -> Result<Response, AppError> {
    let host = request_host(&headers);
    let next = safe_next(q.weiter.as_deref());
    let mut tx = state.store.begin().await?;
    let grant = tx.take_sso_code(&session::hash_token(q.code.as_deref().unwrap_or_default()), &host).await?;
    tx.commit().await?;
    let bound = grant.filter(|g| {
        let cookie = session::cookie_value(&headers, SSO_COOKIE).unwrap_or_default();
        !g.browser_hash.is_empty() && session::tokens_match(&session::hash_token(cookie), &g.browser_hash)
    });
    let Some(g) = bound else {
        return Ok(Redirect::to(&format!("/konto/anmelden?weiter={}", urlencode(&next))).into_response());
    };
    let how = Identification {
        trust_level: TrustLevel::parse(&g.trust_level).unwrap_or(TrustLevel::Normal),
        method: g.auth_method,
    };
    // The central session passed every step (second factor included) before the
    // code was issued.
    let mut r = sign_in(&state, g.citizen_id, true, &how, &next).await?;
    if let Some(c) = session::set_cookie(SSO_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::{split_port, without_port};

    #[test]
    fn ports_are_stripped() {
        assert_eq!(without_port("moorbrueck.example:8080"), "moorbrueck.example");
        assert_eq!(without_port("moorbrueck.example"), "moorbrueck.example");
        assert_eq!(without_port("[::1]:8080"), "[::1]");
    }

    #[test]
    fn ports_are_read_strictly() {
        assert_eq!(split_port("moorbrueck.example:8080"), Some(("moorbrueck.example", Some(8080))));
        assert_eq!(split_port("moorbrueck.example"), Some(("moorbrueck.example", None)));
        assert_eq!(split_port("[::1]:8080"), Some(("[::1]", Some(8080))));
        for bad in ["m.example:", "m.example:80x", "m.example:99999", "m.example:+80", "m.example:80:81"] {
            assert_eq!(split_port(bad), None, "{bad}");
        }
    }
}
