//! Storing claims of the finance software: a whole batch is checked before any of
//! it is stored (one bad item refuses the batch, naming every problem), duplicates
//! within a batch are refused, and an item sent again unchanged changes nothing
//! (idempotent by a hash of its content). Titles and notice names are sealed under
//! the authority's key, the notices themselves in the object store under
//! `authorities/<id>/bescheide/<sha256>`.

use super::{CLAIM_TITLE, NOTICE_FILE, NOTICE_FILE_NAME};
use crate::keyring::{authority_scope, record};
use crate::{Portal, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::files::FileType;
use amtsweg_domain::payment::{ClaimInput, check_claim, compact, rf_from};
use amtsweg_store::now_ms;
use amtsweg_store::payments::{NewClaim, Upserted};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Most claims in one batch.
pub const MAX_BATCH: usize = 500;
/// Most notices of one claim.
pub const MAX_NOTICES: usize = 3;
/// Largest notice (PDF).
pub const MAX_NOTICE_BYTES: usize = 5 * 1024 * 1024;

/// A notice (Bescheid) of a claim, as PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeUpload {
    /// e.g. "Grundsteuerbescheid 2026".
    pub title: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// One claim as sent, with its notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimUpload {
    pub claim: ClaimInput,
    pub notices: Vec<NoticeUpload>,
}

/// A claim as sent with the last sequence of the payments feed its figures include
/// (`zahlungen_bis`), if the sender said.
pub type ClaimAsOf = (ClaimUpload, Option<i64>);

/// The part of an item a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Kassenzeichen,
    DueDate,
    Kind,
    Title,
    Amount,
    Open,
    State,
    DunningLevel,
    Account,
    /// The last sequence of the payments feed the figures include (`zahlungen_bis`).
    PaymentsUpto,
    /// The notice at this index.
    Notice(usize),
    /// The item as a whole (e.g. a duplicate).
    Item,
}

impl Field {
    /// The name in the API's JSON (`due_date`, `notices/1`); empty for the item.
    #[must_use]
    pub fn api(self) -> String {
        match self {
            Self::Kassenzeichen => "kassenzeichen".into(),
            Self::DueDate => "due_date".into(),
            Self::Kind => "kind".into(),
            Self::Title => "title".into(),
            Self::Amount => "amount_cents".into(),
            Self::Open => "open_cents".into(),
            Self::State => "state".into(),
            Self::DunningLevel => "dunning_level".into(),
            Self::Account => "account".into(),
            Self::PaymentsUpto => "zahlungen_bis".into(),
            Self::Notice(i) => format!("notices/{i}"),
            Self::Item => String::new(),
        }
    }

    /// The column of the CSV import.
    #[must_use]
    pub fn csv(self) -> &'static str {
        match self {
            Self::Kassenzeichen => "Kassenzeichen",
            Self::DueDate => "Fällig am",
            Self::Kind => "Art",
            Self::Title => "Bezeichnung",
            Self::Amount => "Betrag",
            Self::Open => "Offen",
            Self::State => "Stand",
            Self::DunningLevel => "Mahnstufe",
            Self::Account => "Personenkonto",
            Self::PaymentsUpto => "Zahlungen bis",
            Self::Notice(_) => "Bescheid",
            Self::Item => "Zeile",
        }
    }
}

/// The field a message of `check_claim` is about (its messages name the field).
fn field_of(message: &str) -> Field {
    if message.contains("Kassenzeichen") {
        Field::Kassenzeichen
    } else if message.contains("Art der Forderung") {
        Field::Kind
    } else if message.contains("Bezeichnung") {
        Field::Title
    } else if message.contains("offene Betrag") || message.contains("offenen Betrag") {
        Field::Open
    } else if message.contains("Betrag") {
        Field::Amount
    } else if message.contains("Mahnstufe") {
        Field::DunningLevel
    } else if message.contains("Personenkonto") {
        Field::Account
    } else {
        Field::State
    }
}

fn bad_text(s: &str, max: usize) -> bool {
    s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control)
}

/// Every problem of one item, in German, each with the field it is about; empty
/// when it may be stored.
#[must_use]
pub fn check_upload(u: &ClaimUpload) -> Vec<(Field, String)> {
    let mut out: Vec<(Field, String)> = check_claim(&u.claim).into_iter().map(|m| (field_of(&m), m)).collect();
    if !(1990..=2100).contains(&u.claim.due_on.year()) {
        out.push((Field::DueDate, "Das Fälligkeitsdatum muss zwischen 1990 und 2100 liegen.".into()));
    }
    if u.notices.len() > MAX_NOTICES {
        out.push((Field::Item, format!("Eine Forderung kann höchstens {MAX_NOTICES} Bescheide haben.")));
    }
    for (i, n) in u.notices.iter().enumerate() {
        if bad_text(&n.title, 200) {
            out.push((Field::Notice(i), "Die Bezeichnung des Bescheids muss 1 bis 200 Zeichen lang sein.".into()));
        }
        if bad_text(&n.file_name, 200) || n.file_name.contains(['/', '\\']) {
            out.push((
                Field::Notice(i),
                "Der Dateiname des Bescheids muss 1 bis 200 Zeichen lang sein, ohne / und \\.".into(),
            ));
        }
        if n.bytes.is_empty() || n.bytes.len() > MAX_NOTICE_BYTES {
            out.push((Field::Notice(i), "Ein Bescheid muss zwischen 1 Byte und 5 MB groß sein.".into()));
        } else if FileType::sniff(&n.bytes) != Some(FileType::Pdf) {
            out.push((Field::Notice(i), "Ein Bescheid muss ein PDF-Dokument sein.".into()));
        }
    }
    out
}

/// Every problem of a batch's items (each with its index in the batch), as
/// `field: message` with the API's field names: [`check_upload`] of each, and
/// duplicates — the same Kassenzeichen (written in any way) and due date twice.
pub fn check_batch<'a>(items: impl IntoIterator<Item = (usize, &'a ClaimUpload)>) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, jiff::civil::Date), usize> = HashMap::new();
    for (i, u) in items {
        problems.extend(check_upload(u).into_iter().map(|(f, m)| (i, api_message(f, &m))));
        let key = (compact(&u.claim.kassenzeichen), u.claim.due_on);
        if let Some(first) = seen.get(&key) {
            problems.push((
                i,
                format!(
                    "Die Forderung mit dem Kassenzeichen „{}“ und der Fälligkeit {} steht doppelt im Stapel (schon an Stelle {first}).",
                    u.claim.kassenzeichen.trim(),
                    u.claim.due_on
                ),
            ));
        } else {
            seen.insert(key, i);
        }
    }
    problems
}

/// A message about `field` of an item as the API lists it: `due_date: …`.
fn api_message(field: Field, message: &str) -> String {
    let name = field.api();
    if name.is_empty() { message.to_owned() } else { format!("{name}: {message}") }
}

/// The hash an item is recognised by when it comes again: its content, its
/// notices' titles, names and contents. The same item from the API or the CSV
/// import hashes the same.
fn payload_hash(c: &ClaimInput, notices: &[(String, String, String)]) -> String {
    let v = serde_json::json!({
        "kassenzeichen": c.kassenzeichen.trim(),
        "due_date": c.due_on.to_string(),
        "kind": c.kind.trim(),
        "title": c.title.trim(),
        "amount": c.amount.0,
        "open": c.open.0,
        "state": c.state.as_str(),
        "dunning_level": c.dunning_level,
        "account": c.account.trim(),
        "notices": notices,
    });
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// The key of a stored notice: by its content, so the same PDF is stored once.
fn notice_key(authority_id: i64, sha256: &str) -> String {
    format!("authorities/{authority_id}/bescheide/{sha256}")
}

/// The creditor reference (RF) of a claim: of its Kassenzeichen and due date, so
/// that each instalment of one Kassenzeichen (Grundsteuer quarters) has its own and
/// a transfer matches exactly one claim; of the Kassenzeichen alone when both are
/// too long for an RF (21 characters); empty when the Kassenzeichen has no letter or
/// digit.
#[must_use]
pub fn claim_rf(kassenzeichen: &str, due_on: jiff::civil::Date) -> String {
    let kz = compact(kassenzeichen);
    let with_date = format!("{kz}{}", due_on.strftime("%Y%m%d"));
    if kz.is_empty() {
        String::new()
    } else if with_date.len() <= 21 {
        rf_from(&with_date).unwrap_or_default()
    } else {
        rf_from(&kz).unwrap_or_default()
    }
}

struct Prepared {
    kassenzeichen: String,
    due_on: String,
    hash: String,
    notices: Vec<PreparedNotice>,
}

/// A notice of an item, trimmed, with its hash.
struct PreparedNotice {
    title: String,
    file_name: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// A notice whose file is stored: what its row gets.
struct StoredNotice {
    title: String,
    sealed_name: String,
    key: String,
    size: i64,
    sha256: String,
}

/// Stores a batch of claims of the authority (source `api`): every item is checked
/// first, and duplicates within the batch (the same Kassenzeichen and due date) are
/// refused — on any problem nothing is stored and the answer lists each as (index,
/// `field: message`). Otherwise each item is created, updated, or left unchanged
/// when it is the same as stored; notices are added (one already there is kept).
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn upsert_claims(
    portal: &Portal,
    authority_id: i64,
    actor: &str,
    items: Vec<ClaimUpload>,
) -> Result<Result<Vec<(String, Upserted)>, Vec<(usize, String)>>> {
    upsert_claims_as_of(portal, authority_id, actor, items.into_iter().map(|u| (u, None)).collect()).await
}

/// [`upsert_claims`] where each item may say up to which sequence of the payments
/// feed (`GET /api/v1/zahlungen`, `zahlungen_bis`) its figures include: the portal
/// then keeps subtracting only the bookings after it from the open amount shown —
/// a dunning run computed before the finance software read a payment does not show
/// that payment as open again. A position beyond the feed's last is refused.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn upsert_claims_as_of(
    portal: &Portal,
    authority_id: i64,
    actor: &str,
    items: Vec<ClaimAsOf>,
) -> Result<Result<Vec<(String, Upserted)>, Vec<(usize, String)>>> {
    upsert(portal, authority_id, actor, items, "api", MAX_BATCH).await
}

pub(super) async fn upsert(
    portal: &Portal,
    authority_id: i64,
    actor: &str,
    items: Vec<ClaimAsOf>,
    source: &str,
    max: usize,
) -> Result<Result<Vec<(String, Upserted)>, Vec<(usize, String)>>> {
    let (items, positions): (Vec<ClaimUpload>, Vec<Option<i64>>) = items.into_iter().unzip();
    let mut problems = Vec::new();
    if items.len() > max {
        problems.push((max, format!("Ein Stapel kann höchstens {max} Forderungen enthalten.")));
    }
    problems.extend(check_batch(items.iter().enumerate()));
    if positions.iter().any(Option::is_some) {
        // A position beyond the feed would count bookings made later as included.
        let last = portal.store.last_feed_seq(authority_id).await?;
        for (i, p) in positions.iter().enumerate() {
            if let Some(p) = p.filter(|p| !(0..=last).contains(p)) {
                problems.push((
                    i,
                    api_message(
                        Field::PaymentsUpto,
                        &format!("Die Position {p} liegt nicht im Zahlungsfeed (0 bis {last})."),
                    ),
                ));
            }
        }
    }
    if let Some(addr) = &portal.settings.clamd {
        for (i, u) in items.iter().enumerate() {
            for (j, n) in u.notices.iter().enumerate() {
                match crate::files::scan(addr, &n.bytes).await {
                    Ok(crate::files::Verdict::Clean) => {}
                    Ok(crate::files::Verdict::Infected(sig)) => {
                        tracing::warn!(signature = %sig, "notice refused by the virus scanner");
                        problems.push((i, api_message(Field::Notice(j), "Im Bescheid wurde Schadsoftware gefunden.")));
                    }
                    Err(e) => {
                        // Fail closed: an unscanned file is not accepted.
                        tracing::error!(error = %e, "virus scanner not reachable");
                        problems.push((
                            i,
                            api_message(
                                Field::Notice(j),
                                "Der Bescheid konnte gerade nicht auf Schadsoftware geprüft werden. Bitte senden Sie den Stapel später noch einmal.",
                            ),
                        ));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|(i, _)| *i);
        return Ok(Err(problems));
    }

    let scope = authority_scope(authority_id);
    portal.keyring.ready(&portal.store, &scope).await?;
    let mut prepared = Vec::with_capacity(items.len());
    for u in &items {
        let mut notices = Vec::new();
        let mut listed = Vec::new();
        for n in &u.notices {
            let sha = hex::encode(Sha256::digest(&n.bytes));
            if notices.iter().any(|p: &PreparedNotice| p.sha256 == sha) {
                continue;
            }
            listed.push((n.title.trim().to_owned(), n.file_name.trim().to_owned(), sha.clone()));
            notices.push(PreparedNotice {
                title: n.title.trim().to_owned(),
                file_name: n.file_name.trim().to_owned(),
                bytes: n.bytes.clone(),
                sha256: sha,
            });
        }
        prepared.push(Prepared {
            kassenzeichen: u.claim.kassenzeichen.trim().to_owned(),
            due_on: u.claim.due_on.to_string(),
            hash: payload_hash(&u.claim, &listed),
            notices,
        });
    }

    // Notices of an item stored unchanged are there already (notices are only ever
    // added), so they need no new files.
    let mut unchanged = vec![false; items.len()];
    for (i, p) in prepared.iter().enumerate() {
        if let Some(old) = portal.store.claim_by_key(authority_id, &p.kassenzeichen, &p.due_on).await? {
            unchanged[i] = old.payload_hash == p.hash;
        }
    }
    // Files first (an object left by a batch that then fails is harmless: it is
    // found by its content the next time).
    let mut sealed_titles = Vec::with_capacity(items.len());
    let mut sealed_notices: Vec<Vec<StoredNotice>> = Vec::with_capacity(items.len());
    for (i, (u, p)) in items.iter().zip(&prepared).enumerate() {
        let rec = record::claim(authority_id, &p.kassenzeichen, &p.due_on);
        sealed_titles.push(portal.seal_bound(&scope, CLAIM_TITLE, &rec, u.claim.title.trim().as_bytes()).await?);
        let mut docs = Vec::new();
        if !unchanged[i] {
            for n in &p.notices {
                let key = notice_key(authority_id, &n.sha256);
                let object = record::object(&key);
                let sealed = portal.seal_bound(&scope, NOTICE_FILE, &object, &n.bytes).await?;
                crate::files::put(portal, &key, sealed.into_bytes()).await?;
                let sealed_name = portal.seal_bound(&scope, NOTICE_FILE_NAME, &object, n.file_name.as_bytes()).await?;
                docs.push(StoredNotice {
                    title: n.title.clone(),
                    sealed_name,
                    key,
                    size: i64::try_from(n.bytes.len()).unwrap_or(i64::MAX),
                    sha256: n.sha256.clone(),
                });
            }
        }
        sealed_notices.push(docs);
    }

    let mut tx = portal.store.begin().await?;
    let mut accounts: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(items.len());
    let (mut created, mut updated, mut same) = (0, 0, 0);
    for (i, (u, p)) in items.iter().zip(&prepared).enumerate() {
        let account_ref = u.claim.account.trim().to_owned();
        let account = match accounts.get(&account_ref) {
            Some(id) => *id,
            None => {
                let id = tx.upsert_finance_account(authority_id, &account_ref).await?;
                accounts.insert(account_ref, id);
                id
            }
        };
        let rf = claim_rf(&p.kassenzeichen, u.claim.due_on);
        let c = NewClaim {
            authority_id,
            finance_account_id: account,
            kassenzeichen: &p.kassenzeichen,
            due_on: &p.due_on,
            kind: u.claim.kind.trim(),
            title: &sealed_titles[i],
            rf_reference: &rf,
            source,
            payload_hash: &p.hash,
            amount_cents: u.claim.amount.0,
            open_cents: u.claim.open.0,
            state: u.claim.state.as_str(),
            dunning_level: i64::from(u.claim.dunning_level),
        };
        let r = tx.upsert_claim_as_of(&c, positions[i]).await?;
        match r {
            Upserted::Created(_) => created += 1,
            Upserted::Updated(_) => updated += 1,
            Upserted::Unchanged(_) => same += 1,
        }
        for n in &sealed_notices[i] {
            tx.add_claim_document(r.id(), authority_id, &n.title, &n.sealed_name, &n.key, n.size, &n.sha256).await?;
        }
        out.push((p.kassenzeichen.clone(), r));
    }
    tx.append_audit(&AuditEntry {
        at: now_ms(),
        actor: actor.to_owned(),
        authority_id: Some(authority_id),
        action: format!("finance.claims.{source}"),
        target: format!("claims:{}", items.len()),
        outcome: format!("created={created} updated={updated} unchanged={same}"),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use amtsweg_domain::payment::{Cents, ClaimState};

    fn claim() -> ClaimInput {
        ClaimInput {
            kassenzeichen: "5.100.000123".into(),
            due_on: jiff::civil::date(2026, 5, 15),
            kind: "Grundsteuer".into(),
            title: "Grundsteuer 2. Quartal 2026".into(),
            amount: Cents(12_345),
            open: Cents(12_345),
            state: ClaimState::Open,
            dunning_level: 0,
            account: "MB-10042".into(),
        }
    }

    fn fields(c: ClaimInput) -> Vec<Field> {
        check_upload(&ClaimUpload { claim: c, notices: Vec::new() }).into_iter().map(|(f, _)| f).collect()
    }

    /// Every message of the domain's check is put on the field it is about.
    #[test]
    fn problems_name_their_field() {
        assert!(fields(claim()).is_empty());
        assert_eq!(fields(ClaimInput { kassenzeichen: "ä".into(), ..claim() }), [Field::Kassenzeichen]);
        assert_eq!(fields(ClaimInput { kind: String::new(), ..claim() }), [Field::Kind]);
        assert_eq!(fields(ClaimInput { title: "\u{7}".into(), ..claim() }), [Field::Title]);
        assert_eq!(fields(ClaimInput { amount: Cents(0), open: Cents(0), ..claim() }), [Field::Amount]);
        assert_eq!(fields(ClaimInput { open: Cents(99_999), ..claim() }), [Field::Open]);
        assert_eq!(fields(ClaimInput { state: ClaimState::Settled, ..claim() }), [Field::Open]);
        assert_eq!(fields(ClaimInput { dunning_level: 7, ..claim() }), [Field::DunningLevel]);
        assert_eq!(fields(ClaimInput { state: ClaimState::Dunning, ..claim() }), [Field::DunningLevel]);
        assert_eq!(fields(ClaimInput { account: String::new(), ..claim() }), [Field::Account]);
        assert_eq!(fields(ClaimInput { due_on: jiff::civil::date(1970, 1, 1), ..claim() }), [Field::DueDate]);
    }

    #[test]
    fn notices_must_be_small_named_pdfs() {
        let pdf = NoticeUpload { title: "Bescheid".into(), file_name: "b.pdf".into(), bytes: b"%PDF-1.7 x".to_vec() };
        let ok = ClaimUpload { claim: claim(), notices: vec![pdf.clone()] };
        assert!(check_upload(&ok).is_empty());
        let text = NoticeUpload { bytes: b"hallo".to_vec(), ..pdf.clone() };
        let path = NoticeUpload { file_name: "../b.pdf".into(), ..pdf.clone() };
        let big = NoticeUpload { bytes: [b"%PDF-".as_slice(), &vec![0; MAX_NOTICE_BYTES]].concat(), ..pdf.clone() };
        let bad = ClaimUpload { claim: claim(), notices: vec![text, path, big] };
        let found: Vec<Field> = check_upload(&bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(found, [Field::Notice(0), Field::Notice(1), Field::Notice(2)]);
        let many = ClaimUpload { claim: claim(), notices: vec![pdf; 4] };
        assert_eq!(check_upload(&many).first().map(|(f, _)| *f), Some(Field::Item));
        assert_eq!(Field::Notice(2).api(), "notices/2");
        assert_eq!(api_message(Field::DueDate, "x"), "due_date: x");
    }

    #[test]
    fn each_instalment_has_its_own_reference() {
        let q2 = claim_rf("5.100.000123", jiff::civil::date(2026, 5, 15));
        let q3 = claim_rf("5.100.000123", jiff::civil::date(2026, 8, 15));
        assert!(amtsweg_domain::payment::is_valid_rf(&q2), "{q2}");
        assert_ne!(q2, q3);
        let long = claim_rf("ABCDEFGHIJKLMNOP", jiff::civil::date(2026, 8, 15));
        assert_eq!(long, rf_from("ABCDEFGHIJKLMNOP").unwrap());
        assert_eq!(claim_rf("..", jiff::civil::date(2026, 8, 15)), "");
    }

    #[test]
    fn the_payload_hash_sees_every_field() {
        let h = payload_hash(&claim(), &[]);
        assert_eq!(h, payload_hash(&ClaimInput { title: " Grundsteuer 2. Quartal 2026 ".into(), ..claim() }, &[]));
        assert_ne!(h, payload_hash(&ClaimInput { open: Cents(1), ..claim() }, &[]));
        assert_ne!(h, payload_hash(&ClaimInput { account: "MB-1".into(), ..claim() }, &[]));
        assert_ne!(h, payload_hash(&claim(), &[("B".into(), "b.pdf".into(), "ab".into())]));
    }
}
