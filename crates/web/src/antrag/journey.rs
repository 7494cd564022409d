//! Who fills in which form where: the [`Journey`] every handler of the application
//! journey starts from (authority, published form and version, the citizen or this
//! browser), the signed form token, the draft cookie, access to a draft, prefilled
//! answers from the account and the page context shared by every journey page.

use super::DRAFT_COOKIE;
use crate::AppState;
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::render::{Crumb, base_context};
use crate::session;
use amtsweg_domain::konto::ProfileField;
use amtsweg_domain::{Authority, TrustLevel};
use amtsweg_forms::{Answer, Answers, Field, Form, Item, Kind, Prefill};
use amtsweg_portal::catalogue::PublishedForm;
use amtsweg_portal::submission::{self, Application, Owner};
use amtsweg_store::submissions::ApplicationDraft;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

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
    /// The values taken from the citizen's account, once [`prefill`] has run.
    account: OnceLock<Answers>,
}

impl Journey {
    pub(super) fn base_url(&self) -> String {
        format!("/o/{}/antrag/{}/", self.authority.slug, self.published.slug)
    }

    pub(super) fn draft_url(&self, token: &str) -> String {
        format!("{}{token}/", self.base_url())
    }

    pub(super) fn may_access(&self, owner: Option<i64>, browser_hash: &str) -> bool {
        if let Some(c) = &self.citizen
            && owner == Some(c.citizen.id)
        {
            return true;
        }
        !browser_hash.is_empty()
            && self.browser.as_deref().is_some_and(|b| session::tokens_match(&session::hash_token(b), browser_hash))
    }

    /// The receipt page of the submission made with `token`.
    pub(super) fn receipt_url(&self, token: &str) -> String {
        format!("{}eingang/{token}", self.base_url())
    }

    /// The application of this journey with form token `token`, ready to be stored.
    pub(super) fn application<'a>(&'a self, token: &'a str, owner: Owner, answers: &Answers) -> Application<'a> {
        let account = self.citizen.as_ref().and_then(|c| c.citizen.email.as_deref());
        Application {
            authority: &self.authority,
            published: &self.published,
            form: &self.form,
            version: self.version,
            token,
            owner,
            email: submission::contact_email(account, &self.form, answers),
            receipt_path: self.receipt_url(token),
        }
    }

    /// The values [`prefill`] took from the citizen's account (none before it ran).
    pub(super) fn account_values(&self) -> Option<&Answers> {
        self.account.get()
    }

    pub(super) fn trust_needed(&self) -> TrustLevel {
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
    Ok(Journey {
        form: published.form.clone(),
        version: published.version,
        authority,
        published,
        citizen,
        browser,
        account: OnceLock::new(),
    })
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
    pub(super) async fn use_version(&mut self, state: &AppState, version: i64) -> Result<(), AppError> {
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
        self.account = OnceLock::new();
        Ok(())
    }
}

/// The signed form token of a new application: `<nonce>.<version>.<tag>`.
pub(super) fn issue_token(state: &AppState, j: &Journey) -> Result<String, AppError> {
    let nonce = new_nonce(jiff::Timestamp::now().as_millisecond());
    let body = format!("{nonce}.{}", j.version);
    let tag = state.portal.keyring.mac(&format!("antrag|{}|{}|{body}", j.authority.id, j.published.form_id))?;
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
pub(super) fn verify_token(state: &AppState, j: &Journey, token: &str) -> Option<(String, i64)> {
    let (body, tag) = token.rsplit_once('.')?;
    let (nonce, version) = body.split_once('.')?;
    let version: i64 = version.parse().ok()?;
    let expected =
        state.portal.keyring.mac(&format!("antrag|{}|{}|{body}", j.authority.id, j.published.form_id)).ok()?;
    (nonce.len() == 22 && session::tokens_match(&expected, tag)).then(|| (nonce.to_owned(), version))
}

/// The CSRF token of the first page: the session's for a signed-in citizen, else
/// tied to this browser's draft cookie and the form token.
pub(super) fn first_csrf(state: &AppState, j: &Journey, browser: &str, nonce: &str) -> Result<String, AppError> {
    match &j.citizen {
        Some(c) => Ok(c.session.record.csrf_token.clone()),
        None => Ok(state.portal.keyring.mac(&format!("antrag-csrf|{browser}|{nonce}"))?),
    }
}

/// Adds the draft cookie (new or refreshed) to a response.
pub(super) fn with_browser_cookie(state: &AppState, mut r: Response, browser: &str) -> Response {
    if let Some(c) = session::set_cookie(DRAFT_COOKIE, browser, state.portal.settings.draft_ttl_ms() / 1000) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    no_store(r)
}

/// Application pages hold a citizen's answers and tokens: never kept by caches.
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The draft of a token, if this citizen or browser may see it (404 otherwise); an
/// anonymous draft opened by its (now signed-in) owner moves into their account.
pub(crate) async fn load_draft(state: &AppState, j: &mut Journey, token: &str) -> Result<ApplicationDraft, AppError> {
    match find_draft(state, j, token).await? {
        Some(d) => Ok(d),
        // Sent already (the browser's Back after submitting): say so, not "not found".
        None => Err(super::eingang::after_submission(state, j, token).await),
    }
}

/// As [`load_draft`], but `None` when no draft has this token at all (it may have
/// become a submission): one read of the draft row either way.
pub(crate) async fn find_draft(
    state: &AppState,
    j: &mut Journey,
    token: &str,
) -> Result<Option<ApplicationDraft>, AppError> {
    let Some(d) = state.store.application_draft(token).await? else { return Ok(None) };
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
    Ok(Some(d))
}

/// The submission of a token, if this citizen or browser may see it.
pub(crate) async fn own_submission(
    state: &AppState,
    j: &mut Journey,
    token: &str,
) -> Result<amtsweg_store::submissions::SubmissionRow, AppError> {
    let s = state.store.submission_by_token(token).await?.ok_or(AppError::NotFound)?;
    if s.authority_id != j.authority.id
        || s.form_id != j.published.form_id
        || !j.may_access(s.citizen_id, &s.browser_hash)
    {
        return Err(AppError::NotFound);
    }
    j.use_version(state, s.form_version).await?;
    Ok(s)
}

/// What a field takes from the citizen's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FromAccount {
    /// Given and family name, one answer.
    Name,
    GivenName,
    FamilyName,
    BirthDate,
    /// Street, PLZ and place as an address answer ("street\nPLZ place").
    Address,
    Street,
    Plz,
    City,
    Phone,
    /// The account's e-mail address.
    Email,
}

impl FromAccount {
    /// The profile values this takes, in order.
    fn parts(self) -> &'static [ProfileField] {
        match self {
            Self::Name => &[ProfileField::GivenName, ProfileField::FamilyName],
            Self::GivenName => &[ProfileField::GivenName],
            Self::FamilyName => &[ProfileField::FamilyName],
            Self::BirthDate => &[ProfileField::BirthDate],
            Self::Address => &[ProfileField::Street, ProfileField::Plz, ProfileField::City],
            Self::Street => &[ProfileField::Street],
            Self::Plz => &[ProfileField::Plz],
            Self::City => &[ProfileField::City],
            Self::Phone => &[ProfileField::Phone],
            Self::Email => &[],
        }
    }
}

/// Which account value a field takes: the one its form declares (`prefill`), or —
/// for a field directly on a step, not in a group, which may be about someone else
/// — the one its type and conventional id clearly ask for (`vorname`, `geburtsdatum`,
/// `strasse`, `plz`, `ort`, an address `anschrift`/`hauptwohnung`, `telefon`, any
/// e-mail field). Forms written before prefill could be declared (and imported
/// ones) thus get the citizen's data too; the value stays editable and is marked.
fn from_account(field: &Field, on_step: bool) -> Option<FromAccount> {
    if let Some(p) = field.prefill {
        return Some(match p {
            Prefill::Name => FromAccount::Name,
            Prefill::GivenName => FromAccount::GivenName,
            Prefill::FamilyName => FromAccount::FamilyName,
            Prefill::BirthDate => FromAccount::BirthDate,
            Prefill::Address => FromAccount::Address,
            Prefill::Phone => FromAccount::Phone,
            Prefill::Email => FromAccount::Email,
        });
    }
    if !on_step {
        return None;
    }
    let text = matches!(field.kind, Kind::Text { .. } | Kind::Name);
    Some(match (field.id.as_str(), &field.kind) {
        ("vorname" | "vornamen", _) if text => FromAccount::GivenName,
        ("familienname" | "nachname", _) if text => FromAccount::FamilyName,
        ("name", Kind::Name) => FromAccount::Name,
        ("geburtsdatum", Kind::BirthDate { .. }) => FromAccount::BirthDate,
        ("anschrift" | "wohnanschrift" | "hauptwohnung" | "wohnung" | "adresse", Kind::Address { .. }) => {
            FromAccount::Address
        }
        ("strasse" | "strasse_hausnummer", Kind::Text { .. }) => FromAccount::Street,
        ("plz" | "postleitzahl", Kind::Plz | Kind::Text { .. }) => FromAccount::Plz,
        ("ort" | "wohnort", Kind::Text { .. }) => FromAccount::City,
        ("telefon" | "telefonnummer", Kind::Phone) => FromAccount::Phone,
        (_, Kind::Email) => FromAccount::Email,
        _ => return None,
    })
}

/// Values from the citizen's account for the fields that map to them (see
/// [`from_account`]); `locked` names the declared ones an ID provider vouched for
/// (they cannot be changed in the form). The values are also kept on the journey, so the step
/// page can mark the fields that still show them.
pub(super) async fn prefill(state: &AppState, j: &Journey) -> Result<(Answers, BTreeSet<String>), AppError> {
    let mut answers = Answers::new();
    let mut locked = BTreeSet::new();
    let Some(c) = &j.citizen else { return Ok((answers, locked)) };
    let profile = amtsweg_portal::profile::profile(&state.portal, c.citizen.id).await?;
    let value = |f: ProfileField| profile.iter().find(|p| p.field == f.key() && !p.value.trim().is_empty());
    let fields = j.form.steps.iter().flat_map(|s| &s.items).flat_map(|i| match i {
        Item::Field(f) => vec![(f, true)],
        Item::Group(g) if g.repeat.is_none() => g.fields.iter().map(|f| (f, false)).collect(),
        Item::Group(_) => Vec::new(),
    });
    for (field, on_step) in fields {
        let Some(wanted) = from_account(field, on_step) else { continue };
        if wanted == FromAccount::Email {
            if let Some(e) = c.citizen.email.as_deref().filter(|e| !e.is_empty()) {
                answers.insert(field.id.clone(), Answer::One(e.to_owned()));
            }
            continue;
        }
        let Some(found) = wanted.parts().iter().map(|f| value(*f)).collect::<Option<Vec<_>>>() else { continue };
        let text = match found.as_slice() {
            [street, plz, city] if wanted == FromAccount::Address => {
                format!("{}\n{} {}", street.value.trim(), plz.value.trim(), city.value.trim())
            }
            _ => found.iter().map(|e| e.value.trim()).collect::<Vec<_>>().join(" "),
        };
        answers.insert(field.id.clone(), Answer::One(text));
        // Only a form that declares the prefill locks ID-provided values; a field mapped
        // by convention stays editable, in case the convention misreads it.
        if field.prefill.is_some() && found.iter().all(|e| e.source.is_locked()) {
            locked.insert(field.id.clone());
        }
    }
    // The first computation for this version stays (a later one gives the same).
    let _ = j.account.set(answers.clone());
    Ok((answers, locked))
}

/// Page context of every journey page.
pub(super) fn base(state: &AppState, j: &Journey, headers: &HeaderMap, path: &str, here: &str) -> minijinja::Value {
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

#[cfg(test)]
mod tests {
    use super::{FromAccount, from_account, new_nonce};

    fn field(json: &str) -> amtsweg_forms::Field {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fields_map_to_account_values_by_declaration_or_clear_convention() {
        let map = |json: &str, on_step: bool| from_account(&field(json), on_step);
        let f = |id: &str, kind: &str| format!(r#"{{"id": "{id}", "label": "x", "type": "{kind}"}}"#);
        assert_eq!(map(&f("vorname", "name"), true), Some(FromAccount::GivenName));
        assert_eq!(map(&f("familienname", "name"), true), Some(FromAccount::FamilyName));
        assert_eq!(map(&f("name", "name"), true), Some(FromAccount::Name));
        assert_eq!(map(&f("geburtsdatum", "birth_date"), true), Some(FromAccount::BirthDate));
        assert_eq!(map(&f("hauptwohnung", "address"), true), Some(FromAccount::Address));
        assert_eq!(map(&f("strasse", "text"), true), Some(FromAccount::Street));
        assert_eq!(map(&f("plz", "plz"), true), Some(FromAccount::Plz));
        assert_eq!(map(&f("ort", "text"), true), Some(FromAccount::City));
        assert_eq!(map(&f("telefon", "phone"), true), Some(FromAccount::Phone));
        assert_eq!(map(&f("kontakt", "email"), true), Some(FromAccount::Email));
        // Not the citizen's: someone else's data, a place of business, a fire's place.
        assert_eq!(map(&f("kind_vorname", "name"), true), None);
        assert_eq!(map(&f("geburtsname", "name"), true), None);
        assert_eq!(map(&f("betriebsstaette", "address"), true), None);
        assert_eq!(map(&f("ort", "long_text"), true), None);
        assert_eq!(map(&f("name", "text"), true), None);
        assert_eq!(map(&f("vorname", "name"), false), None, "in a group: only when declared");
        let declared = r#"{"id": "x", "label": "x", "type": "name", "prefill": "given_name"}"#;
        assert_eq!(map(declared, false), Some(FromAccount::GivenName));
    }

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
