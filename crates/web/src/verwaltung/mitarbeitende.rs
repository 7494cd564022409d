//! Staff offboarding: the staff list of an authority (roles, org-unit limits, last
//! sign-in, second factor, disabled) where its administrators change or remove
//! roles and disable accounts; the Verbund administrator's list of all staff.
//!
//! An administrator acts only on people with a role at an authority they administer
//! (anyone else answers 404, as if unknown) and only on that authority's roles. An
//! account spans authorities, so disabling it is left to the Verbund administrator
//! when the person also works for an authority the administrator does not run.
//! The rule that an authority keeps an administrator lives in the store, in the
//! same transaction as the change.

use super::{StaffContext, base, berlin_time};
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::staff_admin::{StaffChangeRefused, StaffListEntry, StoredGrant};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// What the page says after a change (`?erledigt=`).
#[derive(Debug, Deserialize)]
pub struct Done {
    erledigt: Option<String>,
}

fn done_message(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "rollen" => Some("Die Rollen wurden geändert."),
        "deaktiviert" => Some("Das Konto wurde deaktiviert. Alle Sitzungen der Person sind beendet."),
        _ => None,
    }
}

/// The sentence for a refused change.
pub(crate) fn refusal(state: &AppState, r: StaffChangeRefused) -> String {
    match r {
        StaffChangeRefused::LastAdministrator { authority_id } => {
            let name = state.catalogue().authority(authority_id).map_or_else(String::new, |a| a.name.clone());
            format!(
                "Das geht nicht: Diese Person ist die letzte Administration von {name}. Laden Sie zuerst eine weitere Person mit der Rolle „{}“ ein; sobald sie die Einladung angenommen hat, können Sie diese Änderung vornehmen.",
                Role::AuthorityAdmin.label()
            )
        }
        StaffChangeRefused::AlreadyDisabled => "Dieses Konto ist bereits deaktiviert.".to_owned(),
    }
}

fn audit(actor: String, authority_id: Option<i64>, action: &str, target_id: i64) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor,
        authority_id,
        action: action.into(),
        target: format!("staff:{target_id}"),
        outcome: "success".into(),
    }
}

fn grant_value(state: &AppState, g: &StoredGrant, shown_for: Option<i64>) -> Value {
    let catalogue = state.catalogue();
    let authority = g.grant.authority_id.and_then(|a| catalogue.authority(a)).map(|a| a.name.clone());
    let unit = match (g.grant.authority_id, g.grant.org_unit_id) {
        (Some(a), Some(u)) => catalogue.org_unit(a, u).map(|o| o.name.clone()),
        _ => None,
    };
    context! {
        id => g.id, role => g.grant.role.as_str(), label => g.grant.role.label(), authority, unit,
        org_unit_id => g.grant.org_unit_id,
        here => shown_for.is_some() && g.grant.authority_id == shown_for,
    }
}

fn person_value(state: &AppState, p: &StaffListEntry, shown_for: Option<i64>, own_id: i64) -> Value {
    let grants: Vec<Value> = p.grants.iter().map(|g| grant_value(state, g, shown_for)).collect();
    context! {
        id => p.id, name => &p.display_name, email => &p.email,
        grants, second_factor => p.has_second_factor, disabled => p.disabled,
        pending => p.invitation_pending, last_login => p.last_login_at.map(berlin_time),
        is_self => p.id == own_id,
    }
}

fn role_options() -> Vec<Value> {
    [Role::Editor, Role::CaseWorker, Role::AuthorityAdmin]
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.label() })
        .collect()
}

async fn render_list(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let people: Vec<Value> = state
        .store
        .staff_list(Some(a.id))
        .await?
        .iter()
        .map(|p| person_value(state, p, Some(a.id), staff.user.id))
        .collect();
    let units: Vec<Value> =
        state.catalogue().org_units_of(a.id).iter().map(|o| context! { id => o.id, name => &o.name }).collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let path = format!("/verwaltung/behoerden/{}/mitarbeitende/", a.slug);
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() },
        people, units, roles => role_options(), notice, error,
        ..base(state, Some(staff), &path)
    };
    Ok((status, render_page(state, "verwaltung/mitarbeitende.html", ctx)?).into_response())
}

/// The staff list of one authority (its administrators and the Verbund administrator).
pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(d): Query<Done>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    render_list(&state, &staff, &a, done_message(d.erledigt.as_deref()), None).await
}

/// Every staff account of the Verbund (Verbund administrators only).
pub async fn all(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let people: Vec<Value> =
        state.store.staff_list(None).await?.iter().map(|p| person_value(&state, p, None, staff.user.id)).collect();
    let ctx = context! { people, ..base(&state, Some(&staff), "/verwaltung/verbund/mitarbeitende/") };
    Ok(render_page(&state, "verwaltung/mitarbeitende_alle.html", ctx)?.into_response())
}

/// The person `id` if they have a role at `a` (else 404: other authorities' staff
/// are not visible here), with all their roles.
async fn person_at(state: &AppState, a: &Authority, id: i64) -> Result<Vec<StoredGrant>, AppError> {
    let grants = state.store.stored_grants_of(id).await?;
    if grants.iter().any(|g| g.grant.authority_id == Some(a.id)) { Ok(grants) } else { Err(AppError::NotFound) }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    /// The role row to change; empty adds a role at this authority.
    grant: String,
    /// A role, or `entfernen` to remove the role row.
    role: String,
    /// Empty: the whole authority; else one org unit of it.
    stelle: String,
}

/// Changes, adds or removes one role of a person at this authority.
pub async fn change_role(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<RoleForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let current = person_at(&state, &a, id).await?;
    let mut here: Vec<StoredGrant> = current.into_iter().filter(|g| g.grant.authority_id == Some(a.id)).collect();
    let target: Option<i64> = f.grant.trim().parse().ok();
    if let Some(t) = target
        && !here.iter().any(|g| g.id == t)
    {
        return Err(AppError::NotFound);
    }
    let unit: Option<i64> = f.stelle.trim().parse().ok();
    let unit_ok = unit.is_none_or(|u| state.catalogue().org_unit(a.id, u).is_some());
    let new_role = if f.role == "entfernen" {
        None
    } else {
        // Never the Verbund administration: an authority's administrators grant
        // roles of their own authority only.
        match Role::parse(&f.role).ok().filter(|r| *r != Role::VerbundAdmin) {
            Some(r) => Some(r),
            None => return render_list(&state, &staff, &a, None, Some("Bitte wählen Sie eine Rolle.".into())).await,
        }
    };
    if !unit_ok || (unit.is_some() && new_role == Some(Role::AuthorityAdmin)) {
        let msg = "Die Administration gilt immer für die ganze Behörde; andere Rollen können auf eine Stelle dieser Behörde beschränkt werden.";
        return render_list(&state, &staff, &a, None, Some(msg.into())).await;
    }
    match (target, new_role) {
        (Some(t), None) => here.retain(|g| g.id != t),
        (Some(t), Some(role)) => {
            for g in here.iter_mut().filter(|g| g.id == t) {
                g.grant = Grant { role, authority_id: Some(a.id), org_unit_id: unit };
            }
        }
        (None, Some(role)) => {
            here.push(StoredGrant { id: 0, grant: Grant { role, authority_id: Some(a.id), org_unit_id: unit } });
        }
        (None, None) => {
            return Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/mitarbeitende/", a.slug)).into_response());
        }
    }
    let mut grants: Vec<Grant> = here.into_iter().map(|g| g.grant).collect();
    grants.dedup();
    let mut tx = state.store.begin().await?;
    if let Err(refused) = tx.set_roles_at(id, a.id, &grants).await? {
        drop(tx);
        return render_list(&state, &staff, &a, None, Some(refusal(&state, refused))).await;
    }
    tx.append_audit(&audit(staff.actor(), Some(a.id), "staff.roles", id)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/mitarbeitende/?erledigt=rollen", a.slug)).into_response())
}

/// Disables the account of a person with a role at this authority: every session
/// ends at once, nobody can sign in to it; only a new invitation opens it again.
pub async fn disable(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let grants = person_at(&state, &a, id).await?;
    if id == staff.user.id {
        let msg = "Ihr eigenes Konto können Sie hier nicht deaktivieren. Bitten Sie eine andere Administration darum.";
        return render_list(&state, &staff, &a, None, Some(msg.into())).await;
    }
    // The account is one for every authority: only someone who administers every
    // authority the person works for may close it.
    let elsewhere = grants.iter().any(|g| g.grant.authority_id.is_none_or(|other| !staff.perms.can_administer(other)));
    if elsewhere {
        let msg = "Diese Person arbeitet auch für eine andere Behörde. Entfernen Sie ihre Rollen bei Ihrer Behörde; das Konto selbst kann die Verbund-Administration deaktivieren.";
        return render_list(&state, &staff, &a, None, Some(msg.into())).await;
    }
    let mut tx = state.store.begin().await?;
    if let Err(refused) = tx.disable_staff(id).await? {
        drop(tx);
        return render_list(&state, &staff, &a, None, Some(refusal(&state, refused))).await;
    }
    tx.append_audit(&audit(staff.actor(), Some(a.id), "staff.disable", id)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/mitarbeitende/?erledigt=deaktiviert", a.slug)).into_response())
}
