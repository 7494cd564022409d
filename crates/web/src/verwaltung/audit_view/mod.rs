//! The audit log for administrators: entries in words ("Sam Sachbearbeitung hat
//! MOO-2026-000005 auf ‚bewilligt‘ gesetzt"), filterable by kind of action, person
//! and period, page by page; everything as CSV (raw values, for tools).

mod words;

use super::{StaffContext, base, urlencode};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::staff::Role;
use amtsweg_store::audit_log::{ActorFilter, AuditQuery};
use amtsweg_store::staff::{AuditRecord, ChainCheck};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE_SIZE: u64 = 50;

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

/// "24.11.2026, 14:05:33 Uhr" for people.
fn when_german(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(crate::render::berlin()).strftime("%d.%m.%Y, %H:%M:%S Uhr").to_string())
        .unwrap_or_default()
}

/// Midnight (German time) at the start of `d` (`next`: of the day after), in ms.
fn midnight(d: amtsweg_forms::Date, next: bool) -> Option<i64> {
    let mut civil =
        jiff::civil::Date::new(i16::try_from(d.year).ok()?, i8::try_from(d.month).ok()?, i8::try_from(d.day).ok()?)
            .ok()?;
    if next {
        civil = civil.tomorrow().ok()?;
    }
    Some(civil.to_zoned(crate::render::berlin()).ok()?.timestamp().as_millisecond())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    aktion: String,
    wer: String,
    von: String,
    bis: String,
    seite: u64,
}

/// Looks up what entries name by id, once per page, within the reader's authorities.
struct Names<'a> {
    state: &'a AppState,
    scope: Option<&'a [i64]>,
    cache: HashMap<String, String>,
}

impl Names<'_> {
    fn allowed(&self, authority_id: Option<i64>) -> bool {
        match (self.scope, authority_id) {
            (None, _) => true,
            (Some(ids), Some(a)) => ids.contains(&a),
            (Some(_), None) => false,
        }
    }

    async fn staff(&mut self, id: &str) -> String {
        let key = format!("staff:{id}");
        if let Some(n) = self.cache.get(&key) {
            return n.clone();
        }
        let name = match id.parse::<i64>() {
            Ok(id) => self.state.store.staff_by_id(id).await.ok().flatten().map(|u| u.display_name),
            Err(_) => None,
        }
        .unwrap_or_else(|| format!("Mitarbeiterkonto {id}"));
        self.cache.insert(key, name.clone());
        name
    }

    async fn actor(&mut self, actor: &str) -> String {
        let (kind, id) = actor.split_once(':').unwrap_or((actor, ""));
        match kind {
            "staff" => self.staff(id).await,
            "citizen" => format!("Bürgerkonto {id}"),
            "api" => match self.state.store.api_client(id).await.ok().flatten() {
                Some(c) if self.allowed(Some(c.authority_id)) => format!("Schnittstelle „{}“", c.name),
                _ => "Eine Schnittstelle".to_owned(),
            },
            "authority" => id
                .parse::<i64>()
                .ok()
                .and_then(|a| self.state.catalogue().authority(a).map(|a| a.name.clone()))
                .unwrap_or_else(|| "Eine Behörde".to_owned()),
            "anonymous" => "Jemand ohne Anmeldung".to_owned(),
            "system" if id == "cli" => "Der Betrieb (Kommandozeile)".to_owned(),
            "system" => "Das System".to_owned(),
            "link" => "Ein Download-Link".to_owned(),
            _ => actor.to_owned(),
        }
    }

    /// The receipt number and the workflow of a submission of the reader's authorities.
    async fn submission(&mut self, authority_id: Option<i64>, id: &str) -> Option<(String, amtsweg_forms::Workflow)> {
        let a = authority_id.filter(|a| self.allowed(Some(*a)))?;
        let row = self.state.store.submission(a, id.parse().ok()?).await.ok().flatten()?;
        let workflow = self
            .state
            .catalogue()
            .form_by_id(a, row.form_id)
            .map_or_else(amtsweg_forms::Workflow::default, |f| f.form.workflow().clone());
        Some((row.receipt_number, workflow))
    }

    /// An appointment calendar by its location: "Standort „Rathaus“, 24.11.2026".
    async fn calendar(&mut self, authority_id: Option<i64>, rest: &str) -> String {
        let (id, day) = calendar_parts(rest);
        let key = format!("calendar:{}:{id}", authority_id.unwrap_or_default());
        let name = match self.cache.get(&key) {
            Some(n) => Some(n.clone()),
            None => {
                let name = match (authority_id, id.parse::<i64>()) {
                    (Some(a), Ok(c)) if self.allowed(Some(a)) => {
                        let row = self.state.store.appointment_calendar(a, c).await.ok().flatten();
                        row.and_then(|r| self.state.catalogue().location(a, r.location_id).map(|l| l.name.clone()))
                    }
                    _ => None,
                };
                if let Some(n) = &name {
                    self.cache.insert(key, n.clone());
                }
                name
            }
        };
        let mut out = name.map_or_else(|| format!("Terminkalender Nr. {id}"), |n| format!("Standort „{n}“"));
        if let Some(d) = day {
            out.push_str(", ");
            out.push_str(&d.strftime("%d.%m.%Y").to_string());
        }
        out
    }

    async fn target(&mut self, e: &AuditRecord) -> (String, String) {
        let (kind, rest) = e.target.split_once(':').unwrap_or((e.target.as_str(), ""));
        let id = rest.split('/').next().unwrap_or_default();
        let catalogue = self.state.catalogue();
        let plain = match (e.action.as_str(), kind) {
            ("login" | "login.password" | "login.second_factor", "staff") => "in der Verwaltung".to_owned(),
            ("login" | "login.password" | "login.second_factor", "citizen") => "im Bürgerkonto".to_owned(),
            (_, "bundid") => "BundID".to_owned(),
            ("login.oidc" | "login.identity" | "identity.link", provider) => format!("„{provider}“"),
            (_, "staff") => self.staff(id).await,
            (_, "citizen") => format!("Bürgerkonto {id}"),
            (_, "thread") => format!("Postfach-Verlauf {id}"),
            (_, "authority") => id
                .parse::<i64>()
                .ok()
                .and_then(|a| catalogue.authority(a).map(|a| a.name.clone()))
                .unwrap_or_else(|| format!("Behörde {id}")),
            (_, "leistung") => {
                let name = match (e.authority_id, id.parse::<i64>()) {
                    (Some(a), Ok(l)) if self.allowed(Some(a)) => {
                        self.state.store.leistung_by_id(a, l).await.ok().flatten().map(|l| l.name)
                    }
                    _ => None,
                };
                name.map_or_else(|| format!("die Leistung Nr. {id}"), |n| format!("die Leistung „{n}“"))
            }
            (_, "form") => {
                let title = match (e.authority_id, id.parse::<i64>()) {
                    (Some(a), Ok(f)) if self.allowed(Some(a)) => {
                        self.state.store.form_by_id(a, f).await.ok().flatten().map(|f| f.title)
                    }
                    _ => None,
                };
                title.map_or_else(|| format!("das Formular Nr. {id}"), |t| format!("das Formular „{t}“"))
            }
            (_, "page") => {
                let mut name: String = rest.replace(['_', '-'], " ");
                if let Some(first) = name.get(..1) {
                    name = first.to_uppercase() + name.get(1..).unwrap_or_default();
                }
                format!("die Seite „{name}“")
            }
            (_, "period") => format!("Zeitraum {}", rest.replace("..", " bis ")),
            (_, "leika") => format!("LeiKa-Schlüssel {rest}"),
            (_, "audit_log") => String::new(),
            (_, "calendar" | "appointment_calendar") => self.calendar(e.authority_id, rest).await,
            (_, "connector" | "api_client" | "delivery" | "org_unit" | "contact" | "location" | "appointment") => {
                format!("Nr. {id}")
            }
            _ => e.target.clone(),
        };
        let mut outcome = String::new();
        let mut target = plain;
        if kind == "submission" {
            match self.submission(e.authority_id, id).await {
                Some((number, workflow)) => {
                    target = number;
                    outcome = match e.action.as_str() {
                        "submission.status" => {
                            let (to, sub) = e.outcome.split_once(':').unwrap_or((e.outcome.as_str(), ""));
                            let label = workflow.state(to).and_then(|s| s.outcomes.iter().find(|o| o.id == sub));
                            match label {
                                Some(o) => words::quoted_status(&o.label, true),
                                None => words::quoted_status(&workflow.label(to, ""), false),
                            }
                        }
                        "submission.reopen" => words::quoted_status(&workflow.label(&e.outcome, ""), false),
                        _ => String::new(),
                    };
                }
                None => target = format!("Antrag Nr. {id}"),
            }
        }
        if e.action == "submission.assign" {
            outcome = match e.outcome.split_once(':') {
                Some(("staff", id)) => self.staff(id).await,
                _ if e.outcome == "niemand" => "niemandem".to_owned(),
                _ => "neu".to_owned(),
            };
        }
        (target, outcome)
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let authorities = scope(&staff)?;
    let mut errors = Vec::new();
    let mut day = |typed: &str, field: &'static str, label: &str| -> Option<amtsweg_forms::Date> {
        if typed.trim().is_empty() {
            return None;
        }
        let d = amtsweg_forms::Date::parse(typed);
        if d.is_none() {
            errors.push((field, format!("Bitte geben Sie „{label}“ als Datum an, zum Beispiel 31.12.2026.")));
        }
        d
    };
    let from = day(&f.von, "von", "Von");
    let until = day(&f.bis, "bis", "Bis");
    let actor = match f.wer.as_str() {
        "" => None,
        w if w.starts_with("staff:") => Some(ActorFilter::Exactly(w.to_owned())),
        "anonymous" => Some(ActorFilter::Exactly("anonymous".into())),
        "citizen" | "api" | "system" | "authority" => Some(ActorFilter::Prefix(f.wer.clone())),
        _ => None,
    };
    let page = f.seite.max(1);
    let query = AuditQuery {
        authorities: authorities.clone(),
        action: (!f.aktion.is_empty()).then(|| f.aktion.clone()),
        actor,
        from_ms: from.and_then(|d| midnight(d, false)),
        // "bis" includes the whole day.
        until_ms: until.and_then(|d| midnight(d, true)),
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let (entries, total) = state.store.audit_page(&query).await?;
    let (kinds, staff_actors) = state.store.audit_choices(authorities.as_deref()).await?;
    let catalogue = state.catalogue();
    let mut names = Names { state: &state, scope: authorities.as_deref(), cache: HashMap::new() };
    let mut rows = Vec::new();
    for e in &entries {
        let authority = e.authority_id.and_then(|id| catalogue.authority(id)).map(|a| a.name.clone());
        let actor = names.actor(&e.actor).await;
        let (target, outcome_words) = names.target(e).await;
        let text = words::sentence(&words::Entry {
            action: &e.action,
            outcome: &e.outcome,
            actor: &actor,
            target: &target,
            outcome_words: &outcome_words,
        });
        rows.push(context! { when => when_german(e.at), text, authority, kind => words::kind_label(&e.action) });
    }
    let kinds: Vec<Value> = kinds
        .iter()
        .map(|k| context! { value => k, label => words::kind_label(k), selected => *k == f.aktion })
        .collect();
    let mut people = Vec::new();
    for a in &staff_actors {
        let name = names.actor(a).await;
        people.push(context! { value => a, label => name, selected => *a == f.wer });
    }
    let groups: Vec<Value> = [
        ("citizen", "Bürgerinnen und Bürger"),
        ("api", "Schnittstellen"),
        ("anonymous", "ohne Anmeldung"),
        ("system", "System und Betrieb"),
    ]
    .iter()
    .map(|(v, l)| context! { value => v, label => l, selected => *v == f.wer })
    .collect();
    let pages = u64::try_from(total).unwrap_or(0).div_ceil(PAGE_SIZE).max(1);
    let q = format!(
        "?aktion={}&wer={}&von={}&bis={}",
        urlencode(&f.aktion),
        urlencode(&f.wer),
        urlencode(f.von.trim()),
        urlencode(f.bis.trim())
    );
    let chain = if staff.perms.is_verbund_admin() {
        Some(match state.store.verify_audit_chain().await? {
            ChainCheck::Intact { entries } => format!("Die Prüfkette ist intakt ({entries} Einträge)."),
            ChainCheck::Broken { id, .. } => format!("Die Prüfkette ist ab Eintrag {id} verletzt!"),
        })
    } else {
        None
    };
    let first = if total == 0 { 0 } else { (page - 1) * PAGE_SIZE + 1 };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let filtered = !f.aktion.is_empty() || !f.wer.is_empty() || !f.von.trim().is_empty() || !f.bis.trim().is_empty();
    let errors: Vec<Value> = errors.into_iter().map(|(field, message)| context! { field, message }).collect();
    let ctx = context! {
        rows, chain, kinds, people, groups, total, page, pages, first,
        last => (page * PAGE_SIZE).min(u64::try_from(total).unwrap_or(0)),
        prev => (page > 1).then(|| format!("{q}&seite={}", page - 1)),
        next => (page < pages).then(|| format!("{q}&seite={}", page + 1)),
        f => context! { von => f.von.trim(), bis => f.bis.trim(), filtered },
        errors,
        ..base(&state, Some(&staff), "/verwaltung/protokoll/")
    };
    Ok((status, render_page(&state, "verwaltung/audit.html", ctx)?).into_response())
}

/// The calendar id and day of a calendar target: `12:2026-11-24` (day lists in the
/// back office), `12/2026-11-24` (the API) or `12` (configuration).
fn calendar_parts(rest: &str) -> (&str, Option<jiff::civil::Date>) {
    match rest.split_once([':', '/']) {
        Some((id, day)) => (id, day.parse().ok()),
        None => (rest, None),
    }
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

pub async fn csv(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let authorities = scope(&staff)?;
    let entries = state.store.audit_entries(authorities.as_deref(), 1_000_000).await?;
    let mut out = String::from("\"id\",\"zeit\",\"akteur\",\"behoerde\",\"aktion\",\"ziel\",\"ergebnis\",\"hash\"\r\n");
    for e in entries.iter().rev() {
        out.push_str(&csv_line(e));
        out.push_str("\r\n");
    }
    crate::audit::audit_view(&state, &headers, &staff.actor(), None, "audit.export", "audit_log").await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_targets_of_the_back_office_and_the_api_are_read() {
        let day = jiff::civil::Date::new(2026, 11, 24).ok();
        assert_eq!(calendar_parts("12:2026-11-24"), ("12", day));
        assert_eq!(calendar_parts("12/2026-11-24"), ("12", day));
        assert_eq!(calendar_parts("12"), ("12", None));
        assert_eq!(calendar_parts("12/kein-tag"), ("12", None));
    }
}
