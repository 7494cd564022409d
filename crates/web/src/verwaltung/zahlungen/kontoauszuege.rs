//! Bank statements (`…/zahlungen/kontoauszuege`): the statements imported so far and
//! the upload of a camt.053 file (versions 001.02 and 001.08) of one of the
//! authority's invoice accounts — checked only, or imported. Exact credits are
//! booked at once (releasing held applications); the rest waits in the
//! reconciliation. A statement imported again changes nothing.

use super::{Problem, StaffContext, actor, authority_value, base_url, german_day, no_store};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::payment::Iban;
use amtsweg_portal::reconcile::{self, ImportReport};
use amtsweg_portal::time::when;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};

/// Largest statement file read (the parser's own limit is the same).
const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    report: Option<&ImportReport>,
    problem: Option<&Problem>,
) -> Result<Response, AppError> {
    let statements: Vec<Value> = state
        .store
        .statements_of(a.id, 100)
        .await?
        .into_iter()
        .map(|s| {
            context! {
                statement_id => &s.statement_id, version => &s.version, entries => s.entries,
                iban => Iban::parse(&s.account_iban).map_or_else(|_| s.account_iban.clone(), |i| i.printed()),
                from => german_day(&s.from_date), to => german_day(&s.to_date),
                imported => when(s.imported_at), imported_by => &s.imported_by,
            }
        })
        .collect();
    let report = report.map(|r| {
        let statements: Vec<Value> = r
            .statements
            .iter()
            .map(|s| {
                let lines: Vec<Value> = s
                    .lines
                    .iter()
                    .map(|l| {
                        context! {
                            amount => l.amount.german(), currency => &l.currency, credit => l.credit,
                            day => german_day(&l.booking_date), label => l.label(),
                            released => l.released.is_some(),
                        }
                    })
                    .collect();
                context! {
                    statement_id => &s.statement_id, version => &s.version, known => s.known, pending => s.pending,
                    iban => Iban::parse(&s.account_iban).map_or_else(|_| s.account_iban.clone(), |i| i.printed()),
                    from => german_day(&s.from), to => german_day(&s.to), lines,
                }
            })
            .collect();
        context! { dry_run => r.dry_run, summary => r.summary_de(), to_resolve => r.to_resolve(), statements }
    });
    let errors: Vec<&Problem> = problem.into_iter().collect();
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), statements, report, errors,
        max_mb => MAX_FILE_BYTES / 1024 / 1024,
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_kontoauszuege.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    render(&state, &staff, &a, &uri, None, None).await
}

/// What the upload form sent.
struct Upload {
    csrf: String,
    /// "ja": check only, store nothing.
    check_only: bool,
    file_name: String,
    bytes: Vec<u8>,
    too_big: bool,
}

async fn read_upload(mut mp: Multipart) -> Result<Upload, AppError> {
    let unreadable =
        |_| AppError::BadRequest("Die Datei kam unvollständig an. Bitte laden Sie sie noch einmal hoch.".into());
    let mut up =
        Upload { csrf: String::new(), check_only: false, file_name: String::new(), bytes: Vec::new(), too_big: false };
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => up.csrf = field.text().await.map_err(unreadable)?,
            Some("pruefen") => up.check_only = field.text().await.map_err(unreadable)? == "ja",
            Some("datei") => {
                up.file_name = field.file_name().unwrap_or_default().to_owned();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if up.bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        up.too_big = true;
                        up.bytes.clear();
                        // Read on: the fields after the file (the token) still count.
                        while field.chunk().await.map_err(unreadable)?.is_some() {}
                        break;
                    }
                    up.bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

/// Checks or imports an uploaded statement file (`multipart/form-data`).
pub async fn upload(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    // The authority is checked before the body is read at all.
    let a = staff.payment_handler(&state, &slug)?;
    let mp = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte laden Sie den Kontoauszug über das Formular hoch.".into()))?;
    let up = read_upload(mp).await?;
    staff.check_form(&headers, &up.csrf)?;
    let refused = |m: String| Problem::new("feld-datei", m);
    if up.too_big {
        let p = refused(format!("Die Datei ist größer als {} MB.", MAX_FILE_BYTES / 1024 / 1024));
        return render(&state, &staff, &a, &uri, None, Some(&p)).await;
    }
    if up.bytes.is_empty() {
        let p = refused("Bitte wählen Sie die Datei des Kontoauszugs (camt.053, XML) aus.".into());
        return render(&state, &staff, &a, &uri, None, Some(&p)).await;
    }
    let result = if up.check_only {
        reconcile::check_camt(&state.portal, a.id, &up.bytes).await?
    } else {
        reconcile::import_camt(&state.portal, &actor(&staff), a.id, &up.bytes).await?
    };
    match result {
        Ok(report) => render(&state, &staff, &a, &uri, Some(&report), None).await,
        Err(m) => {
            let name = up.file_name.trim();
            let m = if name.is_empty() { m } else { format!("„{name}“: {m}") };
            render(&state, &staff, &a, &uri, None, Some(&refused(m))).await
        }
    }
}
