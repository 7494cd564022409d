//! The staff back office under `/verwaltung/`: sign-in with second factor, sign-out
//! (here and everywhere), the start page and the audit log.

mod antraege;
mod audit_view;
mod bibliothek;
pub mod darstellung;
mod formulare;
mod konten;
mod leistungen;
mod login;
mod schnittstellen;
mod seiten;
mod standorte;
mod stellen;
mod verbund;
mod zustaendigkeit;

use crate::AppState;
use crate::error::AppError;
use crate::session::{self, ActiveSession};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::Permissions;
use amtsweg_store::staff::StaffUser;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::{Value, context};

/// Every back-office route: path, HTTP methods, handlers. The router is built from
/// this table and the tenant-isolation test walks the same table, so a new route is
/// covered by that test the moment it exists.
fn table() -> Vec<(&'static str, &'static [&'static str], MethodRouter<AppState>)> {
    vec![
        ("/verwaltung", &["GET"], get(crate::pages::add_slash)),
        ("/verwaltung/", &["GET"], get(start)),
        ("/verwaltung/anmelden", &["GET", "POST"], get(login::form).post(login::submit)),
        ("/verwaltung/anmelden/code", &["GET", "POST"], get(login::code_form).post(login::code_submit)),
        ("/verwaltung/abmelden", &["POST"], post(login::logout)),
        ("/verwaltung/ueberall-abmelden", &["POST"], post(login::logout_everywhere)),
        ("/verwaltung/zweiter-faktor", &["POST"], post(login::enrol_second_factor)),
        ("/verwaltung/protokoll/", &["GET"], get(audit_view::page)),
        ("/verwaltung/behoerden/{slug}/schnittstellen/", &["GET"], get(schnittstellen::page)),
        ("/verwaltung/behoerden/{slug}/schnittstellen/verbindungen", &["POST"], post(schnittstellen::create_connector)),
        (
            "/verwaltung/behoerden/{slug}/schnittstellen/verbindungen/{id}",
            &["POST"],
            post(schnittstellen::toggle_connector),
        ),
        ("/verwaltung/behoerden/{slug}/schnittstellen/zugaenge", &["POST"], post(schnittstellen::create_client)),
        (
            "/verwaltung/behoerden/{slug}/schnittstellen/zugaenge/{id}/widerrufen",
            &["POST"],
            post(schnittstellen::revoke_client),
        ),
        ("/verwaltung/behoerden/{slug}/schnittstellen/abgleich.csv", &["GET"], get(schnittstellen::reconciliation)),
        ("/verwaltung/antraege", &["GET"], get(crate::pages::add_slash)),
        ("/verwaltung/antraege/", &["GET"], get(antraege::list)),
        ("/verwaltung/antraege/{id}", &["GET"], get(antraege::detail)),
        ("/verwaltung/antraege/{id}/quittung.pdf", &["GET"], get(antraege::pdf)),
        ("/verwaltung/antraege/{id}/datei/{index}", &["GET"], get(antraege::file)),
        ("/verwaltung/antraege/{id}/stand", &["POST"], post(antraege::change_status)),
        ("/verwaltung/antraege/{id}/nachricht", &["POST"], post(antraege::message)),
        ("/verwaltung/antraege/{id}/notiz", &["POST"], post(antraege::note)),
        ("/verwaltung/antraege/{id}/zuweisung", &["POST"], post(antraege::assign)),
        ("/verwaltung/antraege/{id}/zustellungen/{delivery}/erneut", &["POST"], post(antraege::resend)),
        ("/verwaltung/protokoll.csv", &["GET"], get(audit_view::csv)),
        ("/verwaltung/behoerden/{slug}/leistungen/", &["GET"], get(leistungen::list)),
        (
            "/verwaltung/behoerden/{slug}/leistungen/neu",
            &["GET", "POST"],
            get(leistungen::new_form).post(leistungen::create),
        ),
        (
            "/verwaltung/behoerden/{slug}/leistungen/{id}",
            &["GET", "POST"],
            get(leistungen::edit_form).post(leistungen::edit_submit),
        ),
        ("/verwaltung/behoerden/{slug}/leistungen/{id}/vorschau", &["GET"], get(leistungen::preview)),
        ("/verwaltung/behoerden/{slug}/leistungen/{id}/zurueckziehen", &["POST"], post(leistungen::withdraw)),
        ("/verwaltung/behoerden/{slug}/leistungen/{id}/versionen", &["GET"], get(leistungen::history)),
        (
            "/verwaltung/behoerden/{slug}/leistungen/{id}/versionen/{revision}/wiederherstellen",
            &["POST"],
            post(leistungen::restore),
        ),
        ("/verwaltung/behoerden/{slug}/leistungen/{id}/bibliothek", &["POST"], post(bibliothek::service_action)),
        ("/verwaltung/bibliothek/", &["GET"], get(bibliothek::list)),
        ("/verwaltung/bibliothek/{entry}", &["GET"], get(bibliothek::entry)),
        ("/verwaltung/behoerden/{slug}/bibliothek/{entry}/uebernehmen", &["POST"], post(bibliothek::adopt)),
        ("/verwaltung/behoerden/{slug}/stellen/", &["GET"], get(stellen::list)),
        (
            "/verwaltung/behoerden/{slug}/stellen/neu",
            &["GET", "POST"],
            get(stellen::unit_new).post(stellen::unit_create),
        ),
        (
            "/verwaltung/behoerden/{slug}/stellen/{id}",
            &["GET", "POST"],
            get(stellen::unit_edit).post(stellen::unit_update),
        ),
        (
            "/verwaltung/behoerden/{slug}/kontakte/neu",
            &["GET", "POST"],
            get(stellen::contact_new).post(stellen::contact_create),
        ),
        (
            "/verwaltung/behoerden/{slug}/kontakte/{id}",
            &["GET", "POST"],
            get(stellen::contact_edit).post(stellen::contact_update),
        ),
        ("/verwaltung/behoerden/{slug}/standorte/", &["GET"], get(standorte::list)),
        (
            "/verwaltung/behoerden/{slug}/standorte/neu",
            &["GET", "POST"],
            get(standorte::new_form).post(standorte::create),
        ),
        (
            "/verwaltung/behoerden/{slug}/standorte/{id}",
            &["GET", "POST"],
            get(standorte::edit_form).post(standorte::update),
        ),
        ("/verwaltung/behoerden/{slug}/seiten/", &["GET"], get(seiten::list)),
        (
            "/verwaltung/behoerden/{slug}/seiten/{kind}",
            &["GET", "POST"],
            get(seiten::edit_form).post(seiten::edit_submit),
        ),
        ("/verwaltung/behoerden/{slug}/seiten/{kind}/vorschau", &["GET"], get(seiten::preview)),
        ("/verwaltung/behoerden/{slug}/seiten/{kind}/versionen", &["GET"], get(seiten::history)),
        (
            "/verwaltung/behoerden/{slug}/seiten/{kind}/versionen/{revision}/wiederherstellen",
            &["POST"],
            post(seiten::restore),
        ),
        ("/verwaltung/behoerden/{slug}/formulare/", &["GET"], get(formulare::list)),
        ("/verwaltung/behoerden/{slug}/formulare/neu", &["POST"], post(formulare::new_form)),
        ("/verwaltung/behoerden/{slug}/formulare/import", &["POST"], post(formulare::import_json)),
        ("/verwaltung/behoerden/{slug}/formulare/xdatenfelder", &["POST"], post(formulare::import_xdf)),
        (
            "/verwaltung/behoerden/{slug}/formulare/{id}",
            &["GET", "POST"],
            get(formulare::editor).post(formulare::editor_submit),
        ),
        (
            "/verwaltung/behoerden/{slug}/formulare/{id}/felder/{field}",
            &["GET", "POST"],
            get(formulare::field_form).post(formulare::field_submit),
        ),
        (
            "/verwaltung/behoerden/{slug}/formulare/{id}/gruppen/{group}",
            &["GET", "POST"],
            get(formulare::gruppen::group_form).post(formulare::gruppen::group_submit),
        ),
        (
            "/verwaltung/behoerden/{slug}/formulare/{id}/regeln",
            &["GET", "POST"],
            get(formulare::rules).post(formulare::rules_submit),
        ),
        ("/verwaltung/behoerden/{slug}/formulare/{id}/vorschau", &["GET"], get(formulare::preview)),
        (
            "/verwaltung/behoerden/{slug}/formulare/{id}/json",
            &["GET", "POST"],
            get(formulare::json_download).post(formulare::json_submit),
        ),
        ("/verwaltung/behoerden/{slug}/formulare/{id}/veroeffentlichen", &["POST"], post(formulare::publish)),
        ("/verwaltung/behoerden/{slug}/formulare/{id}/versionen", &["GET"], get(formulare::versions)),
        (
            "/verwaltung/behoerden/{slug}/darstellung",
            &["GET", "POST"],
            get(darstellung::form).post(darstellung::submit),
        ),
        ("/verwaltung/behoerden/{slug}/logo", &["POST"], post(darstellung::logo)),
        (
            "/verwaltung/behoerden/{slug}/einladen",
            &["GET", "POST"],
            get(konten::invite_form).post(konten::invite_submit),
        ),
        (
            "/verwaltung/einladung/{token}",
            &["GET", "POST"],
            get(konten::invitation_form).post(konten::invitation_submit),
        ),
        ("/verwaltung/passwort-vergessen", &["GET", "POST"], get(konten::forgot_form).post(konten::forgot_submit)),
        ("/verwaltung/passwort-neu/{token}", &["GET", "POST"], get(konten::reset_form).post(konten::reset_submit)),
        ("/verwaltung/verbund/behoerden/", &["GET"], get(verbund::list)),
        ("/verwaltung/verbund/behoerden/neu", &["GET", "POST"], get(verbund::new_form).post(verbund::create)),
        (
            "/verwaltung/verbund/zustaendigkeiten/",
            &["GET", "POST"],
            get(zustaendigkeit::page).post(zustaendigkeit::submit),
        ),
    ]
}

pub fn routes() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |r, (path, _, handlers)| r.route(path, handlers))
}

/// The back-office routes as (path, methods), for tests that must cover every route.
#[must_use]
pub fn route_table() -> Vec<(&'static str, &'static [&'static str])> {
    table().into_iter().map(|(p, m, _)| (p, m)).collect()
}

/// A signed-in staff member with their permissions.
pub struct StaffContext {
    pub user: StaffUser,
    pub perms: Permissions,
    pub session: ActiveSession,
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
        if session::same_origin(headers) && session::tokens_match(&self.session.record.csrf_token, token) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Percent-encodes a path for use as a query value.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Handlers take a `StaffContext` argument: without a live session the request is
/// sent to sign in (or to the second factor) before the handler runs.
impl axum::extract::FromRequestParts<AppState> for StaffContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        require_staff(state, &parts.headers, &parts.uri).await
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
    Ok(StaffContext { user, perms, session })
}

/// Writes one audit entry in its own transaction.
///
/// # Errors
/// On store errors.
pub async fn audit(
    state: &AppState,
    actor: &str,
    authority_id: Option<i64>,
    action: &str,
    target: &str,
    outcome: &str,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.to_owned(),
        authority_id,
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) use amtsweg_portal::time::berlin_time;

/// Context shared by every back-office page.
fn base(state: &AppState, staff: Option<&StaffContext>, path: &str) -> Value {
    let catalogue = state.catalogue();
    let staff_ctx = staff.map(|s| {
        let ends = jiff::Timestamp::from_millisecond(s.session.ends_at())
            .ok()
            .map(|t| t.to_zoned(crate::pages::berlin()).strftime("%H:%M").to_string());
        context! {
            name => &s.user.display_name,
            csrf => &s.session.record.csrf_token,
            ends_at => ends,
            ends_at_ms => s.session.ends_at(),
            idle_minutes => state.config.staff_idle_minutes,
            is_verbund_admin => s.perms.is_verbund_admin(),
            works_cases => s.perms.case_authority_ids().is_none_or(|ids| !ids.is_empty()),
            is_admin => s.perms.is_verbund_admin() || s.perms.grants().iter().any(|g| g.role == amtsweg_domain::staff::Role::AuthorityAdmin),
        }
    });
    context! { verbund_name => &catalogue.verbund_name, staff => staff_ctx, path }
}

async fn start(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
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
    let ctx = context! { roles, authorities, has_totp => staff.user.totp_secret.is_some(), ..base(&state, Some(&staff), "/verwaltung/") };
    Ok(crate::pages::render_page(&state, "verwaltung/start.html", ctx)?.into_response())
}
