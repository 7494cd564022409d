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

mod back_office;

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

pub(super) type Entry = (Route, MethodRouter<AppState>);

pub(super) fn r(
    path: &'static str,
    methods: &'static [&'static str],
    access: Access,
    handler: MethodRouter<AppState>,
) -> Entry {
    (Route { path, methods, access }, handler)
}

#[allow(clippy::too_many_lines)]
fn table() -> Vec<Entry> {
    use Access::{ApiPublic, ApiScope, Citizen, Public};
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
        r(
            "/konto/antraege/{id}/zurueckziehen",
            &["GET", "POST"],
            Citizen,
            get(crate::antrag::zurueckziehen::confirm).post(crate::antrag::zurueckziehen::submit),
        ),
    ]
    .into_iter()
    .chain(back_office::table())
    .chain(vec![
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
    ])
    .collect()
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
