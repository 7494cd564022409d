//! The one route map (`amtsweg_web::routes`) walked as a whole: every route is
//! declared once, and every route that needs someone refuses a visitor who is
//! nobody — the back office sends them to its sign-in, the account to its sign-in,
//! the API answers 401 — so a new route is covered the moment it is in the map.

use crate::on_each_backend;
use crate::verwaltung::{Jar, get, post};
use amtsweg_web::routes::{Access, all};

/// A concrete URL for a route: the demo town for `{slug}`, `1` for every other
/// parameter (ids, tokens, names).
fn url(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str(if &rest[start..end] == "{slug}" { "moorbrueck" } else { "1" });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_route_and_method_is_declared_once() {
    let mut seen = std::collections::BTreeSet::new();
    for r in all() {
        assert!(!r.methods.is_empty(), "{}", r.path);
        for m in r.methods {
            assert!(seen.insert((r.path, *m)), "{m} {} declared twice", r.path);
        }
    }
    assert!(seen.len() > 130, "{}", seen.len());
}

#[tokio::test]
async fn every_guarded_route_refuses_an_anonymous_visitor() {
    on_each_backend!(|app| {
        let mut checked = 0;
        for route in all() {
            let target = url(route.path);
            for m in route.methods {
                let mut nobody = Jar::default();
                let r = if *m == "GET" {
                    get(app, &mut nobody, &target).await
                } else {
                    post(app, &mut nobody, &target, "csrf=x").await
                };
                match route.access {
                    Access::Staff | Access::StaffOfAuthority | Access::StaffCase | Access::VerbundAdmin => {
                        assert_eq!(r.status, 303, "{m} {target}");
                        assert!(r.location().starts_with("/verwaltung/anmelden"), "{m} {target}: {}", r.location());
                    }
                    Access::Citizen => {
                        assert_eq!(r.status, 303, "{m} {target}");
                        assert!(r.location().starts_with("/konto/anmelden"), "{m} {target}: {}", r.location());
                    }
                    Access::ApiScope(_) => {
                        assert_eq!(r.status, 401, "{m} {target}");
                        assert!(r.body.contains("unauthenticated") || r.body.contains("Bearer"), "{m} {target}");
                    }
                    Access::Public | Access::ApiPublic => continue,
                }
                checked += 1;
            }
        }
        assert!(checked >= 90, "{checked}");
    });
}

/// Routes whose form is `multipart/form-data` (files), checked by hand after reading.
const UPLOADS: &[&str] = &[
    "/verwaltung/behoerden/{slug}/formulare/xdatenfelder",
    "/verwaltung/behoerden/{slug}/logo",
    "/verwaltung/antraege/{id}/stand",
    "/verwaltung/antraege/{id}/nachricht",
    "/konto/postfach/{thread}",
];

/// Every POST of a signed-in person goes through the one CSRF check: a request of
/// that very session with a wrong token changes nothing and is refused.
#[tokio::test]
async fn every_post_of_a_session_refuses_a_wrong_csrf_token() {
    on_each_backend!(|app| {
        let mut staff = crate::verwaltung::sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let (mut citizen, _) = crate::konto::citizen(app, "csrf@example.org").await;
        let mut checked = 0;
        for route in all().into_iter().filter(|r| r.methods.contains(&"POST")) {
            let jar = match route.access {
                Access::Staff | Access::StaffOfAuthority | Access::StaffCase | Access::VerbundAdmin => &mut staff,
                Access::Citizen => &mut citizen,
                _ => continue,
            };
            let target = url(route.path);
            let r = post(app, jar, &target, "csrf=falsch").await;
            if UPLOADS.contains(&route.path) {
                // Uploads read a multipart body (and their case or thread) before the
                // token inside it: a URL-encoded body or an unknown id stops them first.
                assert!(matches!(r.status.as_u16(), 400 | 403 | 404), "POST {target}: {}", r.status);
            } else {
                assert_eq!(r.status, 403, "POST {target}");
            }
            checked += 1;
        }
        assert!(checked >= 40, "{checked}");
        // The sessions are still alive: nothing above signed anyone out.
        assert_eq!(get(app, &mut staff, "/verwaltung/").await.status, 200);
        assert_eq!(get(app, &mut citizen, "/konto/profil").await.status, 200);
    });
}
