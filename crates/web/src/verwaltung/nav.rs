//! The back office's navigation by area (Anträge, Nachrichten, Inhalte, Formulare,
//! Schnittstellen, Einstellungen): only the areas the signed-in person may use, with
//! counts of what waits, the current area marked. The start page shows the same
//! areas as cards.

use super::StaffContext;
use crate::AppState;
use amtsweg_domain::Authority;
use amtsweg_store::workload::Waiting;
use minijinja::{Value, context};

/// One area or sub-area of the navigation.
struct Link {
    label: &'static str,
    url: String,
    current: bool,
    /// (number, what it counts) shown as a badge; none when nothing waits.
    count: Option<(i64, &'static str)>,
}

impl Link {
    fn new(label: &'static str, url: String, current: bool) -> Self {
        Self { label, url, current, count: None }
    }

    fn counting(mut self, n: i64, what: &'static str) -> Self {
        if n > 0 {
            self.count = Some((n, what));
        }
        self
    }

    fn value(&self) -> Value {
        context! {
            label => self.label, url => &self.url, current => self.current,
            count => self.count.map(|c| c.0), count_label => self.count.map(|c| c.1),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    Start,
    Cases,
    Appointments,
    Payments,
    Content,
    Forms,
    Connectors,
    Settings,
    Other,
}

fn area_of(path: &str) -> Area {
    let p = path.split(['?', '#']).next().unwrap_or(path);
    if p == "/verwaltung/" {
        Area::Start
    } else if p.starts_with("/verwaltung/antraege") {
        Area::Cases
    } else if p.contains("/termine/") {
        Area::Appointments
    } else if p.contains("/zahlungen/") {
        Area::Payments
    } else if p.contains("/formulare") {
        Area::Forms
    } else if p.contains("/schnittstellen") {
        Area::Connectors
    } else if p.contains("/darstellung")
        || p.contains("/einladen")
        || p.contains("/mitarbeitende/")
        || p.starts_with("/verwaltung/protokoll")
        || p.starts_with("/verwaltung/verbund/")
    {
        Area::Settings
    } else if ["/leistungen", "/seite", "/stelle", "/standort", "/kontakte", "/verwaltung/bibliothek"]
        .iter()
        .any(|s| p.contains(s))
    {
        Area::Content
    } else {
        Area::Other
    }
}

/// The authority an area link leads to: the one of the current page if the person
/// may use the area there, else their only one; `None` when they have several (the
/// link then leads to the start page, which lists them).
fn authority_for<'a>(all: &[&'a Authority], here: Option<&str>) -> Option<&'a Authority> {
    if let Some(a) = here.and_then(|slug| all.iter().find(|a| a.slug.as_str() == slug)) {
        return Some(a);
    }
    match all {
        [only] => Some(only),
        _ => None,
    }
}

/// What the navigation and the start page know about the signed-in person.
pub(crate) struct Areas {
    /// The main areas, in order.
    pub main: Vec<Value>,
    /// The sub-areas of the current area (Inhalte, Einstellungen), if any.
    pub sub: Vec<Value>,
}

#[allow(clippy::too_many_lines)]
pub(crate) fn areas(state: &AppState, staff: &StaffContext, path: &str) -> Areas {
    let catalogue = state.catalogue();
    let perms = &staff.perms;
    let w: Waiting = staff.waiting;
    let here = path.strip_prefix("/verwaltung/behoerden/").and_then(|rest| rest.split('/').next());
    let current = area_of(path);
    let p = path.split(['?', '#']).next().unwrap_or(path);
    let editable: Vec<&Authority> =
        catalogue.authorities.iter().map(AsRef::as_ref).filter(|a: &&Authority| perms.can_edit_content(a.id)).collect();
    let administered: Vec<&Authority> =
        catalogue.authorities.iter().map(AsRef::as_ref).filter(|a: &&Authority| perms.can_administer(a.id)).collect();
    let works_cases = perms.works_cases();
    let is_admin = perms.is_verbund_admin() || !administered.is_empty();

    let mut main = vec![Link::new("Übersicht", "/verwaltung/".into(), current == Area::Start)];
    if works_cases {
        main.push(
            Link::new("Anträge", "/verwaltung/antraege/".into(), current == Area::Cases).counting(w.received, "neu"),
        );
        main.push(
            Link::new("Nachrichten", "/verwaltung/antraege/?ungelesen=ja".into(), false)
                .counting(w.unread, "ungelesen"),
        );
    }
    let appointments = appointment_authorities(&catalogue, perms);
    if !appointments.is_empty() {
        let url = authority_for(&appointments, here).map_or_else(
            || "/verwaltung/#termine".to_owned(),
            |a| format!("/verwaltung/behoerden/{}/termine/", a.slug),
        );
        main.push(Link::new("Termine", url, current == Area::Appointments));
    }
    let payments = payment_authorities(&catalogue, perms);
    if !payments.is_empty() {
        let url = authority_for(&payments, here).map_or_else(
            || "/verwaltung/#zahlungen".to_owned(),
            |a| format!("/verwaltung/behoerden/{}/zahlungen/", a.slug),
        );
        main.push(Link::new("Zahlungen", url, current == Area::Payments));
    }
    let content = authority_for(&editable, here);
    let mut sub = Vec::new();
    if !editable.is_empty() {
        let url = content.map_or_else(
            || "/verwaltung/#inhalte".to_owned(),
            |a| format!("/verwaltung/behoerden/{}/leistungen/", a.slug),
        );
        main.push(Link::new("Inhalte", url, current == Area::Content));
        if current == Area::Content {
            if let Some(a) = content {
                let base = format!("/verwaltung/behoerden/{}", a.slug);
                sub.push(Link::new(
                    "Leistungen",
                    format!("{base}/leistungen/"),
                    p.starts_with(&format!("{base}/leistungen")),
                ));
                if perms.can_edit_authority_wide(a.id) {
                    sub.push(Link::new("Seiten", format!("{base}/seiten/"), p.starts_with(&format!("{base}/seiten"))));
                }
                sub.push(Link::new(
                    "Stellen",
                    format!("{base}/stellen/"),
                    p.starts_with(&format!("{base}/stellen")) || p.starts_with(&format!("{base}/kontakte")),
                ));
                if perms.can_edit_authority_wide(a.id) {
                    sub.push(Link::new(
                        "Standorte",
                        format!("{base}/standorte/"),
                        p.starts_with(&format!("{base}/standorte")),
                    ));
                }
            }
            sub.push(Link::new(
                "Bibliothek",
                "/verwaltung/bibliothek/".into(),
                p.starts_with("/verwaltung/bibliothek"),
            ));
        }
        let forms = authority_for(&editable, here).map_or_else(
            || "/verwaltung/#formulare".to_owned(),
            |a| format!("/verwaltung/behoerden/{}/formulare/", a.slug),
        );
        main.push(Link::new("Formulare", forms, current == Area::Forms));
    }
    let admin = authority_for(&administered, here);
    if !administered.is_empty() {
        let url = admin.map_or_else(
            || "/verwaltung/#schnittstellen".to_owned(),
            |a| format!("/verwaltung/behoerden/{}/schnittstellen/", a.slug),
        );
        main.push(Link::new("Schnittstellen", url, current == Area::Connectors));
    }
    if is_admin {
        let url = match admin {
            Some(a) => format!("/verwaltung/behoerden/{}/darstellung", a.slug),
            None if perms.is_verbund_admin() => "/verwaltung/verbund/behoerden/".to_owned(),
            None => "/verwaltung/protokoll/".to_owned(),
        };
        main.push(Link::new("Einstellungen", url, current == Area::Settings));
        if current == Area::Settings {
            if let Some(a) = admin {
                let base = format!("/verwaltung/behoerden/{}", a.slug);
                sub.push(Link::new(
                    "Darstellung",
                    format!("{base}/darstellung"),
                    p.starts_with(&format!("{base}/darstellung")),
                ));
                sub.push(Link::new("Konten", format!("{base}/einladen"), p.starts_with(&format!("{base}/einladen"))));
                sub.push(Link::new(
                    "Mitarbeitende",
                    format!("{base}/mitarbeitende/"),
                    p.starts_with(&format!("{base}/mitarbeitende/")),
                ));
            }
            sub.push(Link::new("Protokoll", "/verwaltung/protokoll/".into(), p.starts_with("/verwaltung/protokoll")));
            if perms.is_verbund_admin() {
                sub.push(Link::new(
                    "Behörden",
                    "/verwaltung/verbund/behoerden/".into(),
                    p.starts_with("/verwaltung/verbund/behoerden"),
                ));
                sub.push(Link::new(
                    "Zuständigkeiten",
                    "/verwaltung/verbund/zustaendigkeiten/".into(),
                    p.starts_with("/verwaltung/verbund/zustaendigkeiten"),
                ));
                sub.push(Link::new(
                    "Alle Mitarbeitenden",
                    "/verwaltung/verbund/mitarbeitende/".into(),
                    p.starts_with("/verwaltung/verbund/mitarbeitende"),
                ));
            }
        }
    }
    Areas { main: main.iter().map(Link::value).collect(), sub: sub.iter().map(Link::value).collect() }
}

/// The authorities whose online appointments this person configures (editing the
/// authority as a whole) or works at the counter (case work).
fn appointment_authorities<'a>(
    catalogue: &'a amtsweg_portal::catalogue::Catalogue,
    perms: &amtsweg_domain::staff::Permissions,
) -> Vec<&'a Authority> {
    let cases = perms.case_authority_ids();
    catalogue
        .authorities
        .iter()
        .map(AsRef::as_ref)
        .filter(|a: &&Authority| perms.can_edit_authority_wide(a.id) || cases.contains(&a.id))
        .collect()
}

/// The authorities whose payments this person handles (case work for the whole
/// authority) or sets up (administration).
fn payment_authorities<'a>(
    catalogue: &'a amtsweg_portal::catalogue::Catalogue,
    perms: &amtsweg_domain::staff::Permissions,
) -> Vec<&'a Authority> {
    catalogue
        .authorities
        .iter()
        .map(AsRef::as_ref)
        .filter(|a: &&Authority| perms.can_handle_payments(a.id) || perms.can_administer(a.id))
        .collect()
}

/// The cards of the start page: one per area, with what waits and the links into it.
pub(crate) fn cards(state: &AppState, staff: &StaffContext) -> Vec<Value> {
    let catalogue = state.catalogue();
    let perms = &staff.perms;
    let w = staff.waiting;
    let mut cards = Vec::new();
    let link = |label: String, url: String| context! { label, url };
    if perms.works_cases() {
        let waiting = [(w.received, "neu eingegangen", "info"), (w.unassigned, "offen ohne Zuständige", "warning")]
            .into_iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, what, kind)| context! { n, what, kind })
            .collect::<Vec<_>>();
        cards.push(context! {
            id => "antraege", title => "Anträge", url => "/verwaltung/antraege/", waiting,
            none => "Keine neuen Anträge.",
            links => vec![
                link("Offene Anträge".into(), "/verwaltung/antraege/".into()),
                link("Mir zugewiesen".into(), "/verwaltung/antraege/?zugewiesen=ich".into()),
                link("Noch niemandem zugewiesen".into(), "/verwaltung/antraege/?zugewiesen=niemand".into()),
            ],
        });
        let unread = if w.unread > 0 {
            vec![context! { n => w.unread, what => "ungelesen", kind => "warning" }]
        } else {
            vec![]
        };
        cards.push(context! {
            id => "nachrichten", title => "Nachrichten", url => "/verwaltung/antraege/?ungelesen=ja",
            waiting => unread, none => "Keine ungelesenen Antworten von Antragstellenden.",
            links => vec![link("Anträge mit ungelesenen Antworten".into(), "/verwaltung/antraege/?ungelesen=ja".into())],
        });
    }
    // Several authorities: their links are in the table "Ihre Behörden" below the cards.
    let editable: Vec<&Authority> =
        catalogue.authorities.iter().map(AsRef::as_ref).filter(|a: &&Authority| perms.can_edit_content(a.id)).collect();
    let administered: Vec<&Authority> =
        catalogue.authorities.iter().map(AsRef::as_ref).filter(|a: &&Authority| perms.can_administer(a.id)).collect();
    let one = |all: &[&Authority]| if let [a] = all { Some(format!("/verwaltung/behoerden/{}", a.slug)) } else { None };
    if !editable.is_empty() {
        let mut links = Vec::new();
        if let (Some(base), [a]) = (one(&editable), editable.as_slice()) {
            links.push(link("Leistungen bearbeiten".into(), format!("{base}/leistungen/")));
            if perms.can_edit_authority_wide(a.id) {
                links.push(link("Pflichtseiten".into(), format!("{base}/seiten/")));
                links.push(link("Öffnungszeiten und Standorte".into(), format!("{base}/standorte/")));
            }
            links.push(link("Ämter und Ansprechpartner".into(), format!("{base}/stellen/")));
        }
        links.push(link("Verbund-Bibliothek".into(), "/verwaltung/bibliothek/".into()));
        cards.push(context! { id => "inhalte", title => "Inhalte", links, many => editable.len() > 1 });
        let forms = one(&editable).map(|base| vec![link("Formulare bearbeiten".into(), format!("{base}/formulare/"))]);
        cards.push(context! { id => "formulare", title => "Formulare", links => forms.unwrap_or_default(), many => editable.len() > 1 });
    }
    let appointments = appointment_authorities(&catalogue, perms);
    if !appointments.is_empty() {
        // One link per authority: the day lists and calendars differ by authority.
        let links = appointments
            .iter()
            .map(|a| {
                let label = if appointments.len() == 1 {
                    "Online-Termine: Tageslisten und Kalender".to_owned()
                } else {
                    format!("Online-Termine: {}", a.name)
                };
                link(label, format!("/verwaltung/behoerden/{}/termine/", a.slug))
            })
            .collect::<Vec<_>>();
        cards.push(context! { id => "termine", title => "Termine", links });
    }
    let payments = payment_authorities(&catalogue, perms);
    if !payments.is_empty() {
        let links = payments
            .iter()
            .map(|a| {
                let label = if payments.len() == 1 {
                    "Zahlungen: Abgleich, Erstattungen, Verbindungen".to_owned()
                } else {
                    format!("Zahlungen: {}", a.name)
                };
                link(label, format!("/verwaltung/behoerden/{}/zahlungen/", a.slug))
            })
            .collect::<Vec<_>>();
        cards.push(context! { id => "zahlungen", title => "Zahlungen", links });
    }
    if !administered.is_empty() {
        let links = one(&administered)
            .map(|base| vec![link("Verbindungen und API-Zugänge".into(), format!("{base}/schnittstellen/"))]);
        cards.push(context! { id => "schnittstellen", title => "Schnittstellen", links => links.unwrap_or_default(), many => administered.len() > 1 });
    }
    if perms.is_verbund_admin() || !administered.is_empty() {
        let mut links = Vec::new();
        if let Some(base) = one(&administered) {
            links.push(link("Darstellung".into(), format!("{base}/darstellung")));
            links.push(link("Konten: Mitarbeitende einladen".into(), format!("{base}/einladen")));
            links.push(link("Mitarbeitende: Rollen und Zugänge".into(), format!("{base}/mitarbeitende/")));
        }
        links.push(link("Protokoll".into(), "/verwaltung/protokoll/".into()));
        if perms.is_verbund_admin() {
            links.push(link("Behörden im Verbund".into(), "/verwaltung/verbund/behoerden/".into()));
            links.push(link("Zuständigkeiten".into(), "/verwaltung/verbund/zustaendigkeiten/".into()));
            links.push(link("Alle Mitarbeitenden".into(), "/verwaltung/verbund/mitarbeitende/".into()));
        }
        cards.push(context! { id => "einstellungen", title => "Einstellungen", links, many => administered.len() > 1 });
    }
    cards
}
