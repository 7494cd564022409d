//! Invitations and password resets by e-mail. The mail is queued in the same
//! transaction as the account change and sent by the outbox worker; the link carries
//! a random token of which only the SHA-256 is stored, valid once and for a limited time.

use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use crate::session;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::outbox::{EmailMessage, TokenProblem};
use amtsweg_store::staff::{NewStaff, normalize_email};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

const INVITE_DAYS: i64 = 7;

fn entry(actor: String, authority_id: Option<i64>, action: &str, target: String) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor,
        authority_id,
        action: action.into(),
        target,
        outcome: "success".into(),
    }
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct InviteForm {
    #[serde(skip_serializing)]
    csrf: String,
    email: String,
    name: String,
    role: String,
    /// Empty: the whole authority; else the id of one org unit the role is limited to.
    stelle: String,
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

fn render_invite(
    state: &AppState,
    staff: &StaffContext,
    a: &amtsweg_domain::Authority,
    f: &InviteForm,
    error: Option<String>,
    notice: bool,
) -> Result<Response, AppError> {
    let roles: Vec<_> = [Role::Editor, Role::CaseWorker, Role::AuthorityAdmin]
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.label(), selected => f.role == r.as_str() })
        .collect();
    let units: Vec<_> = state
        .catalogue()
        .org_units_of(a.id)
        .iter()
        .map(|o| context! { id => o.id, name => &o.name, selected => f.stelle == o.id.to_string() })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() }, f => f, roles, units, error, notice,
        ..base(state, Some(staff), "/verwaltung/einladen")
    };
    Ok((status, render_page(state, "verwaltung/einladen.html", ctx)?).into_response())
}

pub async fn invite_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let f = InviteForm { role: Role::Editor.as_str().into(), ..InviteForm::default() };
    render_invite(&state, &staff, &a, &f, None, n.hinweis.is_some())
}

pub async fn invite_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<InviteForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let email = normalize_email(&f.email);
    let role = Role::parse(&f.role).ok().filter(|r| *r != Role::VerbundAdmin);
    let unit: Option<i64> = f.stelle.trim().parse().ok();
    let unit_ok = unit.is_none_or(|u| state.catalogue().org_unit(a.id, u).is_some());
    // A disabled account comes back only through a new invitation (offboarding).
    let existing = state.store.staff_by_email(&email).await?;
    let error = if !email.contains('@') || email.len() < 3 || email.chars().any(char::is_whitespace) {
        Some("Bitte geben Sie eine gültige E-Mail-Adresse ein.".to_owned())
    } else if f.name.trim().is_empty() {
        Some("Bitte geben Sie den Namen der Person ein.".to_owned())
    } else if role.is_none() {
        Some("Bitte wählen Sie eine Rolle.".to_owned())
    } else if !unit_ok || (unit.is_some() && role == Some(Role::AuthorityAdmin)) {
        Some("Die Administration gilt immer für die ganze Behörde; andere Rollen können auf eine Stelle dieser Behörde beschränkt werden.".to_owned())
    } else if existing.as_ref().is_some_and(|u| !u.disabled) {
        Some(format!("Für {email} gibt es bereits ein Konto."))
    } else {
        None
    };
    let (Some(role), None) = (role, &error) else {
        return render_invite(&state, &staff, &a, &f, error, false);
    };
    let token = session::random_token();
    let mut tx = state.store.begin().await?;
    let id = match &existing {
        // Its old roles go: the invitation grants what this administrator decides.
        Some(old) => {
            tx.reset_disabled_staff_roles(old.id).await?;
            old.id
        }
        // "!" is no Argon2 hash: nobody can sign in before accepting the invitation.
        None => {
            tx.insert_staff(&NewStaff {
                email: email.clone(),
                display_name: f.name.trim().to_owned(),
                password_hash: amtsweg_store::staff_admin::UNUSABLE_PASSWORD.into(),
                totp_secret: None,
            })
            .await?
        }
    };
    tx.grant_role(id, &Grant { role, authority_id: Some(a.id), org_unit_id: unit }).await?;
    let expires = amtsweg_store::now_ms() + INVITE_DAYS * 86_400_000;
    tx.insert_staff_token(&session::hash_token(&token), "invite", id, expires).await?;
    tx.enqueue_email(&EmailMessage {
        to: email,
        subject: format!("Einladung in die Verwaltung von {}", a.name),
        body: format!(
            "Guten Tag {},\n\n{} hat Sie als „{}“ für {} eingeladen.\nLegen Sie Ihr Passwort innerhalb von {INVITE_DAYS} Tagen fest:\n\n{}/verwaltung/einladung/{token}\n\nWenn Sie diese Einladung nicht erwartet haben, ignorieren Sie diese E-Mail.\n",
            f.name.trim(),
            staff.user.display_name,
            role.label(),
            a.name,
            state.config.public_base_url.trim_end_matches('/'),
        ),
        attachments: Vec::new(),
    })
    .await?;
    let action = if existing.is_some() { "staff.reinvite" } else { "staff.invite" };
    tx.append_audit(&entry(staff.actor(), Some(a.id), action, format!("staff:{id}"))).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/einladen?hinweis=1", a.slug)).into_response())
}

fn link_problem(state: &AppState, p: &TokenProblem) -> Result<Response, AppError> {
    let message = match p {
        TokenProblem::Expired => "Dieser Link ist abgelaufen. Bitte lassen Sie sich einen neuen schicken.",
        TokenProblem::Used => "Dieser Link wurde bereits verwendet. Melden Sie sich mit Ihrem Passwort an.",
        TokenProblem::Unknown => "Diesen Link kennen wir nicht. Bitte prüfen Sie, ob er vollständig ist.",
    };
    let ctx = context! { title => "Link nicht gültig", message, ..base(state, None, "/verwaltung/link") };
    Ok((StatusCode::GONE, render_page(state, "verwaltung/hinweis.html", ctx)?).into_response())
}

fn render_set_password(
    state: &AppState,
    kind: &str,
    token: &str,
    csrf: &str,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let invite = kind == "invite";
    let action =
        if invite { format!("/verwaltung/einladung/{token}") } else { format!("/verwaltung/passwort-neu/{token}") };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { invite, action, csrf, error, ..base(state, None, "/verwaltung/passwort") };
    let mut r = crate::csrf::with_pre_session_cookie(
        (status, render_page(state, "verwaltung/passwort_setzen.html", ctx)?).into_response(),
        csrf,
    );
    r.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    Ok(r)
}

async fn token_form(state: &AppState, headers: &HeaderMap, kind: &str, token: &str) -> Result<Response, AppError> {
    if let Err(p) = state.store.staff_token_user(&session::hash_token(token), kind).await? {
        return link_problem(state, &p);
    }
    let csrf = crate::csrf::pre_session_token(headers);
    render_set_password(state, kind, token, &csrf, None)
}

pub async fn invitation_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    token_form(&state, &headers, "invite", &token).await
}

pub async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    token_form(&state, &headers, "reset", &token).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    password: String,
    password2: String,
}

async fn token_submit(
    state: &AppState,
    headers: &HeaderMap,
    kind: &str,
    token: &str,
    f: PasswordForm,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(headers, &f.csrf)?;
    let hash = session::hash_token(token);
    let user_id = match state.store.staff_token_user(&hash, kind).await? {
        Ok(id) => id,
        Err(p) => return link_problem(state, &p),
    };
    let len = f.password.chars().count();
    let error = if len < 12 {
        Some("Das Passwort muss mindestens 12 Zeichen lang sein. Ein langer Satz ist gut zu merken und sicher.")
    } else if len > 256 {
        Some("Das Passwort darf höchstens 256 Zeichen lang sein.")
    } else if f.password != f.password2 {
        Some("Die beiden Eingaben stimmen nicht überein.")
    } else {
        None
    };
    if let Some(e) = error {
        return render_set_password(state, kind, token, &f.csrf, Some(e));
    }
    let who = crate::account::Who::Staff;
    if !crate::account::set_password_by_link(state, who, kind, &hash, user_id, f.password).await? {
        return link_problem(state, &TokenProblem::Used);
    }
    Ok(Redirect::to("/verwaltung/anmelden?passwort=1").into_response())
}

pub async fn invitation_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    token_submit(&state, &headers, "invite", &token, f).await
}

pub async fn reset_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    token_submit(&state, &headers, "reset", &token, f).await
}

fn render_forgot(state: &AppState, csrf: &str, sent: bool) -> Result<Response, AppError> {
    let ctx = context! { csrf, sent, ..base(state, None, "/verwaltung/passwort-vergessen") };
    let page = render_page(state, "verwaltung/passwort_vergessen.html", ctx)?.into_response();
    Ok(crate::csrf::with_pre_session_cookie(page, csrf))
}

pub async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let csrf = crate::csrf::pre_session_token(&headers);
    render_forgot(&state, &csrf, false)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// Always the same answer, whether or not an account exists.
pub async fn forgot_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: crate::limits::Client,
    Form(f): Form<ForgotForm>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let email = normalize_email(&f.email);
    crate::account::request_reset(&state, crate::account::Who::Staff, &email, &client).await?;
    render_forgot(&state, &f.csrf, true)
}
