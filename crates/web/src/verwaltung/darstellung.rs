//! An authority's look, set by its administrators: colour (contrast enforced), welcome
//! text, footer links and the logo (type, size and pixels checked from the bytes).

use super::{StaffContext, base};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::theme::{FooterLink, MAX_FOOTER_LINKS, MAX_LOGO_BYTES, check_footer_links, check_logo};
use axum::Form;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sha2::Digest;

/// What the page shows: the values as typed (after an error) or as stored.
struct Look<'a> {
    color: &'a str,
    intro: &'a str,
    links: &'a [FooterLink],
}

fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    look: &Look<'_>,
    errors: &[(String, String)],
    notice: Option<&str>,
) -> Result<Response, AppError> {
    // Every stored link plus empty rows to add more, up to the maximum.
    let mut rows: Vec<FooterLink> = look.links.to_vec();
    while rows.len() < MAX_FOOTER_LINKS.min(look.links.len() + 3) {
        rows.push(FooterLink::default());
    }
    let rows: Vec<_> =
        rows.iter().enumerate().map(|(i, l)| context! { n => i + 1, label => &l.label, url => &l.url }).collect();
    let errors: Vec<_> = errors.iter().map(|(field, message)| context! { field, message }).collect();
    let logo_url = logo_url(a);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() }, color => look.color, intro => look.intro,
        rows, errors, notice, logo_url, max_kb => MAX_LOGO_BYTES / 1024,
        ..base(state, Some(staff), "/verwaltung/behoerden/darstellung")
    };
    Ok((status, render_page(state, "verwaltung/darstellung.html", ctx)?).into_response())
}

use crate::render::logo_url;

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "gespeichert" => Some("Gespeichert. Das Portal zeigt die neue Darstellung sofort."),
        "logo" => Some("Das Logo wurde gespeichert und erscheint jetzt im Kopf Ihres Portals."),
        "logo-entfernt" => Some("Das Logo wurde entfernt."),
        _ => None,
    }
}

pub async fn form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let look = Look { color: &a.primary_color, intro: &a.intro, links: &a.footer_links };
    render(&state, &staff, &a, &look, &[], notice_text(n.hinweis.as_deref()))
}

fn audit_entry(staff: &StaffContext, a: &Authority, action: &str) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: staff.actor(),
        authority_id: Some(a.id),
        action: action.into(),
        target: format!("authority:{}", a.id),
        outcome: "success".into(),
    }
}

/// Colour, welcome text and footer links. The body is read as pairs because the
/// footer rows repeat the same field names.
pub async fn submit(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    staff.check_form(&headers, field("csrf"))?;
    let a = staff.administered_authority(&state, &slug)?;
    let color = field("primary_color").trim();
    let intro = field("intro").trim();
    let mut typed: Vec<FooterLink> = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "link_label" => typed.push(FooterLink { label: v.clone(), url: String::new() }),
            "link_url" => match typed.last_mut() {
                Some(last) if last.url.is_empty() => last.url.clone_from(v),
                _ => typed.push(FooterLink { label: String::new(), url: v.clone() }),
            },
            _ => {}
        }
    }
    let mut errors: Vec<(String, String)> = Vec::new();
    if let Some(e) = super::verbund::check_color(color) {
        errors.push(("feld-primary_color".into(), e));
    }
    if intro.chars().count() > 1000 {
        errors.push(("feld-intro".into(), "Der Begrüßungstext darf höchstens 1000 Zeichen lang sein.".into()));
    }
    let links = match check_footer_links(&typed) {
        Ok(links) => links,
        Err(e) => {
            errors.extend(e.into_iter().map(|(n, m)| (format!("feld-link-{n}"), m)));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        let look = Look { color, intro, links: &typed };
        return render(&state, &staff, &a, &look, &errors, None);
    }
    let mut tx = state.store.begin().await?;
    tx.update_authority_look(a.id, color, intro, &links).await?;
    tx.append_audit(&audit_entry(&staff, &a, "authority.look")).await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/darstellung?hinweis=gespeichert", a.slug)).into_response())
}

/// The uploaded logo form, read with the file size capped while streaming.
struct LogoUpload {
    csrf: String,
    remove: bool,
    file_name: String,
    bytes: Vec<u8>,
    too_big: bool,
}

async fn read_upload(mut mp: Multipart) -> Result<LogoUpload, AppError> {
    let unreadable =
        |_| AppError::BadRequest("Das Formular kam unvollständig an. Bitte versuchen Sie es noch einmal.".into());
    let mut up =
        LogoUpload { csrf: String::new(), remove: false, file_name: String::new(), bytes: Vec::new(), too_big: false };
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => up.csrf = field.text().await.map_err(unreadable)?,
            Some("aktion") => up.remove = field.text().await.map_err(unreadable)? == "entfernen",
            Some("logo") => {
                up.file_name = field.file_name().unwrap_or_default().to_owned();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if up.bytes.len() + chunk.len() > MAX_LOGO_BYTES {
                        // Stop reading: nothing beyond the limit is buffered.
                        up.too_big = true;
                        return Ok(up);
                    }
                    up.bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

/// Upload or remove the logo (`multipart/form-data`).
pub async fn logo(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    // The authority is checked before the body is read at all.
    let a = staff.administered_authority(&state, &slug)?;
    let mp = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte laden Sie das Logo über das Formular hoch.".into()))?;
    let up = read_upload(mp).await?;
    staff.check_form(&headers, &up.csrf)?;
    let look = Look { color: &a.primary_color, intro: &a.intro, links: &a.footer_links };
    let here = format!("/verwaltung/behoerden/{}/darstellung", a.slug);
    if up.remove {
        let old = a.logo_key.clone();
        let mut tx = state.store.begin().await?;
        tx.set_authority_logo(a.id, "", "").await?;
        tx.append_audit(&audit_entry(&staff, &a, "authority.logo_remove")).await?;
        tx.commit().await?;
        if !old.is_empty() {
            // The row no longer points at it; a failed delete only leaves an orphan.
            let _ = state.portal.objects.delete(&object_store::path::Path::from(old)).await;
        }
        crate::sync::refresh(&state).await?;
        return Ok(Redirect::to(&format!("{here}?hinweis=logo-entfernt")).into_response());
    }
    let checked = if up.too_big {
        Err(format!("Die Datei ist größer als {} KB. Bitte verkleinern Sie das Logo.", MAX_LOGO_BYTES / 1024))
    } else {
        check_logo(&up.file_name, &up.bytes).map_err(|e| e.0)
    };
    let format = match checked {
        Ok(f) => f,
        Err(message) => return render(&state, &staff, &a, &look, &[("feld-logo".into(), message)], None),
    };
    let digest = sha2::Sha256::digest(&up.bytes);
    let hash = hex::encode(&digest[..8]);
    let ext = format.content_type().rsplit('/').next().unwrap_or("bin");
    // Under the authority's own prefix; the content hash makes the address change
    // with the image, so browsers may cache it for good.
    let key = format!("authorities/{}/logo-{hash}.{ext}", a.id);
    state
        .portal
        .objects
        .put(&object_store::path::Path::from(key.as_str()), up.bytes.into())
        .await
        // A full disk is a 503 that says so, like every other write (not a 500).
        .map_err(|e| AppError::from(amtsweg_portal::PortalError::objects(&e)))?;
    let mut tx = state.store.begin().await?;
    tx.set_authority_logo(a.id, &key, format.content_type()).await?;
    tx.append_audit(&audit_entry(&staff, &a, "authority.logo")).await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to(&format!("{here}?hinweis=logo")).into_response())
}

/// `GET /o/<slug>/logo/<file>`: the authority's logo, cacheable for good.
pub async fn serve_logo(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let a = state.catalogue().authority_by_slug(&slug).cloned().ok_or(AppError::NotFound)?;
    if a.logo_key.is_empty() || a.logo_key.rsplit('/').next() != Some(file.as_str()) {
        return Err(AppError::NotFound);
    }
    let content_type = amtsweg_domain::theme::LogoFormat::from_content_type(&a.logo_type)
        .map_or("application/octet-stream", amtsweg_domain::theme::LogoFormat::content_type);
    let got = state.portal.objects.get(&object_store::path::Path::from(a.logo_key.as_str())).await;
    let bytes = match got {
        Ok(r) => r.bytes().await.map_err(|e| AppError::Objects(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Objects(e.to_string())),
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], bytes)
        .into_response())
}
