//! The Verbund library (Nachnutzung) in the back office: browse what other
//! authorities offer, adopt it linked or as a copy, see where one's own entries are
//! used, accept upstream changes (shared text and the owner's new form versions),
//! detach, withdraw.

use super::formulare::versionen::{change_kind, change_text};
use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::leistung::LeistungContent;
use amtsweg_domain::library::AdoptionMode;
use amtsweg_domain::{Authority, TextModule, TrustLevel};
use amtsweg_store::library::{Adopted, Adoption, LibraryEntry, LibraryForm};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

fn authority_name(state: &AppState, id: i64) -> String {
    state.catalogue().authority(id).map_or_else(|| format!("Behörde {id}"), |a| a.name.clone())
}

pub async fn list(State(state): State<AppState>, staff: StaffContext, uri: Uri) -> Result<Response, AppError> {
    let mut rows = Vec::new();
    for e in state.store.library_entries().await? {
        let c = e.content()?;
        let used_by = state.store.library_usage(e.id).await?.len();
        rows.push(context! {
            id => e.id, name => c.name, leika => c.leika, summary => c.summary,
            author => authority_name(&state, e.authority_id), revision => e.revision, used_by,
        });
    }
    let ctx = context! { rows, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/bibliothek.html", ctx)?.into_response())
}

/// The shared text modules of a content, rendered for reading.
fn modules_html(c: &LeistungContent) -> Vec<Value> {
    c.modules()
        .iter()
        .filter(|(m, t)| *m != TextModule::Fees && !t.trim().is_empty())
        .map(|(m, t)| context! { heading => m.heading(), html => Value::from_safe_string(amtsweg_portal::markdown::render(t)) })
        .collect()
}

fn usage_rows(state: &AppState, entry: &LibraryEntry, usage: &[Adoption]) -> Vec<Value> {
    usage
        .iter()
        .map(|a| {
            let mode = a.mode();
            let current = mode == AdoptionMode::Copy || a.adopted_revision >= entry.revision;
            context! {
                authority => authority_name(state, a.authority_id), mode => mode.label(),
                revision => a.adopted_revision, current,
            }
        })
        .collect()
}

pub async fn entry(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(entry_id): Path<i64>,
) -> Result<Response, AppError> {
    let e = state.store.library_entry(entry_id).await?.filter(|e| !e.withdrawn).ok_or(AppError::NotFound)?;
    let c = e.content()?;
    let usage = state.store.library_usage(e.id).await?;
    // One adopt form per authority this person edits, so the authority is in the
    // path and checked like every other authority-scoped write.
    let catalogue = state.catalogue();
    let targets: Vec<Value> = catalogue
        .authorities
        .iter()
        .filter(|a| a.id != e.authority_id && staff.perms.can_edit_content(a.id))
        .map(|a| {
            let existing = usage.iter().find(|u| u.authority_id == a.id).map(|u| u.leistung_id);
            context! { name => &a.name, slug => a.slug.as_str(), existing }
        })
        .collect();
    let ctx = context! {
        id => e.id, name => &c.name, leika => &c.leika, summary => &c.summary, revision => e.revision,
        author => authority_name(&state, e.authority_id), modules => modules_html(&c),
        fees => Value::from_safe_string(amtsweg_portal::markdown::render(&c.fees)), online_url => &c.online_url,
        usage => usage_rows(&state, &e, &usage), targets,
        ..base(&state, Some(&staff), uri.path())
    };
    Ok(render_page(&state, "verwaltung/bibliothek_eintrag.html", ctx)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdoptForm {
    csrf: String,
    art: String,
}

pub async fn adopt(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, entry_id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<AdoptForm>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let mode = AdoptionMode::parse(&f.art).map_err(|e| AppError::BadRequest(e.0))?;
    let mut tx = state.store.begin().await?;
    let outcome = tx.adopt(a.id, entry_id, mode, Some(staff.user.id)).await?;
    tx.commit().await?;
    let to_service = |id: i64, notice: &str| {
        Redirect::to(&format!("/verwaltung/behoerden/{}/leistungen/{id}?hinweis={notice}", a.slug)).into_response()
    };
    match outcome {
        Adopted::Created(id) => Ok(to_service(id, "uebernommen")),
        Adopted::AlreadyAdopted(id) => Ok(to_service(id, "schon-uebernommen")),
        Adopted::OwnEntry => Err(AppError::BadRequest(
            "Diese Leistung stammt von Ihrer eigenen Behörde und kann nicht übernommen werden.".into(),
        )),
        Adopted::Unavailable => Err(AppError::NotFound),
    }
}

/// What the service editor shows about the library, and the forms it offers.
pub(super) async fn editor_section(
    state: &AppState,
    a: &Authority,
    leistung_id: i64,
    published: bool,
) -> Result<Value, AppError> {
    if let Some(adoption) = state.store.adoption(a.id, leistung_id).await? {
        let entry = state.store.library_entry(adoption.entry_id).await?;
        let Some(entry) = entry else { return Ok(Value::UNDEFINED) };
        let author = authority_name(state, entry.authority_id);
        let linked = adoption.is_linked();
        let mut changes = Vec::new();
        if linked && entry.revision > adoption.adopted_revision {
            let before = state.store.library_revision(entry.id, adoption.adopted_revision).await?.unwrap_or_default();
            changes = shared_changes(&before, &entry.content()?);
        }
        let mut form_changes = Vec::new();
        for f in state.store.library_forms(a.id, leistung_id).await?.into_iter().filter(LibraryForm::pending) {
            form_changes.push(form_change(state, &f).await?);
        }
        return Ok(context! {
            adopted => true, linked, author, entry_id => entry.id, revision => adoption.adopted_revision,
            latest => entry.revision, pending => linked && entry.revision > adoption.adopted_revision, changes,
            form_changes, withdrawn => entry.withdrawn,
        });
    }
    let own = state.store.library_entry_of(a.id, leistung_id).await?;
    match own {
        Some(e) if !e.withdrawn => {
            let usage = state.store.library_usage(e.id).await?;
            Ok(
                context! { offered => true, entry_id => e.id, revision => e.revision, usage => usage_rows(state, &e, &usage) },
            )
        }
        _ => Ok(context! { can_offer => published }),
    }
}

/// What a new owner version of a form would change for the adopter: its fields and
/// steps, its workflow and its trust level — a lower trust level is pointed out,
/// because it lets citizens apply with a weaker identification.
async fn form_change(state: &AppState, f: &LibraryForm) -> Result<Value, AppError> {
    let load = |v: i64| async move {
        Ok::<_, AppError>(match state.store.form_version(f.owner_id, f.form_id, v).await? {
            Some(version) => Some(version.form()?),
            None => None,
        })
    };
    let after = load(f.latest).await?;
    let before = match f.pinned {
        Some(v) => load(v).await?,
        None => None,
    };
    let trust = |form: &amtsweg_forms::Form| TrustLevel::parse(&form.trust_level).ok();
    let label = |t: Option<TrustLevel>| t.map_or("–", TrustLevel::label);
    let mut lines = Vec::new();
    let mut trust_lowered = None;
    if let Some(after) = &after {
        match &before {
            Some(before) => {
                for c in amtsweg_forms::diff::diff(before, after) {
                    lines.push(context! { kind => change_kind(&c), text => change_text(&c) });
                }
                if before.workflow() != after.workflow() {
                    let names = |w: &amtsweg_forms::Workflow| {
                        w.states.iter().map(|s| s.label.clone()).collect::<Vec<_>>().join(" → ")
                    };
                    lines.push(context! {
                        kind => "", text => format!("Bearbeitungsablauf geändert: {} (vorher: {})", names(after.workflow()), names(before.workflow())),
                    });
                }
                let (was, now) = (trust(before), trust(after));
                if was != now {
                    lines.push(context! { kind => "", text => format!("Vertrauensniveau geändert: {} → {}", label(was), label(now)) });
                    if now < was {
                        trust_lowered = Some(context! { before => label(was), after => label(now) });
                    }
                }
            }
            None => lines.push(context! {
                kind => "ins", text => format!("Neues Formular mit Vertrauensniveau {}", label(trust(after))),
            }),
        }
    }
    Ok(context! {
        title => &f.title, pinned => f.pinned, latest => f.latest, lines, trust_lowered,
    })
}

/// Line diffs of the shared parts (name and every text module except fees).
fn shared_changes(before: &LeistungContent, now: &LeistungContent) -> Vec<Value> {
    let mut changes = Vec::new();
    if before.name != now.name {
        changes.push(context! { heading => "Name", lines => crate::render::diff_lines(&before.name, &now.name) });
    }
    for ((m, new_text), (_, old_text)) in now.modules().iter().zip(before.modules().iter()) {
        if *m != TextModule::Fees && new_text != old_text {
            changes.push(context! { heading => m.heading(), lines => crate::render::diff_lines(old_text, new_text) });
        }
    }
    changes
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    csrf: String,
    aktion: String,
}

/// Offer, withdraw, accept upstream changes or detach — for one service.
pub async fn service_action(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<ActionForm>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let l = state.store.leistung_by_id(a.id, id).await?.ok_or(AppError::NotFound)?;
    staff.require_unit(&l)?;
    let by = Some(staff.user.id);
    let mut tx = state.store.begin().await?;
    let notice = match f.aktion.as_str() {
        "anbieten" => tx.offer_to_library(a.id, id, by).await?.map(|_| "angeboten"),
        "zurueckziehen" => tx.withdraw_from_library(a.id, id, by).await?.then_some("bibliothek-zurueckgezogen"),
        "aenderungen-uebernehmen" => tx.accept_upstream(a.id, id, by).await?.map(|_| "aenderungen-uebernommen"),
        "loesen" => tx.detach_from_library(a.id, id, by).await?.then_some("geloest"),
        _ => return Err(AppError::BadRequest("Unbekannte Aktion.".into())),
    };
    tx.commit().await?;
    if f.aktion == "aenderungen-uebernehmen" && notice.is_some() {
        crate::sync::refresh(&state).await?;
    }
    let notice = notice.unwrap_or("bibliothek-unveraendert");
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/leistungen/{id}?hinweis={notice}#bibliothek", a.slug))
        .into_response())
}
