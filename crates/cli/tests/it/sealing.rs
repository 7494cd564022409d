//! Issue 18, finding 8: sealed values are bound to the record that holds them. A
//! value copied from one row into another of the same column (same authority, same
//! key) does not open there — the portal reports it instead of showing another
//! person's data — and values an older version sealed without their record are
//! re-sealed when the portal starts, after which they read as before.

use crate::casework::applied;
use crate::support::{TestApp, apps_with};
use crate::verwaltung::get;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::files::FileType;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_forms::{Answer, Answers};
use amtsweg_portal::files::CheckedFile;
use amtsweg_portal::keyring::{CITIZEN_SCOPE, authority_scope, record};
use amtsweg_portal::{Keyring, casework, drafts, handoff, postfach, profile, submission};
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::submissions::{ApplicationDraft, NewDraft};
use amtsweg_store::testing::execute_sql;
use amtsweg_web::WebConfig;

/// The demo on both databases with a known master key and files in a folder, so
/// that a second start of the portal over the same data sees the same keys and files.
async fn apps(files: &tempfile::TempDir) -> (WebConfig, Vec<TestApp>) {
    let config = WebConfig {
        master_key: Some(Keyring::new_master_key()),
        objects_dir: Some(files.path().to_owned()),
        ..WebConfig::default()
    };
    (config.clone(), apps_with(config).await)
}

/// A draft of the Briefwahl form of Moorbrück with a family name and one PDF.
async fn draft(app: &TestApp, token: &str, family_name: &str, pdf: &[u8]) -> ApplicationDraft {
    let portal = &app.state.portal;
    let store = &app.store.store;
    let authority = app.authority_id("moorbrueck").await;
    let form = store.form_by_slug(authority, "briefwahl").await.unwrap().unwrap();
    let answers: Answers = [("familienname".to_owned(), Answer::One(family_name.to_owned()))].into();
    let sealed = drafts::seal_answers(portal, authority, token, &answers).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.create_application_draft(&NewDraft {
        token,
        authority_id: authority,
        form_id: form.id,
        form_version: form.published_version,
        citizen_id: None,
        browser_hash: "browser",
        csrf: "csrf",
        answers: &sealed,
        step: "person",
        expires_at: amtsweg_store::now_ms() + 86_400_000,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let d = store.application_draft(token).await.unwrap().unwrap();
    let file = CheckedFile {
        field: "nachweis".into(),
        name: format!("{family_name}.pdf"),
        kind: FileType::Pdf,
        bytes: pdf.to_vec(),
        sha256: "0".repeat(64),
    };
    drafts::add_file(portal, &d, &file, &[]).await.unwrap();
    d
}

async fn connector(app: &TestApp, name: &str, secret: &str) -> i64 {
    let town = app.authority_id("moorbrueck").await;
    let new = NewConnector { authority_id: town, form_id: None, kind: "webhook", name, config: "" };
    let json = format!(r#"{{"url":"https://fv.example/eingang","secret":"{secret}"}}"#);
    handoff::add_connector(&app.state.portal, &new, &json).await.unwrap()
}

async fn connector_row(app: &TestApp, id: i64) -> amtsweg_store::handoff::ConnectorRow {
    app.store.store.connector(id).await.unwrap().unwrap()
}

fn does_not_open(e: &amtsweg_portal::PortalError) -> bool {
    e.to_string().contains("does not open")
}

/// Copies `column` of the row `from` into the row `to` of `table` (keyed by `key`).
async fn copy(app: &TestApp, table: &str, column: &str, key: &str, from: &str, to: &str) {
    let sql =
        format!("UPDATE {table} SET {column} = (SELECT {column} FROM {table} WHERE {key} = {from}) WHERE {key} = {to}");
    execute_sql(&app.store.store, &sql).await;
}

#[tokio::test]
async fn a_sealed_value_copied_to_another_record_does_not_open() {
    let files = tempfile::tempdir().unwrap();
    let (_, apps) = apps(&files).await;
    for owned in apps {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let portal = &app.state.portal;
        let store = &app.store.store;

        // Drafts: answers, file names and the files themselves.
        let a = draft(app, "entwurfa", "Altmann", b"%PDF-1.4 Altmann").await;
        let b = draft(app, "entwurfb", "Brandt", b"%PDF-1.4 Brandt").await;
        copy(app, "form_drafts", "answers", "token", "'entwurfa'", "'entwurfb'").await;
        let b = store.application_draft(&b.token).await.unwrap().unwrap();
        let err = drafts::answers(portal, &b).await.expect_err("another draft's answers");
        assert!(does_not_open(&err), "{err}");
        assert_eq!(drafts::answers(portal, &a).await.unwrap()["familienname"], Answer::One("Altmann".into()));
        let (rows_a, _) = drafts::files(portal, &a).await.unwrap();
        copy(app, "draft_files", "file_name", "draft_token", "'entwurfa'", "'entwurfb'").await;
        let err = drafts::files(portal, &b).await.expect_err("another file's name");
        assert!(does_not_open(&err), "{err}");
        let key_b = store.application_draft_files(&b.token).await.unwrap()[0].object_key.clone();
        let file_a = amtsweg_portal::files::get_sealed(portal, &rows_a[0].object_key).await.unwrap();
        amtsweg_portal::files::put(portal, &key_b, file_a.into_bytes()).await.unwrap();
        let err = drafts::read_file(portal, b.authority_id, &key_b).await.expect_err("another stored file");
        assert!(does_not_open(&err), "{err}");
        assert_eq!(
            drafts::read_file(portal, a.authority_id, &rows_a[0].object_key).await.unwrap(),
            b"%PDF-1.4 Altmann"
        );

        // Submissions of two citizens to the same authority, and their profiles.
        let (mut jar_a, first, _) = applied(app, "anna.siegel@example.org").await;
        let (mut jar_b, second, _) = applied(app, "bernd.siegel@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        copy(app, "submissions", "data", "id", &first.to_string(), &second.to_string()).await;
        let row = store.submission(town, second).await.unwrap().unwrap();
        let err = submission::open_data(portal, &row).await.expect_err("another submission's data");
        assert!(does_not_open(&err), "{err}");
        let row = store.submission(town, first).await.unwrap().unwrap();
        assert!(submission::open_data(portal, &row).await.is_ok());

        let anna = store.citizen_by_email("anna.siegel@example.org").await.unwrap().unwrap().id;
        let bernd = store.citizen_by_email("bernd.siegel@example.org").await.unwrap().unwrap().id;
        for (id, name) in [(anna, "Siegelanna"), (bernd, "Siegelbernd")] {
            profile::set(portal, id, ProfileField::FamilyName, name, &ProfileSource::SelfEntered, TrustLevel::Normal)
                .await
                .unwrap();
        }
        let sql = format!(
            "UPDATE citizen_profile SET value = (SELECT value FROM citizen_profile WHERE citizen_id = {anna} \
             AND field = 'family_name') WHERE citizen_id = {bernd} AND field = 'family_name'"
        );
        execute_sql(store, &sql).await;
        let page = get(app, &mut jar_b, "/konto/profil").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Siegelanna"), "Bernd's profile shows Anna's name");
        assert!(profile::profile(portal, bernd).await.unwrap().iter().all(|e| e.field != "family_name"));
        let page = get(app, &mut jar_a, "/konto/profil").await;
        assert!(page.body.contains("Siegelanna"), "Anna's own profile reads as before");

        // Connector settings with their secrets.
        let one = connector(app, "Fachverfahren A", "geheimAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        let two = connector(app, "Fachverfahren B", "geheimBBBBBBBBBBBBBBBBBBBBBBBBBBBB").await;
        copy(app, "connectors", "config", "id", &one.to_string(), &two.to_string()).await;
        let err = handoff::open_config(portal, &connector_row(app, two).await).await.expect_err("another's secret");
        assert!(does_not_open(&err), "{err}");
        assert!(handoff::open_config(portal, &connector_row(app, one).await).await.unwrap().contains("geheimA"));
        owned.cleanup().await;
    }
}

/// Replaces a bound value by the same plain text sealed as older versions did
/// (without the record).
async fn unbind(
    keyring: &Keyring,
    store: &amtsweg_store::Store,
    scope: &str,
    purpose: &str,
    rec: &str,
    v: &str,
) -> String {
    let plain = keyring.open_bound(store, scope, purpose, rec, v).await.unwrap();
    let old = keyring.seal(store, scope, purpose, &plain).await.unwrap();
    assert!(old.starts_with("v1:"));
    old
}

#[tokio::test]
async fn values_sealed_by_an_older_version_are_bound_when_the_portal_starts() {
    let files = tempfile::tempdir().unwrap();
    let (config, apps) = apps(&files).await;
    for owned in apps {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let portal = &app.state.portal;
        let store = &app.store.store;
        let keyring = Keyring::from_base64(config.master_key.as_deref().unwrap()).unwrap();
        let town = app.authority_id("moorbrueck").await;
        let scope = authority_scope(town);

        // One of each, then turned into what an older version stored.
        let d = draft(app, "altentwurf", "Altmann", b"%PDF-1.4 Altmann").await;
        let (_, id, _) = applied(app, "alt.siegel@example.org").await;
        let citizen = store.citizen_by_email("alt.siegel@example.org").await.unwrap().unwrap().id;
        profile::set(
            portal,
            citizen,
            ProfileField::FamilyName,
            "Altsiegel",
            &ProfileSource::SelfEntered,
            TrustLevel::Normal,
        )
        .await
        .unwrap();
        let c = connector(app, "Altes Fachverfahren", "geheimCCCCCCCCCCCCCCCCCCCCCCCCCCCC").await;
        let case = casework::open_case(portal, town, id).await.unwrap();
        let actor = casework::Actor { name: "Sachbearbeitung".into(), audit: "staff:1".into() };
        casework::note(portal, &case, "Notiz Altfall", &actor).await.unwrap().unwrap();
        let delivery = postfach::Delivery {
            citizen_id: citizen,
            authority_id: town,
            sender: "Stadt Moorbrück".into(),
            subject: "Betreff Altfall".into(),
            body: "Nachricht Altfall".into(),
            attachments: Vec::new(),
        };
        let (thread, message) = postfach::deliver(portal, &delivery).await.unwrap();

        let answers = unbind(&keyring, store, &scope, "antrag:answers", &record::draft(&d.token), &d.answers).await;
        execute_sql(store, &format!("UPDATE form_drafts SET answers = '{answers}' WHERE token = '{}'", d.token)).await;
        let f = store.application_draft_files(&d.token).await.unwrap().remove(0);
        let object = record::object(&f.object_key);
        let name = unbind(&keyring, store, &scope, "antrag:file_name", &object, &f.file_name).await;
        execute_sql(store, &format!("UPDATE draft_files SET file_name = '{name}' WHERE id = {}", f.id)).await;
        let sealed_file = amtsweg_portal::files::get_sealed(portal, &f.object_key).await.unwrap();
        let file = unbind(&keyring, store, &scope, "antrag:file", &object, &sealed_file).await;
        amtsweg_portal::files::put(portal, &f.object_key, file.into_bytes()).await.unwrap();
        let s = store.submission(town, id).await.unwrap().unwrap();
        let data =
            unbind(&keyring, store, &scope, "antrag:submission", &record::submission(&s.form_token), &s.data).await;
        execute_sql(store, &format!("UPDATE submissions SET data = '{data}' WHERE id = {id}")).await;
        let v = store.profile(citizen).await.unwrap().into_iter().find(|v| v.field == "family_name").unwrap();
        let value =
            unbind(&keyring, store, CITIZEN_SCOPE, "profile:family_name", &record::citizen(citizen), &v.value).await;
        execute_sql(store, &format!("UPDATE citizen_profile SET value = '{value}' WHERE citizen_id = {citizen}")).await;
        let row = connector_row(app, c).await;
        let config_old = unbind(&keyring, store, &scope, "connector:config", &record::connector(c), &row.config).await;
        execute_sql(store, &format!("UPDATE connectors SET config = '{config_old}' WHERE id = {c}")).await;

        let note = store.submission_events(id).await.unwrap().into_iter().find(|e| e.kind == "note").unwrap();
        let text = unbind(&keyring, store, &scope, "antrag:event", &record::case(id), &note.body).await;
        execute_sql(store, &format!("UPDATE submission_events SET body = '{text}' WHERE id = {}", note.id)).await;
        let t = store.thread(citizen, thread).await.unwrap().unwrap();
        let mine = record::citizen(citizen);
        let subject = unbind(&keyring, store, &scope, "postfach:subject", &mine, &t.subject).await;
        execute_sql(store, &format!("UPDATE postfach_threads SET subject = '{subject}' WHERE id = {thread}")).await;
        let m = store.messages(citizen, thread).await.unwrap().into_iter().find(|m| m.id == message).unwrap();
        let body = unbind(&keyring, store, &scope, "postfach:message", &mine, &m.body).await;
        execute_sql(store, &format!("UPDATE postfach_messages SET body = '{body}' WHERE id = {message}")).await;

        // Normal reads accept bound values only.
        let d = store.application_draft(&d.token).await.unwrap().unwrap();
        assert!(drafts::answers(portal, &d).await.is_err(), "the old format is not read outside the start-up step");
        assert!(handoff::open_config(portal, &connector_row(app, c).await).await.is_err());

        // The next start re-seals every old value and file, bound to its record.
        let restarted = amtsweg_web::AppState::new(store.clone(), config.clone(), amtsweg::printer()).await.unwrap();
        let portal = &restarted.portal;
        let d = store.application_draft(&d.token).await.unwrap().unwrap();
        assert!(d.answers.starts_with("v2:"), "{}", d.answers);
        assert_eq!(drafts::answers(portal, &d).await.unwrap()["familienname"], Answer::One("Altmann".into()));
        let (_, shown) = drafts::files(portal, &d).await.unwrap();
        assert_eq!(shown[0].name, "Altmann.pdf");
        assert!(amtsweg_portal::files::get_sealed(portal, &f.object_key).await.unwrap().starts_with("v2:"));
        assert_eq!(drafts::read_file(portal, town, &f.object_key).await.unwrap(), b"%PDF-1.4 Altmann");
        let s = store.submission(town, id).await.unwrap().unwrap();
        assert!(s.data.starts_with("v2:"));
        assert!(submission::open_data(portal, &s).await.is_ok());
        let shown = profile::profile(portal, citizen).await.unwrap();
        assert!(shown.iter().any(|e| e.field == "family_name" && e.value == "Altsiegel"), "{shown:?}");
        let row = connector_row(app, c).await;
        assert!(row.config.starts_with("v2:"));
        assert!(handoff::open_config(portal, &row).await.unwrap().contains("geheimC"));

        let note = store.submission_events(id).await.unwrap().into_iter().find(|e| e.kind == "note").unwrap();
        assert_eq!(casework::open_text(portal, town, id, &note.body).await, "Notiz Altfall");
        let t = store.thread(citizen, thread).await.unwrap().unwrap();
        assert_eq!(postfach::open_text(portal, town, "subject", &mine, &t.subject).await, "Betreff Altfall");
        let m = store.messages(citizen, thread).await.unwrap().into_iter().find(|m| m.id == message).unwrap();
        assert_eq!(postfach::open_text(portal, town, "message", &mine, &m.body).await, "Nachricht Altfall");

        // Idempotent: nothing left to do at the next start.
        let again = amtsweg_portal::rebind::rebind_all(store, &portal.keyring, portal.objects.as_ref()).await.unwrap();
        assert_eq!(again, 0);
        owned.cleanup().await;
    }
}
