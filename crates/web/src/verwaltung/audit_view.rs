//! The audit log for administrators: newest entries on a page, everything as CSV.

use super::{StaffContext, base};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::staff::Role;
use amtsweg_store::staff::{AuditRecord, ChainCheck};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

/// The authorities whose entries this administrator may read (`None` = all), or
/// `Err` with a 403 when they administer none.
fn scope(staff: &super::StaffContext) -> Result<Option<Vec<i64>>, AppError> {
    if staff.perms.is_verbund_admin() {
        return Ok(None);
    }
    let ids: Vec<i64> =
        staff.perms.grants().iter().filter(|g| g.role == Role::AuthorityAdmin).filter_map(|g| g.authority_id).collect();
    if ids.is_empty() { Err(AppError::Forbidden) } else { Ok(Some(ids)) }
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(crate::render::berlin()).strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub async fn page(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
    let authorities = scope(&staff)?;
    let entries = state.store.audit_entries(authorities.as_deref(), 200).await?;
    let catalogue = state.catalogue();
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            let authority = e.authority_id.and_then(|id| catalogue.authority(id)).map(|a| a.name.clone());
            context! { when => when(e.at), actor => &e.actor, authority, action => &e.action, target => &e.target, outcome => &e.outcome }
        })
        .collect();
    let chain = if staff.perms.is_verbund_admin() {
        Some(match state.store.verify_audit_chain().await? {
            ChainCheck::Intact { entries } => format!("Die Prüfkette ist intakt ({entries} Einträge)."),
            ChainCheck::Broken { id, .. } => format!("Die Prüfkette ist ab Eintrag {id} verletzt!"),
        })
    } else {
        None
    };
    let ctx = context! { rows, chain, ..base(&state, Some(&staff), "/verwaltung/protokoll/") };
    Ok(render_page(&state, "verwaltung/audit.html", ctx)?.into_response())
}

fn csv_field(s: &str) -> String {
    // Quote everything and neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn csv_line(e: &AuditRecord) -> String {
    [
        e.id.to_string(),
        when(e.at),
        e.actor.clone(),
        e.authority_id.map(|a| a.to_string()).unwrap_or_default(),
        e.action.clone(),
        e.target.clone(),
        e.outcome.clone(),
        e.hash.clone(),
    ]
    .iter()
    .map(|f| csv_field(f))
    .collect::<Vec<_>>()
    .join(",")
}

pub async fn csv(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
    let authorities = scope(&staff)?;
    let entries = state.store.audit_entries(authorities.as_deref(), 1_000_000).await?;
    let mut out = String::from("\"id\",\"zeit\",\"akteur\",\"behoerde\",\"aktion\",\"ziel\",\"ergebnis\",\"hash\"\r\n");
    for e in entries.iter().rev() {
        out.push_str(&csv_line(e));
        out.push_str("\r\n");
    }
    crate::audit::audit(&state, &staff.actor(), None, "audit.export", "audit_log", "success").await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"protokoll.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}
