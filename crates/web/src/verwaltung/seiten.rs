//! Editing an authority's plain pages (BITV and legal pages), pre-filled from
//! templates: drafts, preview, publish, revision history with diff and restore.

use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::pages::PageKind;
use amtsweg_store::editing::Saved;
use amtsweg_store::pages::PageContent;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let mut rows = Vec::new();
    for k in PageKind::ALL {
        let (title, _, _, revision) = state.catalogue().page(&a, k);
        let draft = state.store.page_draft(a.id, k.slug()).await?.is_some();
        rows.push(context! { kind => k.slug(), label => k.label(), title, adapted => revision > 0, draft });
    }
    let ctx = context! { authority => context! { name => &a.name, slug => a.slug.as_str() }, rows, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/seiten.html", ctx)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "gespeichert" => Some("Der Entwurf wurde gespeichert. Im Portal steht weiterhin die veröffentlichte Fassung."),
        "veroeffentlicht" => Some("Die Seite wurde veröffentlicht."),
        "verworfen" => Some("Der Entwurf wurde verworfen."),
        "wiederhergestellt" => {
            Some("Die ältere Fassung wurde als Entwurf übernommen. Prüfen Sie sie und veröffentlichen Sie sie dann.")
        }
        "wiederherstellen-konflikt" => Some(
            "Jemand anderes hat den Entwurf gerade gespeichert; die ältere Fassung wurde nicht übernommen. Bitte prüfen Sie den Entwurf und versuchen Sie es erneut.",
        ),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageForm {
    csrf: String,
    /// The draft version the form was loaded at (0 = no draft).
    version: i64,
    /// The published revision the form was loaded at.
    revision: i64,
    aktion: String,
    title: String,
    body: String,
    video_url: String,
}

struct View<'a> {
    authority: &'a Authority,
    kind: PageKind,
    content: PageContent,
    version: i64,
    revision: i64,
    has_draft: bool,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn render(state: &AppState, staff: &StaffContext, v: View<'_>, status: StatusCode) -> Result<Response, AppError> {
    let a = v.authority;
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() }, kind => v.kind.slug(), label => v.kind.label(),
        video => v.kind == PageKind::Gebaerdensprache, title => &v.content.title, body => &v.content.body,
        video_url => &v.content.video_url, version => v.version, revision => v.revision, has_draft => v.has_draft,
        error => v.error, notice => v.notice, ..base(state, Some(staff), "/verwaltung/seite")
    };
    let mut r = (status, render_page(state, "verwaltung/seite.html", ctx)?).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The published page (or the filled-in template) and its revision.
fn published(state: &AppState, a: &Authority, kind: PageKind) -> (PageContent, i64) {
    let (title, body, video_url, revision) = state.catalogue().page(a, kind);
    (PageContent { title, body, video_url }, revision)
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, kind)): Path<(String, String)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let (live, revision) = published(&state, &a, kind);
    let draft = state.store.page_draft(a.id, kind.slug()).await?;
    let (content, version) = match &draft {
        Some(d) => (d.content()?, d.version),
        None => (live, 0),
    };
    let v = View {
        authority: &a,
        kind,
        content,
        version,
        revision,
        has_draft: draft.is_some(),
        error: None,
        notice: notice_text(n.hinweis.as_deref()),
    };
    render(&state, &staff, v, StatusCode::OK)
}

fn validate(c: &PageContent) -> Option<String> {
    let video = c.video_url.trim();
    if c.title.trim().is_empty() {
        Some("Bitte geben Sie eine Überschrift ein.".to_owned())
    } else if c.body.chars().count() > amtsweg_domain::leistung::MAX_MODULE_CHARS {
        Some("Der Text ist zu lang (höchstens 20 000 Zeichen).".to_owned())
    } else if !(video.is_empty() || video.starts_with("https://")) {
        Some("Der Link zum Video muss mit https:// beginnen.".to_owned())
    } else {
        None
    }
}

pub async fn edit_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, kind)): Path<(String, String)>,
    Csrf(Form(f)): Csrf<Form<PageForm>>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let here = format!("/verwaltung/behoerden/{}/seiten/{}", a.slug, kind.slug());
    let by = Some(staff.user.id);
    if f.aktion == "verwerfen" {
        let mut tx = state.store.begin().await?;
        tx.discard_page_draft(a.id, kind.slug(), by).await?;
        tx.commit().await?;
        return Ok(Redirect::to(&format!("{here}?hinweis=verworfen")).into_response());
    }
    let content = PageContent {
        title: f.title.trim().to_owned(),
        body: f.body.clone(),
        video_url: f.video_url.trim().to_owned(),
    };
    let has_draft = state.store.page_draft(a.id, kind.slug()).await?.is_some();
    let view = |error, content| View {
        authority: &a,
        kind,
        content,
        version: f.version,
        revision: f.revision,
        has_draft,
        error: Some(error),
        notice: None,
    };
    if let Some(error) = validate(&content) {
        return render(&state, &staff, view(error, content), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut tx = state.store.begin().await?;
    let published_moved = f.version == 0 && tx.page_revision(a.id, kind.slug()).await? != f.revision;
    let saved = if published_moved {
        Saved::Conflict { current_version: 0 }
    } else {
        tx.save_page_draft(a.id, kind.slug(), f.version, &content, by).await?
    };
    let outcome = match (saved, f.aktion.as_str()) {
        (Saved::Ok(v), "veroeffentlichen") => tx.publish_page_draft(a.id, kind.slug(), v, by).await?,
        (other, _) => other,
    };
    if let Saved::Conflict { .. } = outcome {
        drop(tx);
        let msg = "Jemand anderes hat diese Seite inzwischen gespeichert. Ihre Eingaben sind unten erhalten, aber noch nicht gespeichert. Öffnen Sie die Seite in einem neuen Fenster, übertragen Sie Ihre Änderungen und speichern Sie erneut.";
        return render(&state, &staff, view(msg.to_owned(), content), StatusCode::CONFLICT);
    }
    tx.commit().await?;
    let next = match f.aktion.as_str() {
        "veroeffentlichen" => {
            crate::sync::refresh(&state).await?;
            format!("{here}?hinweis=veroeffentlicht")
        }
        "vorschau" => format!("{here}/vorschau"),
        _ => format!("{here}?hinweis=gespeichert"),
    };
    Ok(Redirect::to(&next).into_response())
}

pub async fn preview(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, kind)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let content = match state.store.page_draft(a.id, kind.slug()).await? {
        Some(d) => d.content()?,
        None => published(&state, &a, kind).0,
    };
    let video = content.video_url.starts_with("https://").then_some(content.video_url.as_str());
    let ctx = context! {
        title => &content.title, body => Value::from_safe_string(amtsweg_portal::markdown::render(&content.body)), video,
        edit_url => format!("/verwaltung/behoerden/{}/seiten/{}", a.slug, kind.slug()), authority_name => &a.name,
        ..base(&state, Some(&staff), uri.path())
    };
    Ok(render_page(&state, "verwaltung/seite_vorschau.html", ctx)?.into_response())
}

pub async fn history(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, kind)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let revisions = state.store.page_revisions(a.id, kind.slug()).await?;
    // The first revision is compared with the built-in template it replaced.
    let (template_title, template_body) = kind.default_content(&a);
    let template = PageContent { title: template_title, body: template_body, video_url: String::new() };
    let names =
        super::leistungen::editor_names(&state, a.id, revisions.iter().filter_map(|r| r.published_by).collect())
            .await?;
    let mut items = Vec::new();
    for (i, r) in revisions.iter().enumerate() {
        let now = r.content()?;
        let before = match revisions.get(i + 1) {
            Some(prev) => prev.content()?,
            None => template.clone(),
        };
        let mut changes = Vec::new();
        for (heading, old, new) in [
            ("Überschrift", &before.title, &now.title),
            ("Text", &before.body, &now.body),
            ("Video", &before.video_url, &now.video_url),
        ] {
            if old != new {
                changes.push(context! { heading, lines => crate::render::diff_lines(old, new) });
            }
        }
        items.push(context! { revision => r.revision, when => super::berlin_time(r.published_at), by => r.published_by.and_then(|id| names.get(&id)), changes });
    }
    let ctx = context! {
        name => kind.label(), items, authority => context! { slug => a.slug.as_str(), name => &a.name },
        back => format!("/verwaltung/behoerden/{}/seiten/{}", a.slug, kind.slug()),
        list => format!("/verwaltung/behoerden/{}/seiten/", a.slug), list_label => format!("Seiten von {}", a.name),
        restore_base => format!("/verwaltung/behoerden/{}/seiten/{}/versionen", a.slug, kind.slug()),
        ..base(&state, Some(&staff), uri.path())
    };
    Ok(render_page(&state, "verwaltung/versionen.html", ctx)?.into_response())
}

pub async fn restore(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, kind, revision)): Path<(String, String, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let kind = PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let rev = state
        .store
        .page_revisions(a.id, kind.slug())
        .await?
        .into_iter()
        .find(|r| r.revision == revision)
        .ok_or(AppError::NotFound)?;
    let expected = state.store.page_draft(a.id, kind.slug()).await?.map_or(0, |d| d.version);
    let mut tx = state.store.begin().await?;
    // A save in between wins; the editor is told instead of being told it worked.
    let notice = match tx.save_page_draft(a.id, kind.slug(), expected, &rev.content()?, Some(staff.user.id)).await? {
        Saved::Ok(_) => "wiederhergestellt",
        Saved::Conflict { .. } => "wiederherstellen-konflikt",
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/seiten/{}?hinweis={notice}", a.slug, kind.slug()))
        .into_response())
}
