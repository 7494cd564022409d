//! The one route map of the portal: every route with its path, methods, handler and
//! access class, in one list. The router is built from it and the tests walk it
//! (tenant isolation, sessions, API scopes), so a new route is covered the moment
//! it exists. Nothing else declares routes — except the demo's simulated BundID
//! (`crate::demo_bundid`), which only `amtsweg demo` merges and `serve` never has.
//!
//! Paths follow the German URL segments, and so do the web modules that serve
//! them (`verwaltung/`, `konto/`, `antrag/`, `api/`, `pages/`).

use crate::AppState;
use axum::Router;
use axum::routing::{MethodRouter, get, post};

/// Who may use a route. The handlers enforce it (extractors such as
/// `StaffContext`, `CitizenContext`, `Journey`, the API's `Client`); the map says it
/// so that tests can prove it for every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: public pages, sign-in and registration, links that carry their own
    /// one-time token, redirects that only add a trailing slash, and the application
    /// journey (whose forms guard their trust level themselves).
    Public,
    /// A signed-in citizen.
    Citizen,
    /// Signed-in staff, for their own account or across the authorities their roles
    /// reach (start page, audit log, the Verbund library).
    Staff,
    /// Staff with a role at the authority named by `{slug}` in the path.
    StaffOfAuthority,
    /// Staff who may work the case `{id}` (a role at its authority, and its org unit
    /// where the role is limited to one).
    StaffCase,
    /// Verbund administrators only.
    VerbundAdmin,
    /// The API without a client: the OpenAPI document, the token endpoint, signed
    /// download links.
    ApiPublic,
    /// An API client holding this scope, for its own authority's submissions.
    ApiScope(&'static str),
}

impl Access {
    /// Whether the route belongs to the API (problem details, English on request).
    #[must_use]
    pub fn is_api(self) -> bool {
        matches!(self, Self::ApiPublic | Self::ApiScope(_))
    }
}

/// One route of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub access: Access,
}

type Entry = (Route, MethodRouter<AppState>);

fn r(path: &'static str, methods: &'static [&'static str], access: Access, handler: MethodRouter<AppState>) -> Entry {
    (Route { path, methods, access }, handler)
}

#[allow(clippy::too_many_lines)]
fn table() -> Vec<Entry> {
    use Access::{ApiPublic, ApiScope, Citizen, Public, Staff, StaffCase, StaffOfAuthority, VerbundAdmin};
    vec![
        // The public portal: Verbund pages, every authority's pages, search, place, static files.
        r("/", &["GET"], Public, get(crate::pages::verbund::start)),
        r("/leistungen/", &["GET"], Public, get(crate::pages::verbund::leistungen_az)),
        r("/leistungen", &["GET"], Public, get(crate::pages::add_slash)),
        r("/leistungen/{slug}", &["GET"], Public, get(crate::pages::verbund::leistung)),
        r("/suche", &["GET"], Public, get(crate::pages::search::page)),
        r("/api/v1/suche", &["GET"], Public, get(crate::pages::search::api)),
        r("/ort", &["GET"], Public, get(crate::place::handler)),
        r("/healthz", &["GET"], Public, get(crate::pages::misc::healthz)),
        r("/static/{file}", &["GET"], Public, get(crate::pages::misc::static_file)),
        r("/o/{slug}", &["GET"], Public, get(crate::pages::add_slash)),
        r("/o/{slug}/", &["GET"], Public, get(crate::pages::authority::start)),
        r("/o/{slug}/theme.css", &["GET"], Public, get(crate::pages::misc::theme_css)),
        r("/o/{slug}/leistungen", &["GET"], Public, get(crate::pages::add_slash)),
        r("/o/{slug}/leistungen/", &["GET"], Public, get(crate::pages::authority::leistungen_az)),
        r("/o/{slug}/leistungen/{leistung}", &["GET"], Public, get(crate::pages::authority::leistung)),
        r("/o/{slug}/organisation", &["GET"], Public, get(crate::pages::add_slash)),
        r("/o/{slug}/organisation/", &["GET"], Public, get(crate::pages::authority::org_units)),
        r("/o/{slug}/organisation/{unit}", &["GET"], Public, get(crate::pages::authority::org_unit)),
        r("/o/{slug}/kontakte", &["GET"], Public, get(crate::pages::add_slash)),
        r("/o/{slug}/kontakte/", &["GET"], Public, get(crate::pages::authority::contacts)),
        r("/o/{slug}/kontakte/{contact}", &["GET"], Public, get(crate::pages::authority::contact)),
        r("/o/{slug}/seiten/{kind}", &["GET"], Public, get(crate::pages::authority::plain_page)),
        r("/o/{slug}/logo/{file}", &["GET"], Public, get(crate::verwaltung::darstellung::serve_logo)),
        // The application journey (`antrag/`): public, each form guards its own trust level.
        r("/o/{slug}/antrag/{form}", &["GET"], Public, get(crate::pages::add_slash)),
        r(
            "/o/{slug}/antrag/{form}/",
            &["GET", "POST"],
            Public,
            get(crate::antrag::start::start).post(crate::antrag::start::first_post),
        ),
        r("/o/{slug}/antrag/{form}/{token}/pruefen", &["GET"], Public, get(crate::antrag::absenden::check)),
        r("/o/{slug}/antrag/{form}/{token}/absenden", &["POST"], Public, post(crate::antrag::absenden::submit)),
        r(
            "/o/{slug}/antrag/{form}/{token}/gespeichert",
            &["GET", "POST"],
            Public,
            get(crate::antrag::entwurf::saved).post(crate::antrag::entwurf::send_link),
        ),
        r("/o/{slug}/antrag/{form}/{token}/verwerfen", &["POST"], Public, post(crate::antrag::entwurf::discard)),
        r("/o/{slug}/antrag/{form}/{token}/datei/{id}", &["GET"], Public, get(crate::antrag::entwurf::draft_file)),
        r(
            "/o/{slug}/antrag/{form}/{token}/{step}",
            &["GET", "POST"],
            Public,
            get(crate::antrag::schritt::step_page).post(crate::antrag::schritt::step_post),
        ),
        r("/o/{slug}/antrag/{form}/eingang/{token}", &["GET"], Public, get(crate::antrag::eingang::receipt)),
        r("/o/{slug}/antrag/{form}/status/{token}", &["GET"], Public, get(crate::antrag::eingang::status)),
        r(
            "/o/{slug}/antrag/{form}/eingang/{token}/quittung.pdf",
            &["GET"],
            Public,
            get(crate::antrag::eingang::receipt_pdf),
        ),
        // Paying the fee: the receipt's "Jetzt bezahlen" and the provider's way back
        // (its secret is the key, like the links from e-mails).
        r("/o/{slug}/antrag/{form}/eingang/{token}/bezahlen", &["POST"], Public, post(crate::antrag::zahlung::pay)),
        r("/zahlung/{secret}", &["GET"], Public, get(crate::antrag::zahlung::returned)),
        r(
            "/o/{slug}/antrag/fortsetzen/{secret}",
            &["GET", "POST"],
            Public,
            get(crate::antrag::entwurf::resume_page).post(crate::antrag::entwurf::resume),
        ),
        // Online appointments (`termine/`): the booking journey, the secret manage link
        // (its token is the key, like the other links from e-mails) and the double opt-in link.
        r("/o/{slug}/termine", &["GET"], Public, get(crate::pages::add_slash)),
        r("/o/{slug}/termine/", &["GET"], Public, get(crate::termine::auswahl::start)),
        r("/o/{slug}/termine/fragen", &["GET"], Public, get(crate::termine::auswahl::questions)),
        r("/o/{slug}/termine/standort", &["GET"], Public, get(crate::termine::auswahl::location)),
        r("/o/{slug}/termine/kalender", &["GET"], Public, get(crate::termine::kalender::month)),
        r("/o/{slug}/termine/tag", &["GET"], Public, get(crate::termine::kalender::day)),
        r("/o/{slug}/termine/halten", &["POST"], Public, post(crate::termine::halten::hold)),
        r("/termin/{token}", &["GET"], Public, get(crate::termine::termin::page)),
        r("/termin/{token}/bestaetigen", &["POST"], Public, post(crate::termine::termin::confirm)),
        r("/termin/{token}/absagen", &["POST"], Public, post(crate::termine::termin::cancel)),
        r("/termin/{token}/termin.ics", &["GET"], Public, get(crate::termine::kalenderdatei::download)),
        r(
            "/termin/{token}/verschieben",
            &["GET", "POST"],
            Public,
            get(crate::termine::verschieben::month).post(crate::termine::verschieben::hold),
        ),
        r("/termin/{token}/verschieben/tag", &["GET"], Public, get(crate::termine::verschieben::day)),
        r(
            "/termin/bestaetigen/{token}",
            &["GET", "POST"],
            Public,
            get(crate::termine::opt_in::page).post(crate::termine::opt_in::confirm),
        ),
        // The citizen account (`konto/`) and "Meine Anträge".
        r("/konto", &["GET"], Public, get(crate::pages::add_slash)),
        r("/konto/", &["GET"], Citizen, get(crate::konto::profil::overview)),
        r(
            "/konto/anmelden",
            &["GET", "POST"],
            Public,
            get(crate::konto::anmelden::form).post(crate::konto::anmelden::submit),
        ),
        r(
            "/konto/anmelden/code",
            &["GET", "POST"],
            Public,
            get(crate::konto::anmelden::code_form).post(crate::konto::anmelden::code_submit),
        ),
        r("/konto/abmelden", &["POST"], Citizen, post(crate::konto::anmelden::logout)),
        r("/konto/ueberall-abmelden", &["POST"], Citizen, post(crate::konto::anmelden::logout_everywhere)),
        r(
            "/konto/registrieren",
            &["GET", "POST"],
            Public,
            get(crate::konto::registrieren::form).post(crate::konto::registrieren::submit),
        ),
        r("/konto/bestaetigen/{token}", &["GET"], Public, get(crate::konto::registrieren::confirm)),
        r(
            "/konto/passwort-vergessen",
            &["GET", "POST"],
            Public,
            get(crate::konto::registrieren::forgot_form).post(crate::konto::registrieren::forgot_submit),
        ),
        r(
            "/konto/passwort-neu/{token}",
            &["GET", "POST"],
            Public,
            get(crate::konto::registrieren::reset_form).post(crate::konto::registrieren::reset_submit),
        ),
        r(
            "/konto/profil",
            &["GET", "POST"],
            Citizen,
            get(crate::konto::profil::profile_form).post(crate::konto::profil::profile_submit),
        ),
        r(
            "/konto/sicherheit",
            &["GET", "POST"],
            Citizen,
            get(crate::konto::profil::security_form).post(crate::konto::profil::security_submit),
        ),
        r("/konto/vertrauensniveau", &["GET"], Citizen, get(crate::konto::niveau::page)),
        r("/konto/postfach/", &["GET"], Citizen, get(crate::konto::postfach::list)),
        r(
            "/konto/postfach/{thread}",
            &["GET", "POST"],
            Citizen,
            get(crate::konto::postfach::thread).post(crate::konto::postfach::reply),
        ),
        r("/konto/postfach/anhang/{id}", &["GET"], Citizen, get(crate::konto::postfach::attachment)),
        r(
            "/konto/oidc/{name}/start",
            &["GET", "POST"],
            Public,
            get(crate::konto::oidc::start).post(crate::konto::oidc::start_linked),
        ),
        r("/konto/oidc/{name}/callback", &["GET"], Public, get(crate::konto::oidc::callback)),
        r("/konto/saml/metadata", &["GET"], Public, get(crate::konto::saml::metadata)),
        r(
            "/konto/saml/anmelden",
            &["GET", "POST"],
            Public,
            get(crate::konto::saml::start).post(crate::konto::saml::start_linked),
        ),
        r("/konto/saml/acs", &["POST"], Public, post(crate::konto::saml::acs)),
        r("/konto/sso/start", &["GET"], Public, get(crate::konto::sso::start)),
        r("/konto/sso/annehmen", &["GET"], Public, get(crate::konto::sso::accept)),
        r("/konto/termine", &["GET"], Public, get(crate::pages::add_slash)),
        r("/konto/termine/", &["GET"], Citizen, get(crate::termine::konto::list)),
        r("/konto/termine/{id}/absagen", &["POST"], Citizen, post(crate::termine::konto::cancel)),
        // "Meine Finanzen": claims of the linked finance accounts, notices, paying.
        r("/konto/finanzen", &["GET"], Public, get(crate::pages::add_slash)),
        r("/konto/finanzen/", &["GET"], Citizen, get(crate::konto::finanzen::overview)),
        r("/konto/finanzen/verknuepfen", &["POST"], Citizen, post(crate::konto::finanzen::link)),
        r("/konto/finanzen/{id}", &["GET"], Citizen, get(crate::konto::finanzen::claim)),
        r("/konto/finanzen/{id}/bezahlen", &["POST"], Citizen, post(crate::konto::finanzen::pay)),
        r("/konto/finanzen/{id}/bescheide/{doc}", &["GET"], Citizen, get(crate::konto::finanzen::notice)),
        r("/konto/antraege", &["GET"], Public, get(crate::pages::add_slash)),
        r("/konto/antraege/", &["GET"], Citizen, get(crate::antrag::konto::list)),
        r("/konto/antraege/{id}", &["GET"], Citizen, get(crate::antrag::konto::detail)),
        r("/konto/antraege/{id}/quittung.pdf", &["GET"], Citizen, get(crate::antrag::konto::pdf)),
        // The back office (`verwaltung/`).
        r("/verwaltung", &["GET"], Public, get(crate::pages::add_slash)),
        r("/verwaltung/", &["GET"], Staff, get(crate::verwaltung::start)),
        r(
            "/verwaltung/anmelden",
            &["GET", "POST"],
            Public,
            get(crate::verwaltung::login::form).post(crate::verwaltung::login::submit),
        ),
        r(
            "/verwaltung/anmelden/code",
            &["GET", "POST"],
            Public,
            get(crate::verwaltung::login::code_form).post(crate::verwaltung::login::code_submit),
        ),
        r("/verwaltung/abmelden", &["POST"], Staff, post(crate::verwaltung::login::logout)),
        r("/verwaltung/ueberall-abmelden", &["POST"], Staff, post(crate::verwaltung::login::logout_everywhere)),
        r("/verwaltung/zweiter-faktor", &["POST"], Staff, post(crate::verwaltung::login::enrol_second_factor)),
        r("/verwaltung/protokoll/", &["GET"], Staff, get(crate::verwaltung::audit_view::page)),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::schnittstellen::page),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/verbindungen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::schnittstellen::create_connector),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/verbindungen/{id}",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::schnittstellen::toggle_connector),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/verbindungen/{id}/bearbeiten",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::schnittstellen::edit_connector)
                .post(crate::verwaltung::schnittstellen::update_connector),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/zugaenge",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::schnittstellen::create_client),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/zugaenge/{id}/widerrufen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::schnittstellen::revoke_client),
        ),
        r(
            "/verwaltung/behoerden/{slug}/schnittstellen/abgleich.csv",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::schnittstellen::reconciliation),
        ),
        r("/verwaltung/antraege", &["GET"], Public, get(crate::pages::add_slash)),
        r("/verwaltung/antraege/", &["GET"], StaffCase, get(crate::verwaltung::antraege::list)),
        r("/verwaltung/antraege/{id}", &["GET"], StaffCase, get(crate::verwaltung::antraege::detail)),
        r("/verwaltung/antraege/{id}/quittung.pdf", &["GET"], StaffCase, get(crate::verwaltung::antraege::pdf)),
        r("/verwaltung/antraege/{id}/datei/{index}", &["GET"], StaffCase, get(crate::verwaltung::antraege::file)),
        r("/verwaltung/antraege/{id}/stand", &["POST"], StaffCase, post(crate::verwaltung::antraege::change_status)),
        r("/verwaltung/antraege/{id}/nachricht", &["POST"], StaffCase, post(crate::verwaltung::antraege::message)),
        r("/verwaltung/antraege/{id}/notiz", &["POST"], StaffCase, post(crate::verwaltung::antraege::note)),
        r("/verwaltung/antraege/{id}/zuweisung", &["POST"], StaffCase, post(crate::verwaltung::antraege::assign)),
        r("/verwaltung/antraege/zuweisen", &["POST"], StaffCase, post(crate::verwaltung::antraege::assign_many)),
        r("/verwaltung/antraege/{id}/wiederaufnahme", &["POST"], StaffCase, post(crate::verwaltung::antraege::reopen)),
        r(
            "/verwaltung/antraege/{id}/zahlung",
            &["POST"],
            StaffCase,
            post(crate::verwaltung::antraege::counter_payment),
        ),
        r(
            "/verwaltung/antraege/{id}/erstattung",
            &["POST"],
            StaffCase,
            post(crate::verwaltung::antraege::refund_payment),
        ),
        r(
            "/verwaltung/antraege/{id}/pruefung",
            &["POST"],
            StaffCase,
            post(crate::verwaltung::antraege::resolve_review),
        ),
        r(
            "/verwaltung/antraege/{id}/nachrichten/{attachment}",
            &["GET"],
            StaffCase,
            get(crate::verwaltung::antraege::message_file),
        ),
        r(
            "/verwaltung/antraege/{id}/zustellungen/{delivery}/erneut",
            &["POST"],
            StaffCase,
            post(crate::verwaltung::antraege::resend),
        ),
        r("/verwaltung/protokoll.csv", &["GET"], Staff, get(crate::verwaltung::audit_view::csv)),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::leistungen::list),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/neu",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::leistungen::new_form).post(crate::verwaltung::leistungen::create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::leistungen::edit_form).post(crate::verwaltung::leistungen::edit_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}/vorschau",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::leistungen::preview),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}/zurueckziehen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::leistungen::withdraw),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}/versionen",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::leistungen::history),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}/versionen/{revision}/wiederherstellen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::leistungen::restore),
        ),
        r(
            "/verwaltung/behoerden/{slug}/leistungen/{id}/bibliothek",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::bibliothek::service_action),
        ),
        r("/verwaltung/bibliothek/", &["GET"], Staff, get(crate::verwaltung::bibliothek::list)),
        r("/verwaltung/bibliothek/{entry}", &["GET"], Staff, get(crate::verwaltung::bibliothek::entry)),
        r(
            "/verwaltung/behoerden/{slug}/bibliothek/{entry}/uebernehmen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::bibliothek::adopt),
        ),
        r("/verwaltung/behoerden/{slug}/stellen/", &["GET"], StaffOfAuthority, get(crate::verwaltung::stellen::list)),
        r(
            "/verwaltung/behoerden/{slug}/stellen/neu",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::stellen::unit_new).post(crate::verwaltung::stellen::unit_create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/stellen/{id}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::stellen::unit_edit).post(crate::verwaltung::stellen::unit_update),
        ),
        r(
            "/verwaltung/behoerden/{slug}/kontakte/neu",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::stellen::contact_new).post(crate::verwaltung::stellen::contact_create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/kontakte/{id}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::stellen::contact_edit).post(crate::verwaltung::stellen::contact_update),
        ),
        r(
            "/verwaltung/behoerden/{slug}/standorte/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::standorte::list),
        ),
        r(
            "/verwaltung/behoerden/{slug}/standorte/neu",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::standorte::new_form).post(crate::verwaltung::standorte::create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/standorte/{id}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::standorte::edit_form).post(crate::verwaltung::standorte::update),
        ),
        r("/verwaltung/behoerden/{slug}/seiten/", &["GET"], StaffOfAuthority, get(crate::verwaltung::seiten::list)),
        r(
            "/verwaltung/behoerden/{slug}/seiten/{kind}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::seiten::edit_form).post(crate::verwaltung::seiten::edit_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/seiten/{kind}/vorschau",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::seiten::preview),
        ),
        r(
            "/verwaltung/behoerden/{slug}/seiten/{kind}/versionen",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::seiten::history),
        ),
        r(
            "/verwaltung/behoerden/{slug}/seiten/{kind}/versionen/{revision}/wiederherstellen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::seiten::restore),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::list),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/neu",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::formulare::new_form),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/import",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::formulare::import_json),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/xdatenfelder",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::formulare::import_xdf),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::editor).post(crate::verwaltung::formulare::editor_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/felder/{field}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::field_form).post(crate::verwaltung::formulare::field_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/gruppen/{group}",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::gruppen::group_form)
                .post(crate::verwaltung::formulare::gruppen::group_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/regeln",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::rules).post(crate::verwaltung::formulare::rules_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/vorschau",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::preview),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/json",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::json_download).post(crate::verwaltung::formulare::json_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/veroeffentlichen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::formulare::publish),
        ),
        r(
            "/verwaltung/behoerden/{slug}/formulare/{id}/versionen",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::formulare::versions),
        ),
        r(
            "/verwaltung/behoerden/{slug}/darstellung",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::darstellung::form).post(crate::verwaltung::darstellung::submit),
        ),
        r("/verwaltung/behoerden/{slug}/logo", &["POST"], StaffOfAuthority, post(crate::verwaltung::darstellung::logo)),
        r(
            "/verwaltung/behoerden/{slug}/einladen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::konten::invite_form).post(crate::verwaltung::konten::invite_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/mitarbeitende/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::mitarbeitende::list),
        ),
        r(
            "/verwaltung/behoerden/{slug}/mitarbeitende/{id}/rollen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::mitarbeitende::change_role),
        ),
        r(
            "/verwaltung/behoerden/{slug}/mitarbeitende/{id}/deaktivieren",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::mitarbeitende::disable),
        ),
        r("/verwaltung/verbund/mitarbeitende/", &["GET"], VerbundAdmin, get(crate::verwaltung::mitarbeitende::all)),
        r(
            "/verwaltung/einladung/{token}",
            &["GET", "POST"],
            Public,
            get(crate::verwaltung::konten::invitation_form).post(crate::verwaltung::konten::invitation_submit),
        ),
        r(
            "/verwaltung/passwort-vergessen",
            &["GET", "POST"],
            Public,
            get(crate::verwaltung::konten::forgot_form).post(crate::verwaltung::konten::forgot_submit),
        ),
        r(
            "/verwaltung/passwort-neu/{token}",
            &["GET", "POST"],
            Public,
            get(crate::verwaltung::konten::reset_form).post(crate::verwaltung::konten::reset_submit),
        ),
        // Online appointments (`verwaltung/termine/`): rules and calendars, the counter's day lists.
        r(
            "/verwaltung/behoerden/{slug}/termine/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::uebersicht::page),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/regeln",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::termine::uebersicht::save_rules),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/kalender",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::kalender::form).post(crate::verwaltung::termine::kalender::submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/tag",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::tag::page),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/tag.csv",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::tag::csv),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/tag.ics",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::tag::ics),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/status",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::termine::tag::mark),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/absagen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::absagen::one_form).post(crate::verwaltung::termine::absagen::one_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/tag-absagen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::absagen::day_form).post(crate::verwaltung::termine::absagen::day_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/buchen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::buchen::form).post(crate::verwaltung::termine::buchen::submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/termine/{id}/zahlen",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::termine::zahlen::page),
        ),
        // Fees and payments (`verwaltung/zahlungen/`): connectors and settings, bank statements and
        // reconciliation, the period CSV, activation codes and claims.
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::uebersicht::page),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/einstellungen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::einstellungen::form)
                .post(crate::verwaltung::zahlungen::einstellungen::submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/verbindungen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::verbindungen::create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/verbindungen/{id}",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::verbindungen::toggle),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/verbindungen/{id}/bearbeiten",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::verbindungen::edit_form)
                .post(crate::verwaltung::zahlungen::verbindungen::edit_submit),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/kontoauszuege",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::kontoauszuege::page)
                .post(crate::verwaltung::zahlungen::kontoauszuege::upload),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/abgleich",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::abgleich::page),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/abgleich/{id}/zuordnen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::abgleich::assign),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/abgleich/{id}/erledigt",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::abgleich::dismiss),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/erstattungen/{id}/erledigt",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::uebersicht::refund_done),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/zahlungen.csv",
            &["GET"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::bericht::csv),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/aktivierungscodes",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::codes::page).post(crate::verwaltung::zahlungen::codes::create),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/aktivierungscodes/{id}/trennen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::codes::unlink),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/aktivierungscodes/{id}/widerrufen",
            &["POST"],
            StaffOfAuthority,
            post(crate::verwaltung::zahlungen::codes::revoke),
        ),
        r(
            "/verwaltung/behoerden/{slug}/zahlungen/forderungen",
            &["GET", "POST"],
            StaffOfAuthority,
            get(crate::verwaltung::zahlungen::forderungen::page)
                .post(crate::verwaltung::zahlungen::forderungen::upload),
        ),
        r("/verwaltung/verbund/behoerden/", &["GET"], VerbundAdmin, get(crate::verwaltung::verbund::list)),
        r(
            "/verwaltung/verbund/behoerden/neu",
            &["GET", "POST"],
            VerbundAdmin,
            get(crate::verwaltung::verbund::new_form).post(crate::verwaltung::verbund::create),
        ),
        r(
            "/verwaltung/verbund/zustaendigkeiten/",
            &["GET", "POST"],
            VerbundAdmin,
            get(crate::verwaltung::zustaendigkeit::page).post(crate::verwaltung::zustaendigkeit::submit),
        ),
        // The API for back-office software (`api/`); answers are problem details.
        r("/api/openapi.json", &["GET"], ApiPublic, get(crate::api::openapi_json)),
        r("/api/v1/token", &["POST"], ApiPublic, post(crate::api::token)),
        r("/api/v1/antraege", &["GET"], ApiScope(crate::api::READ), get(crate::api::list)),
        r("/api/v1/antraege/{id}", &["GET"], ApiScope(crate::api::READ), get(crate::api::detail)),
        r("/api/v1/antraege/{id}/quittung.pdf", &["GET"], ApiScope(crate::api::READ), get(crate::api::receipt)),
        r("/api/v1/antraege/{id}/dateien/{file}", &["GET"], ApiScope(crate::api::READ), get(crate::api::file)),
        r(
            "/api/v1/antraege/{id}/empfangsbestaetigung",
            &["POST"],
            ApiScope(crate::api::READ),
            post(crate::api::acknowledge),
        ),
        r("/api/v1/antraege/{id}/status", &["POST"], ApiScope(crate::api::WRITE), post(crate::api::status)),
        r("/api/v1/antraege/{id}/nachrichten", &["POST"], ApiScope(crate::api::WRITE), post(crate::api::message)),
        r("/api/v1/dateien/{token}", &["GET"], ApiPublic, get(crate::api::signed_download)),
        r("/api/v1/termine", &["GET"], ApiScope(crate::api::APPOINTMENTS), get(crate::api::appointments_day)),
        r(
            "/api/v1/termine/{id}/status",
            &["POST"],
            ApiScope(crate::api::APPOINTMENTS),
            post(crate::api::appointment_status),
        ),
        r("/api/v1/forderungen", &["POST"], ApiScope(crate::api::FINANCE), post(crate::api::finance_claims)),
        r("/api/v1/zahlungen", &["GET"], ApiScope(crate::api::FINANCE), get(crate::api::finance_payments)),
        r(
            "/api/v1/aktivierungscodes",
            &["POST"],
            ApiScope(crate::api::FINANCE),
            post(crate::api::finance_activation_code),
        ),
        r("/api/v1/personenkonten/trennen", &["POST"], ApiScope(crate::api::FINANCE), post(crate::api::finance_unlink)),
    ]
}

/// Every route of the portal, for tests that must cover them all.
#[must_use]
pub fn all() -> Vec<Route> {
    table().into_iter().map(|(route, _)| route).collect()
}

/// The router of every route in the map; unknown paths get the 404 page.
pub fn router() -> Router<AppState> {
    let (mut pages, mut api) = (Router::new(), Router::new());
    for (route, handler) in table() {
        if route.access.is_api() {
            api = api.route(route.path, handler);
        } else {
            pages = pages.route(route.path, handler);
        }
    }
    pages.merge(api.layer(axum::middleware::from_fn(crate::api::language))).fallback(crate::pages::not_found)
}
