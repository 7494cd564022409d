//! The citizen's application journey at `/o/<slug>/antrag/<form>/`: one topic per
//! page with back and continue, an error summary that links to the fields, a page to
//! check every answer, the declaration, submission and the receipt — all without
//! JavaScript. The rule engine (`amtsweg_forms`) judges every request; nothing the
//! browser says is trusted.
//!
//! The first page comes with a signed form token. The first POST keeps the answers as
//! a draft under that token, bound to the citizen's account or — without one — to a
//! cookie of this browser; the submission keeps the token, so a double submit or a
//! retry shows the same receipt. Anonymous drafts resume on another device through a
//! one-time link sent by e-mail; every draft expires (`web.draft_days`).

pub(crate) mod cut;
pub mod fields;
pub(crate) mod first_page;
pub(crate) mod fresh_receipt;
mod konto;
pub(crate) mod receipt_page;
pub(crate) mod submit;
pub mod upload;

use crate::AppState;
use crate::catalogue::PublishedForm;
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::pages::{Crumb, base_context, render_page};
use crate::session;
use amtsweg_domain::konto::ProfileField;
use amtsweg_domain::{Authority, TrustLevel};
use amtsweg_forms::{Answer, Answers, Form, Kind, Prefill, Step, visible_steps};
use amtsweg_store::submissions::{ApplicationDraft, NewDraft, NewFile};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use fields::FileInfo;
use minijinja::context;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The cookie that binds anonymous drafts to this browser.
pub const DRAFT_COOKIE: &str = "__Host-amtsweg_antrag";

/// Scope purposes of what is sealed here (bound into the ciphertext).
const ANSWERS: &str = "antrag:answers";
const FILE: &str = "antrag:file";
const FILE_NAME: &str = "antrag:file_name";

/// Every journey route: path, methods, handlers.
fn table() -> Vec<(&'static str, &'static [&'static str], MethodRouter<AppState>)> {
    vec![
        ("/o/{slug}/antrag/{form}", &["GET"], get(crate::pages::add_slash)),
        ("/o/{slug}/antrag/{form}/", &["GET", "POST"], get(start).post(first_post)),
        ("/o/{slug}/antrag/{form}/{token}/pruefen", &["GET"], get(submit::check)),
        ("/o/{slug}/antrag/{form}/{token}/absenden", &["POST"], post(submit::submit)),
        ("/o/{slug}/antrag/{form}/{token}/gespeichert", &["GET", "POST"], get(submit::saved).post(submit::send_link)),
        ("/o/{slug}/antrag/{form}/{token}/verwerfen", &["POST"], post(submit::discard)),
        ("/o/{slug}/antrag/{form}/{token}/datei/{id}", &["GET"], get(draft_file)),
        ("/o/{slug}/antrag/{form}/{token}/{step}", &["GET", "POST"], get(step_page).post(step_post)),
        ("/o/{slug}/antrag/{form}/eingang/{token}", &["GET"], get(submit::receipt)),
        ("/o/{slug}/antrag/{form}/eingang/{token}/quittung.pdf", &["GET"], get(submit::receipt_pdf)),
        ("/o/{slug}/antrag/fortsetzen/{secret}", &["GET", "POST"], get(submit::resume_page).post(submit::resume)),
    ]
}

pub fn routes() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |r, (path, _, handlers)| r.route(path, handlers))
}

/// The journey routes as (path, methods), for tests that must cover every route.
#[must_use]
pub fn route_table() -> Vec<(&'static str, &'static [&'static str])> {
    let mut t: Vec<_> = table().into_iter().map(|(p, m, _)| (p, m)).collect();
    t.extend(konto::route_table());
    t
}

/// The account pages of applications as (path, methods).
#[must_use]
pub fn konto_route_table() -> Vec<(&'static str, &'static [&'static str])> {
    konto::route_table()
}

/// The account pages of applications (`/konto/antraege/`).
pub fn konto_routes() -> Router<AppState> {
    konto::routes()
}

/// The form being filled in, for whom, and where.
pub(crate) struct Journey {
    pub authority: Arc<Authority>,
    pub published: Arc<PublishedForm>,
    /// The definition of the version this application is filled in with.
    pub form: Arc<Form>,
    pub version: i64,
    pub citizen: Option<CitizenContext>,
    /// This browser's draft cookie (anonymous drafts are bound to it).
    pub browser: Option<String>,
}

impl Journey {
    fn base_url(&self) -> String {
        format!("/o/{}/antrag/{}/", self.authority.slug, self.published.slug)
    }

    fn draft_url(&self, token: &str) -> String {
        format!("{}{token}/", self.base_url())
    }

    fn may_access(&self, owner: Option<i64>, browser_hash: &str) -> bool {
        if let Some(c) = &self.citizen
            && owner == Some(c.citizen.id)
        {
            return true;
        }
        !browser_hash.is_empty()
            && self.browser.as_deref().is_some_and(|b| session::tokens_match(&session::hash_token(b), browser_hash))
    }

    fn trust_needed(&self) -> TrustLevel {
        TrustLevel::parse(&self.form.trust_level).unwrap_or(TrustLevel::Normal)
    }
}

/// Opens the journey for a request: the authority and form (404 when either is
/// unknown or unpublished), the citizen if signed in — and if the form needs a higher
/// trust level, the sign-in or step-up it needs instead.
pub(crate) async fn open(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    slug: &str,
    form_slug: &str,
) -> Result<Journey, Response> {
    let c = state.catalogue();
    let authority = c.shared_authority_by_slug(slug).ok_or_else(|| AppError::NotFound.into_response())?;
    let published = c.form(authority.id, form_slug).ok_or_else(|| AppError::NotFound.into_response())?;
    let needed = TrustLevel::parse(&published.form.trust_level).unwrap_or(TrustLevel::Normal);
    let citizen = if needed == TrustLevel::Normal {
        match session::current(state, headers, "citizen").await {
            Ok(Some(_)) => crate::konto::require_citizen(state, headers, uri).await.ok(),
            Ok(None) => None,
            Err(e) => return Err(AppError::from(e).into_response()),
        }
    } else {
        Some(crate::konto::require_trust(state, headers, uri, needed).await?)
    };
    let browser = session::cookie_value(headers, DRAFT_COOKIE).filter(|v| v.len() == 43).map(str::to_owned);
    Ok(Journey { form: published.form.clone(), version: published.version, authority, published, citizen, browser })
}

/// Every journey handler starts here: the route's `{slug}` and `{form}` opened with
/// [`open`]; the rejection is the 404, the sign-in or the step-up page.
impl axum::extract::FromRequestParts<AppState> for Journey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned());
        let (Some(slug), Some(form)) = (param("slug"), param("form")) else {
            return Err(AppError::NotFound.into_response());
        };
        open(state, &parts.headers, &parts.uri, &slug, &form).await
    }
}

impl Journey {
    /// Switches to the version a draft was started with (a form republished while a
    /// citizen fills it in keeps their version until they submit).
    async fn use_version(&mut self, state: &AppState, version: i64) -> Result<(), AppError> {
        if version == self.version {
            return Ok(());
        }
        let v = state
            .store
            .form_version(self.published.owner_id, self.published.form_id, version)
            .await?
            .ok_or(AppError::NotFound)?;
        self.form = Arc::new(v.form()?);
        self.version = version;
        Ok(())
    }
}

/// Days a draft is kept after its last change.
fn draft_ttl_ms(state: &AppState) -> i64 {
    i64::from(state.config.draft_days.max(1)) * 86_400_000
}

fn today() -> amtsweg_forms::Date {
    let d = crate::pages::now_local().date();
    amtsweg_forms::Date::new(i32::from(d.year()), d.month().unsigned_abs(), d.day().unsigned_abs())
        .unwrap_or_else(|| amtsweg_forms::Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// The signed form token of a new application: `<nonce>.<version>.<tag>`.
fn issue_token(state: &AppState, j: &Journey) -> Result<String, AppError> {
    let nonce = new_nonce(jiff::Timestamp::now().as_millisecond());
    let body = format!("{nonce}.{}", j.version);
    let tag = state.keyring.mac(&format!("antrag|{}|{}|{body}", j.authority.id, j.published.form_id))?;
    Ok(format!("{body}.{tag}"))
}

/// Characters of base64url in ASCII order, so that text order is number order.
const ORDERED_DIGITS: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// The nonce of a form token, which is also the key of its draft and submission:
/// 22 characters, the time in milliseconds (7 characters, sorting in time order)
/// and 90 random bits. Random keys alone put every new submission on another page
/// of the store's token index, so a commit of many submissions wrote as many index
/// pages; keys in time order share the last few.
fn new_nonce(now_ms: i64) -> String {
    let mut nonce = String::with_capacity(22);
    let ms = u64::try_from(now_ms).unwrap_or(0);
    for shift in (0..7).rev() {
        nonce.push(char::from(ORDERED_DIGITS[usize::try_from((ms >> (6 * shift)) & 63).unwrap_or(0)]));
    }
    nonce.push_str(&session::random_token()[..15]);
    nonce
}

/// The nonce and version of a token this portal issued for this form.
fn verify_token(state: &AppState, j: &Journey, token: &str) -> Option<(String, i64)> {
    let (body, tag) = token.rsplit_once('.')?;
    let (nonce, version) = body.split_once('.')?;
    let version: i64 = version.parse().ok()?;
    let expected = state.keyring.mac(&format!("antrag|{}|{}|{body}", j.authority.id, j.published.form_id)).ok()?;
    (nonce.len() == 22 && session::tokens_match(&expected, tag)).then(|| (nonce.to_owned(), version))
}

/// The CSRF token of the first page: the session's for a signed-in citizen, else
/// tied to this browser's draft cookie and the form token.
fn first_csrf(state: &AppState, j: &Journey, browser: &str, nonce: &str) -> Result<String, AppError> {
    match &j.citizen {
        Some(c) => Ok(c.session.record.csrf_token.clone()),
        None => Ok(state.keyring.mac(&format!("antrag-csrf|{browser}|{nonce}"))?),
    }
}

/// Adds the draft cookie (new or refreshed) to a response.
fn with_browser_cookie(state: &AppState, mut r: Response, browser: &str) -> Response {
    if let Some(c) = session::set_cookie(DRAFT_COOKIE, browser, draft_ttl_ms(state) / 1000) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    no_store(r)
}

/// Application pages hold a citizen's answers and tokens: never kept by caches.
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The answers and files of a draft, opened.
pub(crate) async fn draft_answers(state: &AppState, d: &ApplicationDraft) -> Result<Answers, AppError> {
    if d.answers.is_empty() {
        return Ok(Answers::new());
    }
    let scope = crate::konto::daten::authority_scope(d.authority_id);
    let json = state.keyring.open_text(&state.store, &scope, ANSWERS, &d.answers).await?;
    serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("draft answers: {e}")))
}

pub(crate) async fn seal_answers(state: &AppState, authority_id: i64, a: &Answers) -> Result<String, AppError> {
    let scope = crate::konto::daten::authority_scope(authority_id);
    let json = serde_json::to_string(a).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(state.keyring.seal(&state.store, &scope, ANSWERS, json.as_bytes()).await?)
}

pub(crate) async fn draft_files(state: &AppState, d: &ApplicationDraft) -> Result<Vec<FileInfo>, AppError> {
    let scope = crate::konto::daten::authority_scope(d.authority_id);
    let mut out = Vec::new();
    for f in state.store.application_draft_files(&d.token).await? {
        let name = state.keyring.open_text(&state.store, &scope, FILE_NAME, &f.file_name).await?;
        out.push(FileInfo { id: f.id, field: f.field, name, size: f.size });
    }
    Ok(out)
}

/// The draft of a token, if this citizen or browser may see it; an anonymous draft
/// opened by its (now signed-in) owner moves into their account.
pub(crate) async fn load_draft(state: &AppState, j: &mut Journey, token: &str) -> Result<ApplicationDraft, AppError> {
    let d = state.store.application_draft(token).await?.ok_or(AppError::NotFound)?;
    if d.authority_id != j.authority.id
        || d.form_id != j.published.form_id
        || d.expires_at < amtsweg_store::now_ms()
        || !j.may_access(d.citizen_id, &d.browser_hash)
    {
        return Err(AppError::NotFound);
    }
    if d.citizen_id.is_none()
        && let Some(c) = &j.citizen
    {
        let mut tx = state.store.begin().await?;
        tx.claim_application_draft(&d.token, c.citizen.id).await?;
        tx.commit().await?;
    }
    j.use_version(state, d.form_version).await?;
    Ok(d)
}

/// Values from the citizen's account for fields that ask for them; `locked` names
/// those an ID provider vouched for (they cannot be changed in the form).
async fn prefill(state: &AppState, j: &Journey) -> Result<(Answers, BTreeSet<String>), AppError> {
    let mut answers = Answers::new();
    let mut locked = BTreeSet::new();
    let Some(c) = &j.citizen else { return Ok((answers, locked)) };
    let profile = crate::konto::daten::profile(state, c.citizen.id).await?;
    let value = |f: ProfileField| profile.iter().find(|p| p.field == f.key());
    for field in j.form.steps.iter().flat_map(|s| &s.items).filter_map(|i| match i {
        amtsweg_forms::Item::Field(f) => Some(f),
        amtsweg_forms::Item::Group(_) => None,
    }) {
        let Some(p) = field.prefill else { continue };
        let parts: Vec<ProfileField> = match p {
            Prefill::Name => vec![ProfileField::GivenName, ProfileField::FamilyName],
            Prefill::GivenName => vec![ProfileField::GivenName],
            Prefill::FamilyName => vec![ProfileField::FamilyName],
            Prefill::BirthDate => vec![ProfileField::BirthDate],
            Prefill::Address => vec![ProfileField::Street, ProfileField::Plz, ProfileField::City],
            Prefill::Phone => vec![ProfileField::Phone],
            Prefill::Email => {
                if let Some(e) = &c.citizen.email {
                    answers.insert(field.id.clone(), Answer::One(e.clone()));
                }
                continue;
            }
        };
        let found: Vec<_> = parts.iter().filter_map(|f| value(*f)).collect();
        if found.len() != parts.len() || found.iter().any(|e| e.value.is_empty()) {
            continue;
        }
        let text = match p {
            Prefill::Address => format!("{}\n{} {}", found[0].value, found[1].value, found[2].value),
            _ => found.iter().map(|e| e.value.as_str()).collect::<Vec<_>>().join(" "),
        };
        answers.insert(field.id.clone(), Answer::One(text));
        if found.iter().all(|e| matches!(e.source, amtsweg_domain::konto::ProfileSource::Provider(_))) {
            locked.insert(field.id.clone());
        }
    }
    Ok((answers, locked))
}

/// Page context of every journey page.
fn base(state: &AppState, j: &Journey, headers: &HeaderMap, path: &str, here: &str) -> minijinja::Value {
    let c = state.catalogue();
    let mut crumbs = vec![Crumb::link(j.authority.name.clone(), format!("/o/{}/", j.authority.slug))];
    if let Some(l) = j.published.leistung_id.and_then(|id| c.leistungen_of(j.authority.id).find(|l| l.id == id)) {
        crumbs.push(Crumb::link(l.name.clone(), format!("/o/{}/leistungen/{}", j.authority.slug, l.slug)));
    }
    crumbs.push(Crumb::here(here.to_owned()));
    let base = base_context(state, &c, Some(&j.authority), headers, path, crumbs);
    let me = j.citizen.as_ref().map(|c| context! { email => &c.citizen.email });
    context! { me, form_title => &j.form.title, ..base }
}

/// Which visible step comes before / after `step_id` with these answers.
fn neighbours<'f>(form: &'f Form, answers: &Answers, step_id: &str) -> (Option<&'f Step>, Option<&'f Step>) {
    let steps = visible_steps(form, answers);
    let pos = steps.iter().position(|s| s.id == step_id);
    match pos {
        Some(i) => (i.checked_sub(1).and_then(|p| steps.get(p)).copied(), steps.get(i + 1).copied()),
        None => (None, steps.first().copied()),
    }
}

/// What a step page shows besides the fields.
#[derive(Clone)]
struct StepPage<'a> {
    step: &'a Step,
    answers: &'a Answers,
    errors: Vec<(String, String)>,
    files: &'a [FileInfo],
    locked: &'a BTreeSet<String>,
    /// The form's action and hidden inputs.
    action: String,
    token: String,
    csrf: String,
    back_to_check: bool,
}

fn render_step(state: &AppState, j: &Journey, headers: &HeaderMap, p: &StepPage<'_>) -> Result<Response, AppError> {
    let (status, html) = step_html(state, j, headers, p)?;
    Ok(no_store((status, axum::response::Html(html)).into_response()))
}

fn step_html(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    p: &StepPage<'_>,
) -> Result<(StatusCode, String), AppError> {
    let errors_by_path: BTreeMap<String, String> = p.errors.iter().cloned().collect();
    let items = fields::step_view(&j.form, p.step, p.answers, &errors_by_path, p.files, p.locked);
    let steps = visible_steps(&j.form, p.answers);
    let number = steps.iter().position(|s| s.id == p.step.id).map_or(1, |i| i + 1);
    let (prev, _) = neighbours(&j.form, p.answers, &p.step.id);
    let multipart =
        p.step.items.iter().any(|i| matches!(i, amtsweg_forms::Item::Field(f) if matches!(f.kind, Kind::File { .. })));
    let errors: Vec<_> =
        p.errors.iter().map(|(path, message)| context! { anchor => fields::anchor(path), message }).collect();
    let computed: Vec<_> = amtsweg_forms::compute(&j.form, p.answers)
        .into_iter()
        .filter_map(|(id, cents)| {
            j.form
                .computed
                .iter()
                .find(|c| c.id == id)
                .map(|c| context! { label => &c.label, value => fields::euro_text(cents) })
        })
        .collect();
    let status = if p.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = if p.errors.is_empty() { p.step.title.clone() } else { format!("Fehler: {}", p.step.title) };
    let ctx = context! {
        title, step => context! { id => &p.step.id, title => &p.step.title }, items, errors, number, total => steps.len(),
        has_back => prev.is_some() || number > 1, action => &p.action, token => &p.token, csrf => &p.csrf,
        multipart, back_to_check => p.back_to_check, computed, direct => j.form.direct_submit,
        signed_in => j.citizen.is_some(),
        trust_label => j.trust_needed().label(),
        ..base(state, j, headers, &p.action, &p.step.title)
    };
    Ok((status, render_page(state, "antrag/schritt.html", ctx)?.0))
}

/// The first page of a form with a fresh form token (nothing is stored yet).
pub(crate) async fn start(State(state): State<AppState>, j: Journey, headers: HeaderMap) -> Result<Response, AppError> {
    let (answers, locked) = prefill(&state, &j).await?;
    let Some(first) = visible_steps(&j.form, &answers).first().copied() else { return Err(AppError::NotFound) };
    let browser = j.browser.clone().unwrap_or_else(session::random_token);
    let token = issue_token(&state, &j)?;
    let nonce = token.split('.').next().unwrap_or_default().to_owned();
    let page = StepPage {
        step: first,
        answers: &answers,
        errors: Vec::new(),
        files: &[],
        locked: &locked,
        action: j.base_url(),
        csrf: first_csrf(&state, &j, &browser, &nonce)?,
        token,
        back_to_check: false,
    };
    let (status, html) = first_page::render(&state, &j, &headers, &page)?;
    Ok(with_browser_cookie(&state, (status, axum::response::Html(html)).into_response(), &browser))
}

/// The first POST: checks the form token, keeps the draft, continues like any step.
pub(crate) async fn first_post(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, AppError> {
    let first_step = j.form.steps.first().cloned().ok_or(AppError::NotFound)?;
    let posted = upload::read(&state, request, &first_step, state.config.form_files_limit).await?;
    let tampered = || {
        AppError::BadRequest(
            "Dieses Formular ist nicht mehr gültig oder wurde verändert. Bitte beginnen Sie den Antrag neu.".into(),
        )
    };
    let (nonce, version) = verify_token(&state, &j, posted.get("token").unwrap_or_default()).ok_or_else(tampered)?;
    // A one-page form sent complete from its first page is submitted at once, without
    // looking for a draft first: a draft of this token (the page sent before, with
    // errors, then again after "back") is deleted in the submission's commit, and a
    // submission of this token (sent twice) is found there and its receipt shown.
    if j.form.direct_submit
        && posted.get("aktion") == Some("absenden")
        && let Some(browser) = j.browser.clone()
        && first_page_csrf_ok(&state, &j, &headers, &posted, &browser, &nonce)?
    {
        j.use_version(&state, version).await?;
        let (answers, locked) = prefill(&state, &j).await?;
        let owner = j.citizen.as_ref().map(|c| c.citizen.id);
        let browser_hash = if owner.is_some() { String::new() } else { session::hash_token(&browser) };
        if let Some(r) =
            direct_submit(&state, &j, &first_step, &nonce, &answers, &locked, owner, &browser_hash, &posted).await?
        {
            return Ok(r);
        }
    }
    // A draft with this token exists: the first page was sent twice (or after going
    // back in the browser) — continue with it.
    if state.store.application_draft(&nonce).await?.is_none() {
        let browser = j.browser.clone().ok_or_else(|| {
            AppError::BadRequest("Bitte erlauben Sie Cookies für dieses Portal: ohne sie können wir Ihren Antrag zwischen den Seiten nicht aufbewahren.".into())
        })?;
        if !first_page_csrf_ok(&state, &j, &headers, &posted, &browser, &nonce)? {
            return Err(AppError::Forbidden);
        }
        j.use_version(&state, version).await?;
        let (answers, _) = prefill(&state, &j).await?;
        let owner = j.citizen.as_ref().map(|c| c.citizen.id);
        let browser_hash = if owner.is_some() { String::new() } else { session::hash_token(&browser) };
        let sealed = seal_answers(&state, j.authority.id, &answers).await?;
        let draft_csrf = session::random_token();
        let mut tx = state.store.begin().await?;
        tx.create_application_draft(&NewDraft {
            token: &nonce,
            authority_id: j.authority.id,
            form_id: j.published.form_id,
            form_version: version,
            citizen_id: owner,
            browser_hash: &browser_hash,
            csrf: &draft_csrf,
            answers: &sealed,
            step: &first_step.id,
            expires_at: amtsweg_store::now_ms() + draft_ttl_ms(&state),
        })
        .await?;
        tx.commit().await?;
        let d = load_draft(&state, &mut j, &nonce).await?;
        return handle_step(&state, &mut j, &headers, d, &first_step.id, posted).await;
    }
    let d = load_draft(&state, &mut j, &nonce).await?;
    // The first page sent again (after "back" in the browser): its CSRF token is the
    // first page's, or the draft's when the page was shown from the draft.
    let sent = posted.get("csrf").unwrap_or_default();
    let first_page = j.browser.as_deref().map(|b| first_csrf(&state, &j, b, &nonce)).transpose()?;
    let csrf_ok = session::tokens_match(&d.csrf, sent) || first_page.is_some_and(|c| session::tokens_match(&c, sent));
    if !session::same_origin(&headers) || !csrf_ok {
        return Err(AppError::Forbidden);
    }
    handle_step(&state, &mut j, &headers, d, &first_step.id, posted).await
}

/// Whether a POST of the first page carries that page's CSRF token and comes from
/// this portal.
fn first_page_csrf_ok(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    posted: &upload::Posted,
    browser: &str,
    nonce: &str,
) -> Result<bool, AppError> {
    let csrf = first_csrf(state, j, browser, nonce)?;
    Ok(session::same_origin(headers) && session::tokens_match(&csrf, posted.get("csrf").unwrap_or_default()))
}

/// A one-page form sent complete and valid is submitted right away, without a draft:
/// one commit for the whole application (postal votes at rush hour). Anything else —
/// an error, a file, a row added — returns `None` and takes the usual way through a
/// draft, which shows the errors and keeps the answers.
#[allow(clippy::too_many_arguments)]
async fn direct_submit(
    state: &AppState,
    j: &Journey,
    step: &amtsweg_forms::Step,
    token: &str,
    prefilled: &Answers,
    locked: &std::collections::BTreeSet<String>,
    owner: Option<i64>,
    browser_hash: &str,
    posted: &upload::Posted,
) -> Result<Option<Response>, AppError> {
    if j.form.steps.len() != 1 || !posted.files.is_empty() || !posted.problems.is_empty() {
        return Ok(None);
    }
    let read = fields::read_step(&j.form, step, prefilled, &posted.pairs, RESERVED);
    if !read.foreign.is_empty() {
        return Ok(None);
    }
    let mut answers = fields::without_empty(read.answers);
    for id in locked {
        if let Some(v) = prefilled.get(id) {
            answers.insert(id.clone(), v.clone());
        }
    }
    let answers = amtsweg_forms::keep_asked(&j.form, &answers);
    if !submit::all_problems(state, &j.form, &answers, &[]).is_empty() {
        return Ok(None);
    }
    let owner = submit::Owner { citizen_id: owner, browser_hash: browser_hash.to_owned() };
    // No check page, so no "send me a copy" choice: the confirmation carries no answers.
    submit::store_submission(state, j, token, &owner, &answers, &[], &[], false).await.map(Some)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
pub struct StepQuery {
    zurueck: Option<String>,
}

/// A step of a draft.
pub(crate) async fn step_page(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token, step_id)): Path<(String, String, String, String)>,
    Query(q): Query<StepQuery>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let answers = draft_answers(&state, &d).await?;
    let Some(step) = visible_steps(&j.form, &answers).into_iter().find(|s| s.id == step_id) else {
        return Ok(Redirect::to(&format!("{}pruefen", j.draft_url(&token))).into_response());
    };
    let files = draft_files(&state, &d).await?;
    let (_, locked) = prefill(&state, &j).await?;
    let page = StepPage {
        step,
        answers: &answers,
        errors: Vec::new(),
        files: &files,
        locked: &locked,
        action: format!("{}{}", j.draft_url(&token), step.id),
        token: token.clone(),
        csrf: d.csrf.clone(),
        back_to_check: q.zurueck.as_deref() == Some("pruefen"),
    };
    render_step(&state, &j, &headers, &page)
}

/// A step sent.
pub(crate) async fn step_post(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token, step_id)): Path<(String, String, String, String)>,
    request: Request,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let step = j.form.steps.iter().find(|s| s.id == step_id).cloned().ok_or(AppError::NotFound)?;
    let used: i64 = state.store.application_draft_files(&d.token).await?.iter().map(|f| f.size).sum();
    let room = state.config.form_files_limit.saturating_sub(u64::try_from(used).unwrap_or(0));
    let posted = upload::read(&state, request, &step, room).await?;
    if !session::same_origin(&headers) || !session::tokens_match(&d.csrf, posted.get("csrf").unwrap_or_default()) {
        return Err(AppError::Forbidden);
    }
    handle_step(&state, &mut j, &headers, d, &step_id, posted).await
}

/// Inputs of a step page that are not answers.
const RESERVED: &[&str] = &["csrf", "token", "aktion", "zurueck"];

/// Reads, checks and stores a posted step; then continues, goes back, saves, or
/// shows the step again with its errors.
async fn handle_step(
    state: &AppState,
    j: &mut Journey,
    headers: &HeaderMap,
    d: ApplicationDraft,
    step_id: &str,
    posted: upload::Posted,
) -> Result<Response, AppError> {
    let before = draft_answers(state, &d).await?;
    let Some(step) = j.form.steps.iter().find(|s| s.id == step_id).cloned() else { return Err(AppError::NotFound) };
    let action = posted.get("aktion").unwrap_or("weiter").to_owned();
    let back_to_check = posted.get("zurueck") == Some("pruefen");
    let read = fields::read_step(&j.form, &step, &before, &posted.pairs, RESERVED);
    let (prefilled, locked) = prefill(state, j).await?;

    let mut errors: Vec<(String, String)> = Vec::new();
    if !read.foreign.is_empty() {
        // Inputs this page never showed: a forged request or a page from an older
        // version of the form. Nothing of it is stored.
        let files = draft_files(state, &d).await?;
        let page = StepPage {
            step: &step,
            answers: &before,
            errors: vec![(
                String::new(),
                "Die gesendeten Angaben passen nicht zu dieser Seite. Bitte füllen Sie die Seite noch einmal aus; es wurde nichts gespeichert.".into(),
            )],
            files: &files,
            locked: &locked,
            action: format!("{}{}", j.draft_url(&d.token), step.id),
            token: d.token.clone(),
            csrf: d.csrf.clone(),
            back_to_check,
        };
        return render_step(state, j, headers, &page);
    }

    // Merge: this step's answers replace what was there; locked values stay as the
    // ID provider said.
    let ids = fields::ids_of(&step);
    let mut answers: Answers =
        before.iter().filter(|(k, _)| !ids.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    answers.extend(fields::without_empty(read.answers));
    for id in &locked {
        if ids.contains(id)
            && let Some(v) = prefilled.get(id)
        {
            answers.insert(id.clone(), v.clone());
        }
    }
    // Keep the files this step already has unless the citizen removes them.
    let mut files = draft_files(state, &d).await?;
    for f in &files {
        if ids.contains(&f.field) {
            answers.insert(f.field.clone(), Answer::One(format!("datei:{}", f.id)));
        }
    }
    if let Some(id) = action.strip_prefix("datei_entfernen:")
        && let Some(f) = files.iter().find(|f| f.id.to_string() == id && ids.contains(&f.field)).cloned()
    {
        let mut tx = state.store.begin().await?;
        let key = tx.remove_application_draft_file(&d.token, f.id).await?;
        tx.commit().await?;
        if let Some(k) = key {
            let _ = state.objects.delete(&object_store::path::Path::from(k)).await;
        }
        answers.remove(&f.field);
        files.retain(|x| x.id != f.id);
    }
    for (field, message) in &posted.problems {
        errors.push((field.clone(), message.clone()));
    }
    for pf in posted.files {
        let field = pf.field.clone();
        match upload::check(state, &j.form, pf).await? {
            Ok(checked) => {
                let replaced: Vec<i64> = files.iter().filter(|f| f.field == checked.field).map(|f| f.id).collect();
                let id = store_file(state, j, &d, &checked).await?;
                let mut tx = state.store.begin().await?;
                let mut old_keys = Vec::new();
                for old in &replaced {
                    old_keys.extend(tx.remove_application_draft_file(&d.token, *old).await?);
                }
                tx.commit().await?;
                for k in old_keys {
                    let _ = state.objects.delete(&object_store::path::Path::from(k)).await;
                }
                files.retain(|f| f.field != checked.field);
                files.push(FileInfo {
                    id,
                    field: checked.field.clone(),
                    name: checked.name.clone(),
                    size: checked.bytes.len() as i64,
                });
                answers.insert(checked.field.clone(), Answer::One(format!("datei:{id}")));
            }
            Err(message) => errors.push((field, message)),
        }
    }

    // Rows of repeating groups: add or remove one, then show the page again.
    if let Some(g) = action.strip_prefix("zeile_hinzufuegen:") {
        add_row(&j.form, &mut answers, g);
        save(state, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}#g-{g}", j.draft_url(&d.token), step.id)).into_response());
    }
    if let Some(rest) = action.strip_prefix("zeile_entfernen:") {
        if let Some((g, i)) = rest.rsplit_once(':')
            && let Ok(i) = i.parse::<usize>()
            && let Some(Answer::Rows(rows)) = answers.get_mut(g)
            && i < rows.len()
        {
            rows.remove(i);
        }
        save(state, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}#g-{rest}", j.draft_url(&d.token), step.id)).into_response());
    }

    let answers = amtsweg_forms::keep_asked(&j.form, &answers);
    if action == "zurueck" {
        save(state, &d, &answers, &step.id).await?;
        let (prev, _) = neighbours(&j.form, &answers, &step.id);
        let to = prev.map_or_else(|| j.base_url(), |p| format!("{}{}", j.draft_url(&d.token), p.id));
        return Ok(Redirect::to(&to).into_response());
    }
    if action == "speichern" {
        save(state, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}gespeichert", j.draft_url(&d.token))).into_response());
    }
    if action.starts_with("datei_entfernen:") {
        save(state, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}", j.draft_url(&d.token), step.id)).into_response());
    }

    for p in amtsweg_forms::validate(&j.form, Some(&step.id), &answers, today()) {
        errors.push((p.path, p.message));
    }
    errors.extend(submit::server_checks(state, &j.form, Some(&step), &answers, &files));
    save(state, &d, &answers, &step.id).await?;
    if !errors.is_empty() {
        let page = StepPage {
            step: &step,
            answers: &answers,
            errors,
            files: &files,
            locked: &locked,
            action: format!("{}{}", j.draft_url(&d.token), step.id),
            token: d.token.clone(),
            csrf: d.csrf.clone(),
            back_to_check,
        };
        return render_step(state, j, headers, &page);
    }
    let (_, next) = neighbours(&j.form, &answers, &step.id);
    let to = match next {
        Some(n) if !back_to_check => format!("{}{}", j.draft_url(&d.token), n.id),
        _ => format!("{}pruefen", j.draft_url(&d.token)),
    };
    Ok(Redirect::to(&to).into_response())
}

fn add_row(form: &Form, answers: &mut Answers, group: &str) {
    let Some(max) = form.steps.iter().flat_map(|s| &s.items).find_map(|i| match i {
        amtsweg_forms::Item::Group(g) if g.id == group => g.repeat.map(|r| r.max),
        _ => None,
    }) else {
        return;
    };
    let rows = match answers.entry(group.to_owned()).or_insert_with(|| Answer::Rows(Vec::new())) {
        Answer::Rows(r) => r,
        other => {
            *other = Answer::Rows(Vec::new());
            let Answer::Rows(r) = other else { return };
            r
        }
    };
    // The page always shows at least one row; adding makes it one more than shown.
    if rows.is_empty() {
        rows.push(BTreeMap::new());
    }
    if (rows.len() as u32) < max {
        rows.push(BTreeMap::new());
    }
}

async fn save(state: &AppState, d: &ApplicationDraft, answers: &Answers, step: &str) -> Result<(), AppError> {
    let sealed = seal_answers(state, d.authority_id, answers).await?;
    let mut tx = state.store.begin().await?;
    tx.save_application_draft(&d.token, &sealed, step, amtsweg_store::now_ms() + draft_ttl_ms(state)).await?;
    tx.commit().await?;
    Ok(())
}

/// Seals and stores a checked file under the authority's prefix; returns its id.
async fn store_file(
    state: &AppState,
    j: &Journey,
    d: &ApplicationDraft,
    f: &upload::CheckedFile,
) -> Result<i64, AppError> {
    let scope = crate::konto::daten::authority_scope(j.authority.id);
    let key = format!("authorities/{}/antraege/{}", j.authority.id, session::random_token());
    let sealed = state.keyring.seal(&state.store, &scope, FILE, &f.bytes).await?;
    let name = state.keyring.seal(&state.store, &scope, FILE_NAME, f.name.as_bytes()).await?;
    state
        .objects
        .put(&object_store::path::Path::from(key.as_str()), sealed.into_bytes().into())
        .await
        .map_err(|e| AppError::Objects(e.to_string()))?;
    let mut tx = state.store.begin().await?;
    let id = tx
        .add_application_draft_file(
            &d.token,
            &NewFile {
                field: &f.field,
                file_name: &name,
                content_type: f.kind.content_type(),
                size: i64::try_from(f.bytes.len()).unwrap_or(i64::MAX),
                sha256: &f.sha256,
                object_key: &key,
            },
        )
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Reads a stored file back (sealed under the authority's key).
pub(crate) async fn read_file(state: &AppState, authority_id: i64, object_key: &str) -> Result<Vec<u8>, AppError> {
    let sealed = match state.objects.get(&object_store::path::Path::from(object_key)).await {
        Ok(r) => r.bytes().await.map_err(|e| AppError::Objects(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Objects(e.to_string())),
    };
    let sealed =
        String::from_utf8(sealed.to_vec()).map_err(|_| AppError::Internal("stored file is not sealed".into()))?;
    let scope = crate::konto::daten::authority_scope(authority_id);
    Ok(state.keyring.open(&state.store, &scope, FILE, &sealed).await?)
}

pub(crate) async fn open_file_name(state: &AppState, authority_id: i64, sealed: &str) -> String {
    let scope = crate::konto::daten::authority_scope(authority_id);
    state.keyring.open_text(&state.store, &scope, FILE_NAME, sealed).await.unwrap_or_else(|_| "Datei".to_owned())
}

/// One of the draft's own files, as a download.
pub(crate) async fn draft_file(
    State(state): State<AppState>,
    mut j: Journey,
    Path((_, _, token, id)): Path<(String, String, String, i64)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let f = state
        .store
        .application_draft_files(&d.token)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(AppError::NotFound)?;
    let bytes = read_file(&state, d.authority_id, &f.object_key).await?;
    let name = open_file_name(&state, d.authority_id, &f.file_name).await;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}

/// Deletes expired drafts with their files (run periodically).
///
/// # Errors
/// On store errors.
pub async fn sweep_expired(state: &AppState) -> Result<u64, AppError> {
    let mut total = 0;
    loop {
        let mut tx = state.store.begin().await?;
        let (n, keys) = tx.delete_expired_application_drafts(amtsweg_store::now_ms(), 200).await?;
        tx.commit().await?;
        for k in keys {
            let _ = state.objects.delete(&object_store::path::Path::from(k)).await;
        }
        total += n;
        if n < 200 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_nonce;

    #[test]
    fn form_token_nonces_sort_in_time_order_and_stay_unguessable() {
        let times = [0, 63, 64, 1_700_000_000_000, 1_796_000_000_000, 1_796_000_000_001, 4_000_000_000_000];
        let nonces: Vec<String> = times.iter().map(|t| new_nonce(*t)).collect();
        for n in &nonces {
            assert_eq!(n.len(), 22);
            assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{n}");
        }
        assert!(nonces.windows(2).all(|w| w[0] < w[1]), "{nonces:?}");
        // Same millisecond: the random part differs.
        assert_ne!(new_nonce(1_796_000_000_000), new_nonce(1_796_000_000_000));
    }
}
