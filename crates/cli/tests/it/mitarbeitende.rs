//! Staff offboarding (issue 21, point 8): the staff list per authority and of the
//! whole Verbund, changing and removing roles, disabling an account (its sessions
//! end at once, it cannot sign in), the last administrator kept, other authorities'
//! staff out of reach, `amtsweg user disable`, and the way back by a new invitation.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg::staff::DEMO_PASSWORD;
use amtsweg_domain::staff::Role;

const LIST: &str = "/verwaltung/behoerden/moorbrueck/mitarbeitende/";

async fn staff_id(app: &TestApp, email: &str) -> i64 {
    app.store.store.staff_by_email(email).await.unwrap().unwrap().id
}

/// The table row of the person named `name`.
fn row<'a>(body: &'a str, name: &str) -> &'a str {
    let table = &body[body.find("<tbody>").expect("a table")..];
    let r = table.split("<tr>").find(|r| r.contains(name)).unwrap_or_else(|| panic!("no row for {name}"));
    r.split("</tr>").next().unwrap_or(r)
}

async fn password_sign_in(app: &TestApp, jar: &mut Jar, email: &str, pw: &str) -> Reply {
    let form = get(app, jar, "/verwaltung/anmelden").await;
    let csrf = hidden(&form.body, "csrf");
    post(app, jar, "/verwaltung/anmelden", &format!("email={}&password={}&csrf={csrf}", enc(email), enc(pw))).await
}

async fn csrf_of(app: &TestApp, jar: &mut Jar) -> String {
    let page = get(app, jar, "/verwaltung/").await;
    hidden(&page.body, "csrf")
}

async fn audited(app: &TestApp, action: &str, actor: &str, target: i64) -> bool {
    app.store
        .store
        .audit_entries(None, 200)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == action && e.actor == actor && e.target == format!("staff:{target}"))
}

#[tokio::test]
async fn the_list_shows_roles_last_sign_in_and_second_factor() {
    on_each_backend!(|app| {
        let _rita = sign_in(app, "redaktion@moorbrueck.example").await;
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut admin, LIST).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("<caption") && page.body.contains("scope=\"col\""), "an accessible table");
        let adrian = row(&page.body, "Adrian Admin");
        assert!(adrian.contains("Administration der Behörde") && adrian.contains("<td>ja</td>"), "{adrian}");
        assert!(!adrian.contains("noch nie"), "sign-in recorded after the second factor: {adrian}");
        let rita = row(&page.body, "Rita Redaktion");
        assert!(rita.contains("Redaktion") && rita.contains("<td>nein</td>") && !rita.contains("noch nie"), "{rita}");
        let stefan = row(&page.body, "Stefan Standesamt");
        assert!(stefan.contains("nur Standesamt") && stefan.contains("noch nie"), "org-unit limit shown: {stefan}");
        assert!(!page.body.contains("landkreis-heidekamp.example"), "only this authority's staff");
        // The Verbund administrator sees everyone.
        let mut verbund = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let all = get(app, &mut verbund, "/verwaltung/verbund/mitarbeitende/").await;
        assert_eq!(all.status, 200);
        for email in ["sachbearbeitung@sg-heideland.example", "admin@moorbrueck.example", "verbund-admin@"] {
            assert!(all.body.contains(email), "{email}");
        }
        assert_eq!(get(app, &mut admin, "/verwaltung/verbund/mitarbeitende/").await.status, 403);
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut editor, LIST).await.status, 403, "editors do not administer staff");
    });
}

#[tokio::test]
async fn an_administrator_changes_and_removes_roles() {
    on_each_backend!(|app| {
        let rita = staff_id(app, "redaktion@moorbrueck.example").await;
        let grant = app.store.store.stored_grants_of(rita).await.unwrap()[0].id;
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let csrf = csrf_of(app, &mut admin).await;
        let path = format!("{LIST}{rita}/rollen");
        let r = post(app, &mut admin, &path, &format!("csrf={csrf}&grant={grant}&role=case_worker&stelle=")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let grants = app.store.store.stored_grants_of(rita).await.unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].grant.role, Role::CaseWorker);
        assert!(
            audited(app, "staff.roles", &format!("staff:{}", staff_id(app, "admin@moorbrueck.example").await), rita)
                .await
        );
        let denied =
            post(app, &mut admin, &path, &format!("csrf={csrf}&grant={}&role=verbund_admin", grants[0].id)).await;
        assert_eq!(denied.status, 422, "never above an authority's rights");
        assert_eq!(app.store.store.stored_grants_of(rita).await.unwrap()[0].grant.role, Role::CaseWorker);
        let removed = post(app, &mut admin, &path, &format!("csrf={csrf}&grant={}&role=entfernen", grants[0].id)).await;
        assert_eq!(removed.status, 303);
        assert!(app.store.store.stored_grants_of(rita).await.unwrap().is_empty());
        assert!(!get(app, &mut admin, LIST).await.body.contains("Rita Redaktion"), "no role, not on the list");
        // Without a CSRF token nothing happens.
        let stefan = staff_id(app, "standesamt@moorbrueck.example").await;
        let forged = post(app, &mut admin, &format!("{LIST}{stefan}/deaktivieren"), "csrf=falsch").await;
        assert_eq!(forged.status, 403);
        assert!(!app.store.store.staff_by_id(stefan).await.unwrap().unwrap().disabled);
    });
}

#[tokio::test]
async fn disabling_ends_the_session_and_the_sign_in() {
    on_each_backend!(|app| {
        let mut rita_browser = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut rita_browser, "/verwaltung/").await.status, 200);
        let rita = staff_id(app, "redaktion@moorbrueck.example").await;
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let csrf = csrf_of(app, &mut admin).await;
        let r = post(app, &mut admin, &format!("{LIST}{rita}/deaktivieren"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let next = get(app, &mut rita_browser, "/verwaltung/").await;
        assert_eq!(next.status, 303, "the running session ended");
        assert!(next.location().starts_with("/verwaltung/anmelden"));
        let again = password_sign_in(app, &mut Jar::default(), "redaktion@moorbrueck.example", DEMO_PASSWORD).await;
        assert_eq!(again.status, 422);
        let wrong = password_sign_in(app, &mut Jar::default(), "redaktion@moorbrueck.example", "falsch-falsch").await;
        let words = |b: &str| b.contains("E-Mail-Adresse oder Passwort ist falsch. Wurde Ihr Zugang beendet");
        assert!(words(&again.body) && words(&wrong.body), "the same words as a wrong password");
        let admin_id = staff_id(app, "admin@moorbrueck.example").await;
        assert!(audited(app, "staff.disable", &format!("staff:{admin_id}"), rita).await);
        let list = get(app, &mut admin, &format!("{LIST}?erledigt=deaktiviert")).await;
        assert!(row(&list.body, "Rita Redaktion").contains("deaktiviert"));
        // Reset links do not open a disabled account either.
        let before = app.store.store.outbox_entries(100).await.unwrap().len();
        let mut jar = Jar::default();
        let form = get(app, &mut jar, "/verwaltung/passwort-vergessen").await;
        let c = hidden(&form.body, "csrf");
        post(
            app,
            &mut jar,
            "/verwaltung/passwort-vergessen",
            &format!("csrf={c}&email=redaktion%40moorbrueck.example"),
        )
        .await;
        assert_eq!(app.store.store.outbox_entries(100).await.unwrap().len(), before);
    });
}

#[tokio::test]
async fn the_last_administrator_and_other_authorities_are_refused() {
    on_each_backend!(|app| {
        let adrian = staff_id(app, "admin@moorbrueck.example").await;
        let mut verbund = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let csrf = csrf_of(app, &mut verbund).await;
        let r = post(app, &mut verbund, &format!("{LIST}{adrian}/deaktivieren"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("letzte Administration von Stadt Moorbrück"), "{}", r.body);
        assert!(!app.store.store.staff_by_id(adrian).await.unwrap().unwrap().disabled);
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let csrf = csrf_of(app, &mut admin).await;
        let grant = app.store.store.stored_grants_of(adrian).await.unwrap()[0].id;
        for role in ["editor", "entfernen"] {
            let r = post(
                app,
                &mut admin,
                &format!("{LIST}{adrian}/rollen"),
                &format!("csrf={csrf}&grant={grant}&role={role}"),
            )
            .await;
            assert_eq!(r.status, 422, "{role}");
            assert!(r.body.contains("letzte Administration"), "{role}");
        }
        assert_eq!(app.store.store.stored_grants_of(adrian).await.unwrap()[0].grant.role, Role::AuthorityAdmin);

        // Another authority's staff: not listed, not reachable, not changeable.
        let other = staff_id(app, "sachbearbeitung@landkreis-heidekamp.example").await;
        let kreis = "/verwaltung/behoerden/landkreis-heidekamp/mitarbeitende/";
        assert_eq!(get(app, &mut admin, kreis).await.status, 403);
        let via_own = post(app, &mut admin, &format!("{LIST}{other}/deaktivieren"), &format!("csrf={csrf}")).await;
        assert_eq!(via_own.status, 404);
        let via_theirs = post(app, &mut admin, &format!("{kreis}{other}/deaktivieren"), &format!("csrf={csrf}")).await;
        assert_eq!(via_theirs.status, 403);
        let roles = post(app, &mut admin, &format!("{LIST}{other}/rollen"), &format!("csrf={csrf}&role=editor")).await;
        assert_eq!(roles.status, 404);
        assert!(!app.store.store.staff_by_id(other).await.unwrap().unwrap().disabled);
        assert_eq!(app.store.store.stored_grants_of(other).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn the_command_line_disables_and_refuses_the_last_administrator() {
    on_each_backend!(|app| {
        let mut sam_browser = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let sam = staff_id(app, "sachbearbeitung@moorbrueck.example").await;
        let ended = amtsweg::staff::disable(&app.store.store, "Sachbearbeitung@moorbrueck.example").await.unwrap();
        assert_eq!(ended, 1);
        assert_eq!(get(app, &mut sam_browser, "/verwaltung/").await.status, 303);
        assert!(audited(app, "staff.disable", "system:cli", sam).await);
        let twice = amtsweg::staff::disable(&app.store.store, "sachbearbeitung@moorbrueck.example").await;
        assert!(twice.unwrap_err().to_string().contains("bereits deaktiviert"));
        let last = amtsweg::staff::disable(&app.store.store, "admin@moorbrueck.example").await.unwrap_err().to_string();
        assert!(
            last.contains("letzte Administration") && last.contains("create-admin --authority moorbrueck"),
            "{last}"
        );
        assert!(amtsweg::staff::disable(&app.store.store, "niemand@example.org").await.is_err());
    });
}

/// The link in the newest queued e-mail to `to`.
async fn link_for(app: &TestApp, to: &str, path_part: &str) -> String {
    let rows = app.store.store.outbox_entries(50).await.unwrap();
    let mail = rows.iter().filter_map(|r| r.email().ok()).find(|m| m.to == to).unwrap();
    let start = mail.body.find(path_part).unwrap();
    mail.body[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_invitation_brings_a_disabled_person_back() {
    on_each_backend!(|app| {
        let email = "redaktion@moorbrueck.example";
        let rita = staff_id(app, email).await;
        amtsweg::staff::disable(&app.store.store, email).await.unwrap();
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/einladen").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/einladen",
            &format!("csrf={csrf}&email={}&name=Rita&role=case_worker", enc(email)),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(app.store.store.staff_by_id(rita).await.unwrap().unwrap().disabled, "disabled until accepted");
        let link = link_for(app, email, "/verwaltung/einladung/").await;
        let mut jar = Jar::default();
        let form = get(app, &mut jar, &link).await;
        assert_eq!(form.status, 200);
        let c = hidden(&form.body, "csrf");
        let pw = "ein-ganz-neues-passwort";
        let set = post(app, &mut jar, &link, &format!("csrf={c}&password={pw}&password2={pw}")).await;
        assert_eq!(set.status, 303, "{}", set.body);
        assert_eq!(
            password_sign_in(app, &mut Jar::default(), email, DEMO_PASSWORD).await.status,
            422,
            "old password dead"
        );
        assert_eq!(password_sign_in(app, &mut Jar::default(), email, pw).await.status, 303);
        let grants = app.store.store.stored_grants_of(rita).await.unwrap();
        assert_eq!(grants.len(), 1, "only the invited role");
        assert_eq!(grants[0].grant.role, Role::CaseWorker);
        // An active account is still not invited twice.
        let dup = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/einladen",
            &format!("csrf={csrf}&email={}&name=Rita&role=editor", enc(email)),
        )
        .await;
        assert_eq!(dup.status, 422);
    });
}

/// `amtsweg user disable` as an operator runs it, on the binary.
#[test]
fn the_binary_disables_an_account() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["--data-dir", data])
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(run(&["seed"], "").status.success());
    let pw = "ein-sehr-langes-passwort\n";
    for email in ["a@moorbrueck.example", "b@moorbrueck.example"] {
        let args =
            ["user", "create-admin", "--authority", "moorbrueck", "--email", email, "--name", "A", "--password-stdin"];
        let out = run(&args, pw);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let ok = run(&["user", "disable", "a@moorbrueck.example"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("deaktiviert"));
    let last = run(&["user", "disable", "b@moorbrueck.example"], "");
    assert!(!last.status.success());
    let err = String::from_utf8_lossy(&last.stderr);
    assert!(err.contains("letzte Administration") && err.contains("create-admin"), "{err}");
    let verify = run(&["audit", "verify"], "");
    assert!(verify.status.success(), "the audit chain holds");
}
