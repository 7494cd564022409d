//! `…/zahlungen/zahlungen.csv?von=&bis=`: the per-period CSV for the treasury —
//! what was requested, what was paid (in the period and in total), how, what was
//! refunded and what is open. At most a year per file; audited.

use super::StaffContext;
use crate::AppState;
use crate::audit::audit;
use crate::error::AppError;
use amtsweg_portal::reconcile::report;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Period {
    von: String,
    bis: String,
}

/// The period asked for, or what to correct.
fn period(p: &Period) -> Result<(jiff::civil::Date, jiff::civil::Date), String> {
    let (Some(from), Some(to)) = (super::parse_day(&p.von), super::parse_day(&p.bis)) else {
        return Err("Bitte geben Sie den Zeitraum als Datum an (von und bis, z. B. 01.11.2026 und 30.11.2026).".into());
    };
    if to < from {
        return Err("Das Ende des Zeitraums liegt vor seinem Anfang.".into());
    }
    // Bounded so that the day after `bis` always exists and one file never covers
    // more than a year.
    if from < jiff::civil::date(2000, 1, 1) || to > jiff::civil::date(2100, 12, 31) {
        return Err("Bitte wählen Sie Tage zwischen 2000 und 2100.".into());
    }
    if from.saturating_add(jiff::Span::new().years(1)) < to {
        return Err("Bitte wählen Sie einen Zeitraum von höchstens einem Jahr.".into());
    }
    Ok((from, to))
}

pub async fn csv(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(p): Query<Period>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let (from, to) = period(&p).map_err(AppError::BadRequest)?;
    let body = report::period_csv(&state.portal, a.id, from, to).await?;
    audit(&state, &staff.actor(), Some(a.id), "payment.report", &format!("period:{from}..{to}"), "success").await?;
    let mut r = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    let name = format!("zahlungen-{}-{from}-{to}.csv", a.slug);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked() {
        let p = |von: &str, bis: &str| period(&Period { von: von.into(), bis: bis.into() });
        assert!(p("2026-11-01", "30.11.2026").is_ok());
        assert!(p("2026-11-30", "2026-11-01").unwrap_err().contains("vor seinem Anfang"));
        assert!(p("2024-01-01", "2026-01-01").unwrap_err().contains("höchstens einem Jahr"));
        assert!(p("", "2026-01-01").is_err());
        assert!(p("1999-12-31", "2000-01-02").is_err());
    }
}
