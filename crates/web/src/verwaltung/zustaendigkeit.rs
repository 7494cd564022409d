//! The responsibility editor: which authority is responsible for which LeiKa key in
//! which area, with gaps and overlaps across the Verbund shown as warnings.

use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::zustaendigkeit::{gaps, overlaps};
use amtsweg_domain::{Ars, LeikaKey};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

/// The areas a rule can name: each authority's own area and each single place.
fn areas(state: &AppState) -> Vec<(String, String)> {
    let c = state.catalogue();
    let mut out: Vec<(String, String)> =
        c.authorities.iter().map(|a| (a.area_prefix(), format!("Gebiet von {}", a.name))).collect();
    for p in &c.places {
        if !out.iter().any(|(k, _)| *k == p.ars.as_str()) {
            out.push((p.ars.to_string(), format!("nur {}", p.name)));
        }
    }
    out
}

fn render(
    state: &AppState,
    staff: &StaffContext,
    error: Option<String>,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let area_names: BTreeMap<String, String> = areas(state).into_iter().collect();
    let place_ars: Vec<Ars> = c.places.iter().map(|p| p.ars.clone()).collect();
    let mut by_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &c.rules {
        let authority = c.authority(r.authority_id).map(|a| a.name.clone()).unwrap_or_default();
        by_key.entry(r.leika.to_string()).or_default().push(context! {
            authority, authority_id => r.authority_id, area => &r.area_prefix,
            area_name => area_names.get(&r.area_prefix).cloned().unwrap_or_else(|| format!("Schlüsselbereich {}", r.area_prefix)),
        });
    }
    let mut groups = Vec::new();
    let mut warnings = 0usize;
    for (key, rules) in by_key {
        let Ok(leika) = LeikaKey::parse(&key) else { continue };
        let name = c.leistungen.iter().find(|l| l.leika == leika).map(|l| l.name.clone());
        let missing: Vec<String> = gaps(&c.rules, &leika, &place_ars)
            .iter()
            .filter_map(|ars| c.places.iter().find(|p| &p.ars == *ars).map(|p| p.name.clone()))
            .collect();
        let same_key: Vec<_> = c.rules.iter().filter(|r| r.leika == leika).cloned().collect();
        let clashes: Vec<String> = overlaps(&same_key)
            .iter()
            .map(|(a, b)| {
                let n = |id| c.authority(id).map(|x| x.name.clone()).unwrap_or_default();
                format!("{} und {} für dasselbe Gebiet", n(a.authority_id), n(b.authority_id))
            })
            .collect();
        warnings += usize::from(!missing.is_empty()) + usize::from(!clashes.is_empty());
        groups.push(context! { key, name, rules, missing, clashes });
    }
    let authorities: Vec<Value> = c.authorities.iter().map(|a| context! { id => a.id, name => &a.name }).collect();
    let areas: Vec<Value> = areas(state).into_iter().map(|(k, l)| context! { value => k, label => l }).collect();
    let ctx = context! { groups, warnings, authorities, areas, error, notice, ..base(state, Some(staff), "/verwaltung/verbund/zustaendigkeiten/") };
    Ok((status, render_page(state, "verwaltung/zustaendigkeiten.html", ctx)?).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let notice = match n.hinweis.as_deref() {
        Some("hinzugefuegt") => Some("Die Zuständigkeit wurde eingetragen."),
        Some("entfernt") => Some("Die Zuständigkeit wurde entfernt."),
        _ => None,
    };
    render(&state, &staff, None, notice, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    aktion: String,
    leika: String,
    authority_id: i64,
    area: String,
}

pub async fn submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Csrf(Form(f)): Csrf<Form<RuleForm>>,
) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let leika = match LeikaKey::parse(&f.leika) {
        Ok(k) => k,
        Err(e) => return render(&state, &staff, Some(e.0), None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    if state.catalogue().authority(f.authority_id).is_none() {
        return render(
            &state,
            &staff,
            Some("Bitte wählen Sie eine Behörde.".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if !areas(&state).iter().any(|(k, _)| *k == f.area) {
        return render(
            &state,
            &staff,
            Some("Bitte wählen Sie ein Gebiet aus der Liste.".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let mut tx = state.store.begin().await?;
    let (action, hint) = if f.aktion == "entfernen" {
        tx.remove_responsibility(&leika, f.authority_id, &f.area).await?;
        ("zustaendigkeit.remove", "entfernt")
    } else {
        tx.add_responsibility(&leika, f.authority_id, &f.area).await?;
        ("zustaendigkeit.add", "hinzugefuegt")
    };
    tx.append_audit(&amtsweg_domain::audit::AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: staff.actor(),
        authority_id: Some(f.authority_id),
        action: action.into(),
        target: format!("leika:{leika}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to(&format!("/verwaltung/verbund/zustaendigkeiten/?hinweis={hint}")).into_response())
}
