//! Test fixtures of the appointment use cases: a portal on a fresh store (SQLite and,
//! when reachable, PostgreSQL) with two authorities, one location and one calendar
//! each, and a published service with documents to bring.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::journey::Journey;
use crate::{Keyring, Portal, Settings};
use amtsweg_domain::appointments::{BookingRules, Calendar, CalendarService};
use amtsweg_domain::opening_hours::{Interval, OpeningHours};
use amtsweg_domain::{Ars, AuthorityKind, LeikaKey, Slug, TrustLevel};
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::testing::TestStore;
use amtsweg_store::{NewAuthority, NewLeistung, NewLocation};
use jiff::civil::{Date, DateTime};
use std::sync::Arc;

/// The identity card service the fixtures book.
pub(crate) const LEIKA: &str = "99064001261000";
/// A service the calendar does not offer.
pub(crate) const OTHER_LEIKA: &str = "99115005104000";

pub(crate) struct Fixture {
    pub portal: Portal,
    pub authority: i64,
    /// A second authority with a calendar of its own (isolation).
    pub other_authority: i64,
    pub calendar: i64,
    pub other_calendar: i64,
    pub t: TestStore,
}

struct NoPrinter;
impl amtsweg_domain::receipt::ReceiptPrinter for NoPrinter {
    fn print(&self, _: &amtsweg_domain::receipt::Receipt) -> Result<Vec<u8>, String> {
        Err("no printer in tests".into())
    }
}

fn new_authority(slug: &str, ars: &str) -> NewAuthority {
    NewAuthority {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Stadt {slug}"),
        kind: AuthorityKind::Stadt,
        ags: None,
        ars: Ars::parse(ars).unwrap(),
        parent_id: None,
        hosts: Vec::new(),
        street: "Markt 1".into(),
        plz: "29391".into(),
        city: "Moorbrück".into(),
        phone: String::new(),
        email: format!("buergerbuero@{slug}.example"),
        website: String::new(),
        intro: String::new(),
        primary_color: "#1d4f91".into(),
    }
}

fn location() -> NewLocation {
    NewLocation {
        slug: "rathaus".into(),
        name: "Bürgerbüro im Rathaus".into(),
        street: "Marktplatz 1".into(),
        plz: "29391".into(),
        city: "Moorbrück".into(),
        accessibility: String::new(),
        hours: OpeningHours::default(),
    }
}

fn leistung() -> NewLeistung {
    NewLeistung {
        slug: Slug::parse("personalausweis").unwrap(),
        name: "Personalausweis beantragen".into(),
        leika: LeikaKey::parse(LEIKA).unwrap(),
        leika_verified: false,
        trust_level: TrustLevel::Normal,
        org_unit_id: None,
        online_url: String::new(),
        keywords: Vec::new(),
        summary: String::new(),
        description: "Beschreibung".into(),
        requirements: String::new(),
        documents: "- ein aktuelles **biometrisches** Passfoto\n- der alte Ausweis".into(),
        fees: String::new(),
        deadlines: String::new(),
        procedure: String::new(),
        legal_basis: String::new(),
        processing_time: String::new(),
        published: true,
    }
}

/// Every day 08:00–18:00 in 10-minute units, one counter, bookable from the next day
/// for 30 days, no holidays (so the tests run on any day of the year).
pub(crate) fn calendar() -> Calendar {
    Calendar {
        active: true,
        slot_minutes: 10,
        hours: Some(std::array::from_fn(|_| vec![Interval { from: 8 * 60, to: 18 * 60 }])),
        counters: 1,
        closed_days: Vec::new(),
        holidays: false,
        blocked: Vec::new(),
        earliest_days: 1,
        latest_days: 30,
        services: vec![CalendarService { leika: LEIKA.into(), minutes: 20, extra_person_minutes: 10, max_persons: 3 }],
    }
}

async fn one(t: TestStore) -> Fixture {
    let store = t.store.clone();
    let mut tx = store.begin().await.unwrap();
    let authority = tx.insert_authority(&new_authority("moorbrueck", "033550001001")).await.unwrap();
    let other_authority = tx.insert_authority(&new_authority("heidedorf", "033550002002")).await.unwrap();
    let loc = tx.insert_location(authority, &location()).await.unwrap();
    let other_loc = tx.insert_location(other_authority, &location()).await.unwrap();
    tx.insert_leistung(authority, &leistung(), &[]).await.unwrap();
    let settings = serde_json::to_string(&calendar()).unwrap();
    let (calendar, _) = tx.save_appointment_calendar(authority, loc, &settings, 0).await.unwrap().unwrap();
    let (other_calendar, _) =
        tx.save_appointment_calendar(other_authority, other_loc, &settings, 0).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let portal = Portal::new(
        store,
        Keyring::from_base64(&Keyring::new_master_key()).unwrap(),
        crate::open_objects(None).unwrap(),
        Arc::new(NoPrinter),
        Settings {
            public_base_url: "https://portal.example/".into(),
            draft_days: 30,
            form_files_limit: 1 << 20,
            clamd: None,
            booking_group_commit: true,
            mail_from: "Amtsweg <noreply@portal.example>".into(),
        },
    )
    .await
    .unwrap();
    Fixture { portal, authority, other_authority, calendar, other_calendar, t }
}

/// The fixture on SQLite and, when reachable, PostgreSQL.
pub(crate) async fn both() -> Vec<Fixture> {
    let mut out = Vec::new();
    for t in amtsweg_store::testing::both().await {
        out.push(one(t).await);
    }
    out
}

impl Fixture {
    /// Stores booking rules for the authority (replacing earlier ones).
    pub async fn set_rules(&self, rules: &BookingRules) {
        let version = self.portal.store.appointment_rules(self.authority).await.unwrap().map_or(0, |r| r.version);
        let mut tx = self.portal.store.begin().await.unwrap();
        let saved =
            tx.save_appointment_rules(self.authority, &serde_json::to_string(rules).unwrap(), version).await.unwrap();
        assert!(saved.is_some());
        tx.commit().await.unwrap();
    }

    /// Replaces the authority's calendar settings.
    pub async fn set_calendar(&self, cal: &Calendar) {
        let row = self.portal.store.appointment_calendar(self.authority, self.calendar).await.unwrap().unwrap();
        let mut tx = self.portal.store.begin().await.unwrap();
        let saved = tx
            .save_appointment_calendar(
                self.authority,
                row.location_id,
                &serde_json::to_string(cal).unwrap(),
                row.version,
            )
            .await
            .unwrap();
        assert!(saved.is_some());
        tx.commit().await.unwrap();
    }

    /// The e-mails queued so far, oldest first.
    pub async fn mails(&self) -> Vec<EmailMessage> {
        let mut v: Vec<EmailMessage> =
            self.portal.store.outbox_entries(1000).await.unwrap().iter().map(|r| r.email().unwrap()).collect();
        v.reverse();
        v
    }

    pub async fn cleanup(self) {
        self.t.cleanup().await;
    }
}

/// A journey for one person and the service of the fixture.
pub(crate) fn journey() -> Journey {
    Journey { services: vec![LEIKA.into()], persons: 1, ..Journey::default() }
}

/// A day well inside the booking window.
pub(crate) fn day() -> Date {
    crate::time::now_local().date().checked_add(jiff::Span::new().days(3)).unwrap()
}

/// `hh:mm` on [`day`].
pub(crate) fn at(hour: i8, minute: i8) -> DateTime {
    day().at(hour, minute, 0, 0)
}
