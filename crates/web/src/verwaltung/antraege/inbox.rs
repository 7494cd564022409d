//! The inbox: one compact filter bar (one GET form), the applications of a page with
//! applicant, received and due dates, status, assignee and a marker for unread
//! replies of the citizen, page links with counts, and bulk assignment of the
//! selected applications (one POST form: CSRF, each case checked like a single one,
//! one audit entry per case).

use super::{StaffContext, actor, case_authorities, case_for, german_date, german_day, no_store, status_label};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use crate::verwaltung::{base, urlencode};
use amtsweg_portal::casework::decisions::{self, Assignee};
use amtsweg_portal::casework::{self, Case};
use amtsweg_portal::submission::open_data;
use amtsweg_store::casework::{InboxFilter, InboxSort};
use amtsweg_store::submissions::SubmissionRow;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// How many submissions the inbox reads for one page (and searches through).
const INBOX_WINDOW: u64 = 2_000;
const PAGE_SIZE: usize = 25;

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct Filter {
    behoerde: String,
    stand: String,
    formular: String,
    stelle: String,
    zugewiesen: String,
    /// "ja": only applications with unread replies of the citizen.
    ungelesen: String,
    q: String,
    sortierung: String,
    seite: usize,
    /// How many applications the last bulk assignment changed.
    zugewiesen_anzahl: usize,
}

impl Filter {
    /// The filter as a query string (without the page), for page links and the
    /// bulk form's target.
    fn query(&self) -> String {
        format!(
            "behoerde={}&stand={}&formular={}&stelle={}&zugewiesen={}&ungelesen={}&q={}&sortierung={}",
            urlencode(&self.behoerde),
            urlencode(&self.stand),
            urlencode(&self.formular),
            urlencode(&self.stelle),
            urlencode(&self.zugewiesen),
            urlencode(&self.ungelesen),
            urlencode(self.q.trim()),
            urlencode(&self.sortierung),
        )
    }
}

/// Whether `needle` (lower case) is in the submission's number, title or answers.
async fn matches(state: &AppState, row: &SubmissionRow, needle: &str) -> bool {
    if row.receipt_number.to_lowercase().contains(needle) || row.title.to_lowercase().contains(needle) {
        return true;
    }
    // Answers are sealed: the search opens them in memory, never writes an index of
    // personal data to disk.
    match open_data(&state.portal, row).await {
        Ok(d) => serde_json::to_string(&d.answers).is_ok_and(|j| j.to_lowercase().contains(needle)),
        Err(_) => false,
    }
}

/// The applicant's name from the answers ("–" when the form asks for none).
async fn applicant(state: &AppState, row: &SubmissionRow) -> Option<String> {
    // The published form when the submission was made with its version (the
    // usual case, no query); else the version it was made with.
    let published = state
        .catalogue()
        .form_by_id(row.authority_id, row.form_id)
        .filter(|p| p.version == row.form_version)
        .map(|p| p.form.clone());
    let data = open_data(&state.portal, row).await.ok()?;
    match published {
        Some(form) => casework::applicant_name(&form, &data.answers),
        None => casework::applicant_name(&casework::form_of(&state.portal, row).await.ok()?, &data.answers),
    }
}

/// The page numbers to link: the first, the last, and two either side of `page`;
/// `None` marks a gap.
fn page_links(page: usize, pages: usize) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    let mut last = 0;
    for p in 1..=pages {
        if p == 1 || p == pages || p.abs_diff(page) <= 2 {
            if last != 0 && p > last + 1 {
                out.push(None);
            }
            out.push(Some(p));
            last = p;
        }
    }
    out
}

/// People the selected applications can be assigned to: the case workers of every
/// authority in view (id, name), by name.
async fn assignable(state: &AppState, ids: &[i64]) -> Result<Vec<(i64, String)>, AppError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in ids {
        for (id, name) in state.store.case_workers_of(*a).await? {
            if seen.insert(id) {
                out.push((id, name));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// What the bulk form sent back, to show again after an error.
#[derive(Debug, Default)]
struct Bulk {
    selected: Vec<i64>,
    to: String,
    error: Option<String>,
}

#[allow(clippy::too_many_lines)]
async fn inbox_page(
    state: &AppState,
    staff: &StaffContext,
    uri: &Uri,
    f: &Filter,
    bulk: &Bulk,
) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let mut ids = case_authorities(staff);
    if ids.is_empty() {
        return Err(AppError::Forbidden);
    }
    let all_ids = ids.clone();
    if let Some(a) = catalogue.authority_by_slug(&f.behoerde).filter(|a| ids.contains(&a.id)) {
        ids = vec![a.id];
    }
    let filter = InboxFilter {
        authority_ids: ids.clone(),
        status: match f.stand.as_str() {
            "" | "offen" | "alle" => None,
            s => Some(s.to_owned()),
        },
        exclude_status: if f.stand.is_empty() || f.stand == "offen" {
            vec!["abgeschlossen".into(), "zurueckgezogen".into()]
        } else {
            Vec::new()
        },
        form_id: f.formular.parse().ok(),
        org_unit_id: f.stelle.parse().ok(),
        assignee: match f.zugewiesen.as_str() {
            "ich" => Some(Some(staff.user.id)),
            "niemand" => Some(None),
            _ => None,
        },
        sort: match f.sortierung.as_str() {
            "alt" => InboxSort::OldestFirst,
            "frist" => InboxSort::DueFirst,
            _ => InboxSort::NewestFirst,
        },
        limit: INBOX_WINDOW,
    };
    let window = state.store.inbox(&filter).await?;
    let window_len = window.len();
    let threads: Vec<i64> = window.iter().filter_map(|r| r.thread_id).collect();
    let unread: HashMap<i64, i64> =
        state.store.unread_replies(&ids, &threads).await?.into_iter().map(|u| (u.thread_id, u.n)).collect();
    let unread_of = |r: &SubmissionRow| r.thread_id.and_then(|t| unread.get(&t).copied()).unwrap_or(0);
    let needle = f.q.trim().to_lowercase();
    let mut rows = Vec::new();
    for row in window {
        // Org-unit scoped case workers see their unit's applications only.
        if !staff.perms.can_work_cases(row.authority_id, row.org_unit_id) {
            continue;
        }
        if f.ungelesen == "ja" && unread_of(&row) == 0 {
            continue;
        }
        if !needle.is_empty() && !matches(state, &row, &needle).await {
            continue;
        }
        rows.push(row);
    }
    let total = rows.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = f.seite.clamp(1, pages);
    let today = crate::render::now_local().date().to_string();
    let several = all_ids.len() > 1;
    let mut names = HashMap::new();
    let mut shown = Vec::new();
    for r in rows.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let assignee = match r.assignee_id {
            Some(id) => {
                if let std::collections::hash_map::Entry::Vacant(e) = names.entry(id) {
                    e.insert(state.store.staff_by_id(id).await?.map(|u| u.display_name).unwrap_or_default());
                }
                names.get(&id).cloned()
            }
            None => None,
        };
        shown.push(context! {
            id => r.id, receipt_number => &r.receipt_number, title => &r.title,
            authority => several.then(|| catalogue.authority(r.authority_id).map(|a| a.name.clone())).flatten(),
            applicant => applicant(state, r).await,
            status => status_label(state, r), submitted => german_day(r.submitted_at),
            due => german_date(&r.due_on), overdue => !r.due_on.is_empty() && r.due_on < today, assignee,
            unread => unread_of(r), selected => bulk.selected.contains(&r.id),
        });
    }
    let authorities: Vec<Value> = catalogue
        .authorities
        .iter()
        .filter(|a| all_ids.contains(&a.id))
        .map(|a| context! { slug => a.slug.as_str(), name => &a.name })
        .collect();
    let forms: Vec<Value> = catalogue
        .all_forms()
        .filter(|p| ids.contains(&p.authority_id))
        .map(|p| context! { id => p.form_id, title => &p.form.title })
        .collect();
    let units: Vec<Value> = ids
        .iter()
        .flat_map(|id| catalogue.org_units_of(*id).iter())
        .map(|u| context! { id => u.id, name => &u.name })
        .collect();
    let workers: Vec<Value> = assignable(state, &ids)
        .await?
        .into_iter()
        .map(|(id, name)| context! { id, name, selected => bulk.to == id.to_string() })
        .collect();
    let query = f.query();
    let link = |p: usize| format!("?{query}&seite={p}");
    let links: Vec<Value> = page_links(page, pages)
        .into_iter()
        .map(|p| match p {
            Some(p) => context! { number => p, url => link(p), current => p == page },
            None => context! { gap => true },
        })
        .collect();
    let first = if total == 0 { 0 } else { (page - 1) * PAGE_SIZE + 1 };
    let ctx = context! {
        rows => shown, total, page, pages, first, last => (page * PAGE_SIZE).min(total), links,
        prev => (page > 1).then(|| link(page - 1)), next => (page < pages).then(|| link(page + 1)),
        f => context! {
            behoerde => &f.behoerde, stand => &f.stand, formular => &f.formular, stelle => &f.stelle,
            zugewiesen => &f.zugewiesen, ungelesen => f.ungelesen == "ja", q => f.q.trim(), sortierung => &f.sortierung,
        },
        bulk_action => format!("/verwaltung/antraege/zuweisen?{query}&seite={page}"),
        bulk_to => &bulk.to, bulk_error => &bulk.error,
        done => (f.zugewiesen_anzahl > 0).then_some(f.zugewiesen_anzahl),
        authorities, forms, units, workers, truncated => window_len >= INBOX_WINDOW as usize,
        ..base(state, Some(staff), uri.path())
    };
    let status = if bulk.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(no_store((status, render_page(state, "verwaltung/antraege.html", ctx)?).into_response()))
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    inbox_page(&state, &staff, &uri, &f, &Bulk::default()).await
}

/// Assigns the selected applications ("antrag", repeated) to one person ("an": a
/// staff id, or "niemand"). Every application is checked as if opened alone (404 for
/// one this person may not work); the person must work cases of each one's
/// authority. Nothing is saved unless all can be assigned.
pub async fn assign_many(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Query(f): Query<Filter>,
    Csrf(Form(fields)): Csrf<Form<Vec<(String, String)>>>,
) -> Result<Response, AppError> {
    let mut bulk = Bulk::default();
    for (k, v) in &fields {
        match k.as_str() {
            "antrag" => bulk.selected.push(v.parse().map_err(|_| AppError::NotFound)?),
            "an" => bulk.to.clone_from(v),
            _ => {}
        }
    }
    bulk.selected.sort_unstable();
    bulk.selected.dedup();
    let mut cases: Vec<Case> = Vec::new();
    for id in &bulk.selected {
        cases.push(case_for(&state, &staff, *id).await?);
    }
    let page = |mut bulk: Bulk, m: String| {
        bulk.error = Some(m);
        bulk
    };
    if cases.is_empty() {
        let b = page(bulk, "Bitte wählen Sie mindestens einen Antrag aus.".into());
        return inbox_page(&state, &staff, &uri, &f, &b).await;
    }
    let to = match bulk.to.as_str() {
        "" => {
            let b = page(bulk, "Bitte wählen Sie, wem die Anträge zugewiesen werden.".into());
            return inbox_page(&state, &staff, &uri, &f, &b).await;
        }
        "niemand" => Assignee { id: None, name: "niemand".into() },
        other => {
            let Ok(uid) = other.parse::<i64>() else {
                let b = page(bulk, "Diese Person gibt es nicht.".into());
                return inbox_page(&state, &staff, &uri, &f, &b).await;
            };
            let mut refused = Vec::new();
            let mut name = String::new();
            for c in &cases {
                match state.store.case_workers_of(c.row.authority_id).await?.into_iter().find(|(w, _)| *w == uid) {
                    Some((_, n)) => name = n,
                    None => refused.push(c.row.receipt_number.clone()),
                }
            }
            if !refused.is_empty() {
                let m = format!(
                    "Diese Person bearbeitet keine Anträge der Behörde von {}. Es wurde nichts zugewiesen.",
                    refused.join(", ")
                );
                return inbox_page(&state, &staff, &uri, &f, &page(bulk, m)).await;
            }
            Assignee { id: Some(uid), name }
        }
    };
    let refs: Vec<&Case> = cases.iter().collect();
    decisions::assign(&state.portal, &refs, &to, None, &actor(&staff)).await?;
    let page = f.seite.max(1);
    Ok(Redirect::to(&format!("/verwaltung/antraege/?{}&seite={page}&zugewiesen_anzahl={}", f.query(), cases.len()))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::page_links;

    #[test]
    fn page_links_show_the_ends_and_the_neighbourhood() {
        assert_eq!(page_links(1, 1), vec![Some(1)]);
        assert_eq!(page_links(5, 10), vec![Some(1), None, Some(3), Some(4), Some(5), Some(6), Some(7), None, Some(10)]);
        assert_eq!(page_links(2, 4), vec![Some(1), Some(2), Some(3), Some(4)]);
    }
}
