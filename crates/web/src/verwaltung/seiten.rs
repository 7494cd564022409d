//! Editing an authority's plain pages (BITV and legal pages), pre-filled from templates.

use super::{StaffContext, base};
use crate::AppState;
use crate::error::AppError;
use crate::pages::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::pages::PageKind;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let c = state.catalogue();
    let rows: Vec<_> = PageKind::ALL
        .iter()
        .map(|k| {
            let (title, _, _, revision) = c.page(&a, *k);
            context! { kind => k.slug(), label => k.label(), title, adapted => revision > 0 }
        })
        .collect();
    let ctx = context! { authority => context! { name => &a.name, slug => a.slug.as_str() }, rows, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/seiten.html", ctx)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    gespeichert: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageForm {
    csrf: String,
    revision: i64,
    title: String,
    body: String,
    video_url: String,
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    kind: PageKind,
    f: &PageForm,
    error: Option<String>,
    saved: bool,
    status: StatusCode,
) -> Result<Response, AppError> {
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() }, kind => kind.slug(), label => kind.label(),
        video => kind == PageKind::Gebaerdensprache, title => &f.title, body => &f.body, video_url => &f.video_url,
        revision => f.revision, error, saved, ..base(state, Some(staff), "/verwaltung/seite")
    };
    Ok((status, render_page(state, "verwaltung/seite.html", ctx)?).into_response())
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, kind)): Path<(String, String)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let (title, body, video_url, revision) = state.catalogue().page(&a, kind);
    let f = PageForm { csrf: String::new(), revision, title, body, video_url };
    render(&state, &staff, &a, kind, &f, None, n.gespeichert.is_some(), StatusCode::OK)
}

pub async fn edit_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<PageForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let video = f.video_url.trim();
    let error = if f.title.trim().is_empty() {
        Some("Bitte geben Sie eine Überschrift ein.".to_owned())
    } else if f.body.chars().count() > amtsweg_domain::leistung::MAX_MODULE_CHARS {
        Some("Der Text ist zu lang (höchstens 20 000 Zeichen).".to_owned())
    } else if !(video.is_empty() || video.starts_with("https://")) {
        Some("Der Link zum Video muss mit https:// beginnen.".to_owned())
    } else {
        None
    };
    if error.is_some() {
        return render(&state, &staff, &a, kind, &f, error, false, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut tx = state.store.begin().await?;
    let content = amtsweg_store::pages::PageContent { title: f.title.trim(), body: &f.body, video_url: video };
    let saved = tx.save_page(a.id, kind.slug(), f.revision, &content, Some(staff.user.id)).await?;
    if saved.is_none() {
        drop(tx);
        let msg = "Jemand anderes hat diese Seite inzwischen gespeichert. Ihre Eingaben sind unten erhalten, aber noch nicht gespeichert. Laden Sie die Seite in einem neuen Fenster, übertragen Sie Ihre Änderungen und speichern Sie erneut.";
        return render(&state, &staff, &a, kind, &f, Some(msg.to_owned()), false, StatusCode::CONFLICT);
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: staff.actor(),
        authority_id: Some(a.id),
        action: "page.save".into(),
        target: format!("page:{}", kind.slug()),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/seiten/{}?gespeichert=1", a.slug, kind.slug())).into_response())
}
