//! The staff back office under `/verwaltung/`: sign-in with second factor, sign-out
//! (here and everywhere), the start page and the audit log.

pub(crate) mod antraege;
pub(crate) mod audit_view;
pub(crate) mod bibliothek;
pub mod darstellung;
pub(crate) mod formulare;
pub(crate) mod konten;
pub(crate) mod leistungen;
pub(crate) mod login;
pub(crate) mod mitarbeitende;
mod nav;
pub(crate) mod schnittstellen;
pub(crate) mod seiten;
pub(crate) mod standorte;
pub(crate) mod stellen;
pub(crate) mod termine;
pub(crate) mod verbund;
pub(crate) mod zahlungen;
pub(crate) mod zustaendigkeit;

use crate::AppState;
use crate::error::AppError;
use crate::session::{self, ActiveSession};
use amtsweg_domain::staff::Permissions;
use amtsweg_store::staff::StaffUser;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// A signed-in staff member with their permissions.
pub struct StaffContext {
    pub user: StaffUser,
    pub perms: Permissions,
    pub session: ActiveSession,
    /// What waits for this person (the navigation's counts), read once per request.
    pub waiting: amtsweg_store::workload::Waiting,
}

impl StaffContext {
    fn actor(&self) -> String {
        format!("staff:{}", self.user.id)
    }

    /// The authority named in the path if this person may edit its content
    /// (404 when unknown, 403 when not theirs).
    pub(crate) fn content_authority(
        &self,
        state: &AppState,
        slug: &str,
    ) -> Result<amtsweg_domain::Authority, AppError> {
        let a = state.catalogue().authority_by_slug(slug).cloned().ok_or(AppError::NotFound)?;
        if self.perms.can_edit_content(a.id) { Ok(a) } else { Err(AppError::Forbidden) }
    }

    /// The authority named in the path if this person administers it.
    pub(crate) fn administered_authority(
        &self,
        state: &AppState,
        slug: &str,
    ) -> Result<amtsweg_domain::Authority, AppError> {
        let a = state.catalogue().authority_by_slug(slug).cloned().ok_or(AppError::NotFound)?;
        if self.perms.can_administer(a.id) { Ok(a) } else { Err(AppError::Forbidden) }
    }

    /// The authority named in the path if this person may edit what belongs to it
    /// as a whole (locations, plain pages, new org units) — not only one org unit.
    pub(crate) fn authority_wide(&self, state: &AppState, slug: &str) -> Result<amtsweg_domain::Authority, AppError> {
        let a = self.content_authority(state, slug)?;
        if self.perms.can_edit_authority_wide(a.id) { Ok(a) } else { Err(AppError::Forbidden) }
    }

    /// This person may edit content of `org_unit_id` in the authority (org-unit scoped roles).
    pub(crate) fn require_unit_of(&self, authority_id: i64, org_unit_id: Option<i64>) -> Result<(), AppError> {
        if self.perms.can_edit_in_unit(authority_id, org_unit_id) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// This person may edit this service (its org unit is within their grant).
    pub(crate) fn require_unit(&self, l: &amtsweg_domain::Leistung) -> Result<(), AppError> {
        self.require_unit_of(l.authority_id, l.org_unit_id)
    }

    pub(crate) fn require_verbund_admin(&self) -> Result<(), AppError> {
        if self.perms.is_verbund_admin() { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// The form was sent from a page of this session: its CSRF token and an
    /// `Origin`/`Referer` of this host.
    pub(crate) fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), AppError> {
        crate::csrf::check(headers, &self.session.record.csrf_token, token)
    }
}

pub(crate) use crate::urls::urlencode;

/// Handlers take a `StaffContext` argument: without a live session the request is
/// sent to sign in (or to the second factor) before the handler runs.
impl axum::extract::FromRequestParts<AppState> for StaffContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let staff = require_staff(state, &parts.headers, &parts.uri).await?;
        // What `Csrf<Form<_>>` compares the posted token with.
        parts.extensions.insert(crate::csrf::ExpectedCsrf(staff.session.record.csrf_token.clone()));
        Ok(staff)
    }
}

/// Where to go to sign in, returning to `uri` afterwards.
fn login_redirect(uri: &Uri) -> Response {
    let back = uri.path_and_query().map_or("/verwaltung/", |p| p.as_str());
    Redirect::to(&format!("/verwaltung/anmelden?weiter={}", urlencode(back))).into_response()
}

/// The staff member of this request, or the response that sends them to sign in.
pub async fn require_staff(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<StaffContext, Response> {
    let session = match session::current(state, headers, "staff").await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(login_redirect(uri)),
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    let user = match state.store.staff_by_id(session.record.subject_id).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return Err(login_redirect(uri)),
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    let grants = state.store.grants_of(user.id).await.map_err(|e| AppError::from(e).into_response())?;
    let perms = Permissions::new(grants);
    let needs_code = perms.requires_second_factor() || user.totp_secret.is_some();
    if needs_code && !session.record.second_factor_done {
        return Err(Redirect::to("/verwaltung/anmelden/code").into_response());
    }
    let mut staff = StaffContext { user, perms, session, waiting: amtsweg_store::workload::Waiting::default() };
    let scope = staff.perms.case_scope();
    staff.waiting = state
        .store
        .waiting(&scope, amtsweg_forms::workflow::RECEIVED)
        .await
        .map_err(|e| AppError::from(e).into_response())?;
    Ok(staff)
}

pub(crate) use amtsweg_portal::time::berlin_time;

/// Context shared by every back-office page.
fn base(state: &AppState, staff: Option<&StaffContext>, path: &str) -> Value {
    let catalogue = state.catalogue();
    let areas = staff.map(|s| nav::areas(state, s, path));
    let staff_ctx = staff.map(|s| {
        let ends = jiff::Timestamp::from_millisecond(s.session.ends_at())
            .ok()
            .map(|t| t.to_zoned(crate::render::berlin()).strftime("%H:%M").to_string());
        context! {
            name => &s.user.display_name,
            csrf => &s.session.record.csrf_token,
            ends_at => ends,
            ends_at_ms => s.session.ends_at(),
            idle_minutes => state.config.staff_idle_minutes,
            is_verbund_admin => s.perms.is_verbund_admin(),
            works_cases => s.perms.works_cases(),
            is_admin => s.perms.is_verbund_admin() || s.perms.grants().iter().any(|g| g.role == amtsweg_domain::staff::Role::AuthorityAdmin),
        }
    });
    context! {
        verbund_name => &catalogue.verbund_name, staff => staff_ctx, path,
        areas => areas.as_ref().map(|a| &a.main), subareas => areas.as_ref().map(|a| &a.sub),
    }
}

pub(crate) async fn start(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let roles: Vec<Value> = staff
        .perms
        .grants()
        .iter()
        .map(|g| {
            let authority = g.authority_id.and_then(|id| catalogue.authority(id)).map(|a| a.name.clone());
            context! { label => g.role.label(), authority => authority.unwrap_or_else(|| "alle Behörden des Verbunds".to_owned()) }
        })
        .collect();
    let authorities: Vec<Value> = catalogue
        .authorities
        .iter()
        .filter(|a| staff.perms.can_enter(a.id))
        .map(|a| {
            context! {
                name => &a.name, slug => a.slug.as_str(),
                services => catalogue.leistungen_of(a.id).count(),
                can_edit => staff.perms.can_edit_content(a.id),
                can_administer => staff.perms.can_administer(a.id),
            }
        })
        .collect();
    let cards = nav::cards(&state, &staff);
    let ctx = context! { roles, authorities, cards, has_totp => staff.user.totp_secret.is_some(), ..base(&state, Some(&staff), "/verwaltung/") };
    Ok(crate::render::render_page(&state, "verwaltung/start.html", ctx)?.into_response())
}
