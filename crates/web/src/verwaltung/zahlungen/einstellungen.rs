//! The payment settings of an authority (`…/zahlungen/einstellungen`): the
//! Kassenzeichen pattern, how long an application waits for its payment, when an
//! invoice is due, and the treasury's booking data (Haushaltsstelle, Objektnummer,
//! own pattern, further pairs) for all services and per service. Administrators
//! only; two people saving at once are told rather than overwritten.

use super::{Problem, StaffContext, authority_value, base_url, invalid, no_store};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::payment::{BookingPair, KassenzeichenPattern, PaymentSettings, ServiceBooking};
use amtsweg_portal::payments::settings;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// The rows of the booking table: every service of the authority (LeiKa key, name),
/// after the row for all services (`""`).
fn services(state: &AppState, a: &Authority) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        state.catalogue().leistungen_of(a.id).map(|l| (l.leika.as_str().to_owned(), l.name.clone())).collect();
    out.sort_by(|x, y| x.1.cmp(&y.1));
    out.dedup_by(|x, y| x.0 == y.0);
    out.insert(0, (String::new(), "Alle Leistungen (wenn eine Leistung keine eigenen Angaben hat)".to_owned()));
    out
}

/// The form as typed: simple fields plus one row per service.
#[derive(Debug, Default, Clone)]
struct Typed {
    version: i64,
    kassenzeichen: String,
    stunden: String,
    tage: String,
    /// (leika, haushaltsstelle, objektnummer, kassenzeichen, extra as "key=value" lines)
    rows: Vec<[String; 5]>,
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

impl Typed {
    fn of(s: &PaymentSettings, version: i64, services: &[(String, String)]) -> Self {
        let rows = services
            .iter()
            .map(|(leika, _)| {
                let b = s.booking.iter().find(|b| &b.leika == leika).cloned().unwrap_or_default();
                let extra = b.extra.iter().map(|p| format!("{}={}", p.key, p.value)).collect::<Vec<_>>().join("\n");
                [leika.clone(), b.haushaltsstelle, b.objektnummer, b.kassenzeichen, extra]
            })
            .collect();
        Self {
            version,
            kassenzeichen: s.kassenzeichen.clone(),
            stunden: s.expire_unpaid_hours.to_string(),
            tage: s.invoice_due_days.to_string(),
            rows,
        }
    }

    fn from_pairs(pairs: &[(String, String)], services: &[(String, String)]) -> Self {
        let rows = (0..services.len())
            .map(|i| {
                let f = |k: &str| first(pairs, &format!("b{i}_{k}")).to_owned();
                // The key comes from the page's own list, not from the post.
                [services[i].0.clone(), f("hhst"), f("obj"), f("kz"), f("extra")]
            })
            .collect();
        Self {
            version: first(pairs, "version").parse().unwrap_or(0),
            kassenzeichen: first(pairs, "kassenzeichen").to_owned(),
            stunden: first(pairs, "stunden").to_owned(),
            tage: first(pairs, "tage").to_owned(),
            rows,
        }
    }

    /// The settings, or the problems of the inputs this page parses itself.
    fn parse(&self) -> Result<PaymentSettings, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut number = |field: &str, label: &str, v: &str| -> u32 {
            v.trim().parse().unwrap_or_else(|_| {
                problems.push(Problem::new(field, format!("{label}: Bitte geben Sie eine ganze Zahl ein.")));
                0
            })
        };
        let hours = number("feld-stunden", "Wartezeit auf die Zahlung", &self.stunden);
        let days = number("feld-tage", "Zahlungsziel einer Rechnung", &self.tage);
        let mut booking = Vec::new();
        for (i, [leika, hhst, obj, kz, extra]) in self.rows.iter().enumerate() {
            let mut pairs = Vec::new();
            for line in extra.lines().map(str::trim).filter(|l| !l.is_empty()) {
                match line.split_once('=') {
                    Some((k, v)) => pairs.push(BookingPair { key: k.trim().to_owned(), value: v.trim().to_owned() }),
                    None => problems.push(Problem::new(
                        format!("feld-b{i}_extra"),
                        format!("Weitere Buchungsangaben: „{line}“ hat nicht die Form Schlüssel=Wert."),
                    )),
                }
            }
            if [hhst, obj, kz].iter().all(|v| v.trim().is_empty()) && pairs.is_empty() {
                continue;
            }
            booking.push(ServiceBooking {
                leika: leika.clone(),
                haushaltsstelle: hhst.trim().to_owned(),
                objektnummer: obj.trim().to_owned(),
                kassenzeichen: kz.trim().to_owned(),
                extra: pairs,
            });
        }
        let s = PaymentSettings {
            kassenzeichen: self.kassenzeichen.trim().to_owned(),
            expire_unpaid_hours: hours,
            invoice_due_days: days,
            booking,
        };
        if problems.is_empty() {
            // The domain's own checks, each led to the input it is about.
            for m in s.problems() {
                problems.push(Problem::new(self.field_of(&m), m));
            }
        }
        if problems.is_empty() { Ok(s) } else { Err(problems) }
    }

    /// The input a message of the settings' check is about.
    fn field_of(&self, m: &str) -> String {
        for (i, [leika, ..]) in self.rows.iter().enumerate() {
            let name = if leika.is_empty() { "alle Leistungen".to_owned() } else { format!("Leistung {leika}") };
            if m.contains(&name) {
                let input = if m.starts_with("Kassenzeichen für") {
                    "kz"
                } else if m.contains("Schlüssel") {
                    "extra"
                } else {
                    "hhst"
                };
                return format!("feld-b{i}_{input}");
            }
        }
        let field = if m.starts_with("Kassenzeichen") {
            "feld-kassenzeichen"
        } else if m.contains("Stunden") {
            "feld-stunden"
        } else if m.contains("Tage") {
            "feld-tage"
        } else {
            "feld-kassenzeichen"
        };
        field.to_owned()
    }
}

fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    typed: &Typed,
    problems: &[Problem],
    conflict: bool,
) -> Result<Response, AppError> {
    let services = services(state, a);
    let rows: Vec<Value> = typed
        .rows
        .iter()
        .zip(&services)
        .enumerate()
        .map(|(i, ([leika, hhst, obj, kz, extra], (_, name)))| {
            context! { i, leika, name, hhst, obj, kz, extra, all => leika.is_empty() }
        })
        .collect();
    let example = KassenzeichenPattern::parse(if typed.kassenzeichen.trim().is_empty() {
        KassenzeichenPattern::DEFAULT
    } else {
        typed.kassenzeichen.trim()
    })
    .ok()
    .and_then(|p| {
        let year = crate::render::now_local().year();
        p.render(year, 42, &a.slug.as_str().to_uppercase().chars().take(3).collect::<String>()).ok()
    });
    let status = if conflict {
        StatusCode::CONFLICT
    } else if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), rows, errors => problems, invalid => invalid(problems),
        conflict => conflict.then_some(settings::CONFLICT), example, default_pattern => KassenzeichenPattern::DEFAULT,
        typed => context! { version => typed.version, kassenzeichen => &typed.kassenzeichen, stunden => &typed.stunden, tage => &typed.tage },
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_einstellungen.html", ctx)?).into_response()))
}

pub async fn form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let (s, version) = settings::load_versioned(&state.portal, a.id).await?;
    let typed = Typed::of(&s, version, &services(&state, &a));
    render(&state, &staff, &a, &uri, &typed, &[], false)
}

pub async fn submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Csrf(Form(pairs)): Csrf<Form<Vec<(String, String)>>>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let typed = Typed::from_pairs(&pairs, &services(&state, &a));
    let parsed = match typed.parse() {
        Ok(s) => s,
        Err(problems) => return render(&state, &staff, &a, &uri, &typed, &problems, false),
    };
    match settings::save(&state.portal, &staff.actor(), a.id, &parsed, typed.version).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}?hinweis=einstellungen", base_url(&a))).into_response()),
        Err(m) if m.iter().any(|m| m == settings::CONFLICT) => render(&state, &staff, &a, &uri, &typed, &[], true),
        Err(messages) => {
            let problems: Vec<Problem> = messages.into_iter().map(|m| Problem::new(typed.field_of(&m), m)).collect();
            render(&state, &staff, &a, &uri, &typed, &problems, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<(String, String)> {
        vec![(String::new(), "Alle".into()), ("99115003012000".into(), "Meldebescheinigung".into())]
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_form_round_trips_through_the_settings() {
        let t = Typed::from_pairs(
            &pairs(&[
                ("version", "3"),
                ("kassenzeichen", "MB-{jahr}-{nr:5}"),
                ("stunden", "48"),
                ("tage", "14"),
                ("b1_hhst", "1.1.2.01"),
                ("b1_extra", "kostenstelle=4711\n\n produkt = 12 "),
            ]),
            &services(),
        );
        let s = t.parse().unwrap();
        assert_eq!((s.expire_unpaid_hours, s.invoice_due_days, s.booking.len()), (48, 14, 1));
        assert_eq!(s.booking[0].leika, "99115003012000");
        assert_eq!(s.booking[0].extra[1], BookingPair { key: "produkt".into(), value: "12".into() });
        let back = Typed::of(&s, 3, &services());
        assert_eq!(back.rows[1][4], "kostenstelle=4711\nprodukt=12");
        assert!(back.rows[0][1].is_empty());
    }

    #[test]
    fn problems_lead_to_their_inputs() {
        let t = Typed::from_pairs(
            &pairs(&[
                ("kassenzeichen", "{jahr}"),
                ("stunden", "0"),
                ("tage", "x"),
                ("b0_extra", "ohne Gleichheitszeichen"),
            ]),
            &services(),
        );
        let fields: Vec<String> = t.parse().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["feld-tage", "feld-b0_extra"]);
        let t = Typed::from_pairs(
            &pairs(&[("kassenzeichen", "{jahr}"), ("stunden", "0"), ("tage", "14"), ("b1_kz", "{x}")]),
            &services(),
        );
        let fields: Vec<String> = t.parse().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["feld-kassenzeichen", "feld-stunden", "feld-b1_kz"]);
    }
}
