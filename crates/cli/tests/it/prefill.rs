//! Prefill from the citizen's account (name, birth date, address, e-mail, phone),
//! marked and editable, and profile birth dates in one stored form.

use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, get, hidden, post};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};

const BRIEFWAHL: &str = "/o/moorbrueck/antrag/briefwahl/";
const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";
const NOTE: &str = "Aus Ihrem Bürgerkonto übernommen";

async fn set(app: &TestApp, id: i64, field: ProfileField, value: &str) {
    amtsweg_portal::profile::set(&app.state.portal, id, field, value, &ProfileSource::SelfEntered, TrustLevel::Normal)
        .await
        .unwrap();
}

/// The text of the hint paragraph of input `html_id`, if it has one.
fn hint(body: &str, html_id: &str) -> Option<String> {
    let marker = format!("id=\"hinweis-{html_id}\">");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split("</p>").next()?.to_owned())
}

/// The value of the input named `name`.
fn value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let Some(start) = body.find(&marker) else {
        // Inputs with other attributes between name and value.
        let at = body.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name}"));
        let rest = &body[at..];
        let v = rest.split("value=\"").nth(1).unwrap();
        return v.split('"').next().unwrap().to_owned();
    };
    body[start + marker.len()..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn signed_in_the_form_takes_name_birth_date_address_e_mail_and_phone_from_the_account() {
    on_each_backend!(|app| {
        let (mut jar, id) = citizen(app, "vorbefuellt@example.org").await;
        set(app, id, ProfileField::GivenName, "Erika").await;
        set(app, id, ProfileField::FamilyName, "Musterfrau").await;
        // Stored as once typed, before dates were normalised on save.
        set(app, id, ProfileField::BirthDate, "7.12.1980").await;
        set(app, id, ProfileField::Street, "Am Markt 1").await;
        set(app, id, ProfileField::Plz, "29391").await;
        set(app, id, ProfileField::City, "Moorbrück").await;
        set(app, id, ProfileField::Phone, "05141 123456").await;

        let page = get(app, &mut jar, BRIEFWAHL).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let b = &page.body;
        assert_eq!(value(b, "f.vorname"), "Erika");
        assert_eq!(value(b, "f.familienname"), "Musterfrau");
        assert_eq!(value(b, "f.geburtsdatum"), "07.12.1980", "German format");
        assert_eq!(value(b, "f.strasse"), "Am Markt 1", "the saved address");
        assert_eq!(value(b, "f.plz"), "29391");
        assert_eq!(value(b, "f.ort"), "Moorbrück");
        for field in ["vorname", "familienname", "geburtsdatum", "strasse", "plz", "ort"] {
            let h = hint(b, &format!("f-{field}")).unwrap_or_default();
            assert!(h.contains(NOTE) && h.contains("ändern"), "{field} is marked as taken from the account: {h:?}");
        }
        assert!(!b.contains("Von Ihrem Identitätsnachweis übernommen"), "self-entered values stay editable");
        assert!(!b.contains("readonly"), "every prefilled value can be changed");

        // The citizen changes the street: kept, and no longer marked as from the account.
        let csrf = hidden(b, "csrf");
        let token = hidden(b, "token");
        let r = post(
            app,
            &mut jar,
            BRIEFWAHL,
            &format!(
                "csrf={csrf}&token={token}&aktion=weiter&f.vorname=Erika&f.familienname=Musterfrau&f.geburtsdatum=07.12.1980&f.strasse=Neue+Stra%C3%9Fe+2&f.plz=29391&f.ort=Moorbr%C3%BCck"
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let versand = r.location().to_owned();
        // The account's e-mail on a later step.
        let page = get(app, &mut jar, &versand).await;
        assert_eq!(value(&page.body, "f.email"), "vorbefuellt@example.org");
        assert!(hint(&page.body, "f-email").unwrap_or_default().contains(NOTE));
        let person = versand.replace("/versand", "/person");
        let page = get(app, &mut jar, &person).await;
        assert_eq!(value(&page.body, "f.strasse"), "Neue Straße 2");
        assert!(!hint(&page.body, "f-strasse").unwrap_or_default().contains(NOTE), "changed: not marked");
        assert!(hint(&page.body, "f-vorname").unwrap_or_default().contains(NOTE));

        // Phone and e-mail in another form.
        let page = get(app, &mut jar, OSTERFEUER).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(value(&page.body, "f.telefon"), "05141 123456");
        assert_eq!(value(&page.body, "f.email"), "vorbefuellt@example.org");
        assert!(hint(&page.body, "f-telefon").unwrap_or_default().contains(NOTE));
        assert_eq!(value(&page.body, "f.name"), "", "\u{201e}Name oder Verein\u{201c} is not the citizen's name");

        // ID-provided values lock only the fields a form declares for them; a field
        // mapped by convention (the street here) stays editable.
        for (field, v) in [(ProfileField::FamilyName, "Musterfrau"), (ProfileField::Street, "Am Markt 1")] {
            amtsweg_portal::profile::set(
                &app.state.portal,
                id,
                field,
                v,
                &ProfileSource::Provider("bundid".into()),
                TrustLevel::Substanziell,
            )
            .await
            .unwrap();
        }
        let page = get(app, &mut jar, BRIEFWAHL).await;
        let tag = |name: &str| {
            let at = page.body.find(&format!("name=\"{name}\"")).unwrap();
            page.body[at..].split('>').next().unwrap().to_owned()
        };
        assert!(tag("f.familienname").contains("readonly"), "declared prefill from the BundID is locked");
        assert!(!tag("f.strasse").contains("readonly"), "{}", tag("f.strasse"));
        assert_eq!(value(&page.body, "f.strasse"), "Am Markt 1");

        // Without an account nothing is filled in or marked.
        let page = get(app, &mut Jar::default(), BRIEFWAHL).await;
        assert!(!page.body.contains(NOTE));
        assert!(!page.body.contains("Am Markt 1"));
    });
}

#[tokio::test]
async fn profile_birth_dates_are_checked_stored_in_one_form_and_shown_in_german() {
    on_each_backend!(|app| {
        let (mut jar, id) = citizen(app, "geburtstag@example.org").await;
        let stored = || async {
            let p = amtsweg_portal::profile::profile(&app.state.portal, id).await.unwrap();
            p.iter().find(|v| v.field == "birth_date").map(|v| v.value.clone())
        };
        let page = get(app, &mut jar, "/konto/profil").await;
        let csrf = hidden(&page.body, "csrf");
        for typed in ["7.12.1980", "07.12.1980", "1980-12-07"] {
            let r = post(app, &mut jar, "/konto/profil", &format!("csrf={csrf}&birth_date={typed}")).await;
            assert_eq!(r.status, 303, "{typed}: {}", r.body);
            assert_eq!(stored().await.as_deref(), Some("1980-12-07"), "{typed} is stored in one form");
            let page = get(app, &mut jar, "/konto/profil").await;
            assert_eq!(value(&page.body, "birth_date"), "07.12.1980", "shown in German format");
        }
        for (typed, says) in [
            ("31.02.1980", "Den 31.02.1980 gibt es nicht"),
            ("7.12.80", "vier Ziffern"),
            ("07.13.1980", "13. Monat gibt es nicht"),
            ("gestern", "zum Beispiel 07.12.1980"),
        ] {
            let r =
                post(app, &mut jar, "/konto/profil", &format!("csrf={csrf}&given_name=Erika&birth_date={typed}")).await;
            assert_eq!(r.status, 422, "{typed}");
            assert!(r.body.contains(says), "{typed}: {}", r.body);
            assert_eq!(value(&r.body, "birth_date"), typed, "what was typed is shown again");
            assert_eq!(value(&r.body, "given_name"), "Erika");
            assert_eq!(stored().await.as_deref(), Some("1980-12-07"), "nothing stored");
        }
        // A value stored as typed before is read in the one form and shown in German.
        set(app, id, ProfileField::BirthDate, "7.2.1975").await;
        assert_eq!(stored().await.as_deref(), Some("1975-02-07"));
        let page = get(app, &mut jar, "/konto/profil").await;
        assert_eq!(value(&page.body, "birth_date"), "07.02.1975");
    });
}
