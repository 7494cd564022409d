//! Reconciliation: bank statements (camt.053) matched against what is open,
//! refunds, and the per-period report.
//!
//! An imported statement must belong to one of the authority's invoice accounts
//! (its `rechnung` connectors) — a statement of another account is refused as a
//! whole, nothing is stored. Each credit in euro is matched by the RF reference or
//! the Kassenzeichen in its remittance information ([`match_credit`]): one
//! candidate with exactly the open amount is booked at once (source `bank`, which
//! releases a held application); partial and over-payments, entries naming several
//! or none, reversals and other currencies wait for a person ([`to_resolve`],
//! [`assign`], [`dismiss`]); debits are only listed. A statement imported again is
//! recognised by its account and identifier (and the file's hash) and changes
//! nothing; a file with known and new statements imports the new ones. All of one
//! file is written in one transaction.
//!
//! The debtor's name, account and remittance text are sealed under the authority's
//! key (bound to the entry); the RF reference stays clear for matching.

pub mod refund;
pub mod report;
mod resolve;

pub use resolve::{EntryView, assign, dismiss, entry_view, statement_entries, to_resolve};

use crate::casework::Actor;
use crate::keyring::{authority_scope, record};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::payment::kassenzeichen::compact;
use amtsweg_domain::payment::reconcile::{Candidate, MatchKind, find_rf_references, match_credit};
use amtsweg_domain::payment::{Cents, Iban, PaymentStatus, normalize_rf, rf_printed};
use amtsweg_handoff::payment::camt::{self, Entry, Statement};
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::payments::bank::{
    MATCH_ASSIGNED, MATCH_DEBIT, MATCH_DISMISSED, MATCH_EXACT, MATCH_FOREIGN, MATCH_UNMATCHED, TO_RESOLVE,
};
use amtsweg_store::payments::{BankEntryRow, NewBankEntry, NewBooking, NewStatement, SOURCE_BANK};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::HashMap;

/// Purposes an entry's texts are sealed for (bound to the entry's key).
const DETAILS: &str = "payment:bank_details";
const NOTE: &str = "payment:bank_note";

/// The booking method of a bank credit.
pub const METHOD_TRANSFER: &str = "ueberweisung";

/// Longest note accepted when an entry is dismissed.
pub const MAX_NOTE: usize = 1000;

/// What an import did (or, as a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Nothing was stored.
    pub dry_run: bool,
    pub statements: Vec<StatementReport>,
}

/// One statement of the file.
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    pub statement_id: String,
    pub account_iban: String,
    /// camt.053 version, e.g. `001.02`.
    pub version: String,
    pub from: String,
    pub to: String,
    /// Imported before: nothing of it was looked at again.
    pub known: bool,
    /// Entries not booked by the bank yet (e.g. `PDNG`): not taken over.
    pub pending: usize,
    pub lines: Vec<ReportLine>,
}

/// One entry (or, for a collective credit, one of its transactions).
#[derive(Debug, Clone, Serialize)]
pub struct ReportLine {
    /// The stored entry; `None` in a dry run.
    pub entry_id: Option<i64>,
    pub amount: Cents,
    pub currency: String,
    pub credit: bool,
    /// YYYY-MM-DD.
    pub booking_date: String,
    /// `bank_entries.match`.
    pub r#match: String,
    /// The Kassenzeichen matched (booked or suggested), '' when none.
    pub kassenzeichen: String,
    /// The held application released by this credit.
    pub released: Option<i64>,
}

impl ReportLine {
    /// What happened, in German.
    #[must_use]
    pub fn label(&self) -> String {
        let kz = &self.kassenzeichen;
        match self.r#match.as_str() {
            MATCH_EXACT => format!("gebucht auf Kassenzeichen {kz}"),
            MATCH_FOREIGN => format!("andere Währung ({}) – bitte prüfen", self.currency),
            m if !kz.is_empty() => format!("{} (Kassenzeichen {kz})", match_label(m)),
            m => match_label(m).to_owned(),
        }
    }
}

impl ImportReport {
    /// Lines of new statements with this match.
    #[must_use]
    pub fn count(&self, m: &str) -> usize {
        self.statements.iter().flat_map(|s| &s.lines).filter(|l| l.r#match == m).count()
    }

    /// Credits booked at once.
    #[must_use]
    pub fn booked(&self) -> usize {
        self.count(MATCH_EXACT)
    }

    /// Credits a person has to resolve.
    #[must_use]
    pub fn to_resolve(&self) -> usize {
        self.statements
            .iter()
            .flat_map(|s| &s.lines)
            .filter(|l| l.credit && TO_RESOLVE.contains(&l.r#match.as_str()))
            .count()
    }

    /// Statements that were known already.
    #[must_use]
    pub fn known(&self) -> usize {
        self.statements.iter().filter(|s| s.known).count()
    }

    /// One sentence for people, e.g. after an upload.
    #[must_use]
    pub fn summary_de(&self) -> String {
        let new = self.statements.len() - self.known();
        let booked = self.booked();
        let verb = match (self.dry_run, booked == 1) {
            (true, true) => "würde",
            (true, false) => "würden",
            (false, true) => "wurde",
            (false, false) => "wurden",
        };
        let mut parts =
            vec![if new == 1 { "1 neuer Kontoauszug".to_owned() } else { format!("{new} neue Kontoauszüge") }];
        if self.known() > 0 {
            parts.push(format!("{} bereits eingelesen (unverändert)", self.known()));
        }
        parts.push(format!("{booked} Zahlung{} {verb} gebucht", if booked == 1 { "" } else { "en" }));
        parts.push(format!("{} zu klären", self.to_resolve()));
        let debits = self.count(MATCH_DEBIT);
        if debits > 0 {
            parts.push(format!("{debits} Abbuchung{} aufgeführt", if debits == 1 { "" } else { "en" }));
        }
        format!("{}.", parts.join(", "))
    }
}

/// What a match means, for people.
#[must_use]
pub fn match_label(m: &str) -> &'static str {
    match m {
        MATCH_EXACT => "gebucht",
        "partial" => "Teilzahlung – bitte prüfen",
        "over" => "Überzahlung – bitte prüfen",
        "ambiguous" => "mehrere Kassenzeichen genannt – bitte zuordnen",
        MATCH_UNMATCHED => "nicht zugeordnet – bitte prüfen",
        MATCH_DEBIT => "Abbuchung (nur aufgeführt)",
        MATCH_FOREIGN => "andere Währung – bitte prüfen",
        MATCH_ASSIGNED => "zugeordnet und gebucht",
        MATCH_DISMISSED => "erledigt ohne Buchung",
        _ => "unbekannt",
    }
}

/// The sealed details of an entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryDetails {
    pub debtor: String,
    pub debtor_iban: String,
    pub remittance: Vec<String>,
    pub creditor_refs: Vec<String>,
    pub end_to_end: String,
    pub bank_ref: String,
    pub reversal: bool,
}

/// One entry to store, cut from the statement.
struct Row {
    key: String,
    amount: Cents,
    credit: bool,
    currency: String,
    booking_date: String,
    value_date: String,
    reversal: bool,
    details: EntryDetails,
}

impl Row {
    /// The RF reference named in the structured field, '' when none.
    fn reference(&self) -> String {
        self.details.creditor_refs.iter().find_map(|r| normalize_rf(r)).unwrap_or_default()
    }

    fn remittance(&self) -> String {
        self.details.remittance.join(" ")
    }

    /// The match before candidates are asked: money out, other currencies and
    /// reversals are never booked by the import.
    fn fixed_match(&self) -> Option<&'static str> {
        if !self.credit {
            Some(MATCH_DEBIT)
        } else if self.currency != "EUR" {
            Some(MATCH_FOREIGN)
        } else if self.reversal {
            Some(MATCH_UNMATCHED)
        } else {
            None
        }
    }
}

/// The booked entries of a statement as rows: a collective credit whose
/// transactions carry their own amounts (adding up to the entry) becomes one row
/// per transaction, so each is matched on its own.
fn rows_of(s: &Statement, pending: &mut usize) -> Vec<Row> {
    let mut out = Vec::new();
    for e in &s.entries {
        if !e.booked {
            *pending += 1;
            continue;
        }
        let key = format!("{}/{}/{}", s.account_iban, s.statement_id, e.index);
        let split = e.details.len() > 1
            && e.details.iter().all(|d| d.amount.is_some())
            && e.details.iter().map(|d| d.amount.map_or(0, |a| a.0)).sum::<i64>() == e.amount.0;
        if split {
            for (n, d) in e.details.iter().enumerate() {
                out.push(row(e, format!("{key}.{n}"), d.amount.unwrap_or(e.amount), std::slice::from_ref(d)));
            }
        } else {
            out.push(row(e, key, e.amount, &e.details));
        }
    }
    out
}

fn row(e: &Entry, key: String, amount: Cents, details: &[camt::TxDetail]) -> Row {
    let first =
        |f: fn(&camt::TxDetail) -> &String| details.iter().map(f).find(|s| !s.is_empty()).cloned().unwrap_or_default();
    Row {
        key,
        amount,
        credit: e.credit,
        currency: e.currency.clone(),
        booking_date: e.booking_date.clone(),
        value_date: e.value_date.clone(),
        reversal: e.reversal,
        details: EntryDetails {
            debtor: first(|d| &d.debtor_name),
            debtor_iban: first(|d| &d.debtor_iban),
            remittance: details.iter().flat_map(|d| d.unstructured.iter().cloned()).collect(),
            creditor_refs: details.iter().flat_map(|d| d.creditor_refs.iter().cloned()).collect(),
            end_to_end: first(|d| &d.end_to_end),
            bank_ref: e.servicer_ref.clone(),
            reversal: e.reversal,
        },
    }
}

/// The candidates a credit may pay, indexed by RF reference and compact
/// Kassenzeichen: a row is matched against the few it can name (the same result
/// as [`match_credit`] over all of them), so a statement of many entries is matched
/// in time linear in its size rather than entries × candidates.
#[derive(Clone)]
struct Matcher {
    cands: Vec<Candidate>,
    by_rf: HashMap<String, Vec<usize>>,
    by_kz: HashMap<String, Vec<usize>>,
    longest: usize,
}

impl Matcher {
    fn new(cands: Vec<Candidate>) -> Self {
        let mut by_rf: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_kz: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in cands.iter().enumerate() {
            if !c.rf.is_empty() {
                by_rf.entry(c.rf.clone()).or_default().push(i);
            }
            // Shorter ones are never found in a text (`mentions_kassenzeichen`).
            let kz = compact(&c.kassenzeichen);
            if kz.len() >= 4 {
                by_kz.entry(kz).or_default().push(i);
            }
        }
        let longest = by_kz.keys().map(String::len).max().unwrap_or(0);
        Self { cands, by_rf, by_kz, longest }
    }

    /// The candidates named by the references or, as whole tokens or runs of
    /// tokens, by the texts.
    fn shortlist(&self, structured: &[String], remittance: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let refs = structured.iter().filter_map(|s| normalize_rf(s)).chain(find_rf_references(remittance));
        for r in refs {
            out.extend(self.by_rf.get(&r).into_iter().flatten());
        }
        for text in structured.iter().map(String::as_str).chain(std::iter::once(remittance)) {
            let tokens: Vec<String> = text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_ascii_uppercase)
                .collect();
            for i in 0..tokens.len() {
                let mut joined = String::new();
                for t in &tokens[i..] {
                    joined.push_str(t);
                    if joined.len() > self.longest {
                        break;
                    }
                    out.extend(self.by_kz.get(&joined).into_iter().flatten());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Matches one row; an exact match lowers the candidate's open amount, so a
    /// second transfer for the same invoice in the file is an over-payment.
    fn classify(&mut self, r: &Row) -> (String, Option<usize>) {
        if let Some(m) = r.fixed_match() {
            return (m.to_owned(), None);
        }
        let remittance = r.remittance();
        let short = self.shortlist(&r.details.creditor_refs, &remittance);
        let sub: Vec<Candidate> = short.iter().map(|&i| self.cands[i].clone()).collect();
        let (kind, j) = match_credit(r.amount, &r.details.creditor_refs, &remittance, &sub);
        let idx = j.map(|j| short[j]);
        if kind == MatchKind::Exact
            && let Some(i) = idx
        {
            self.cands[i].open = Cents(Ord::max(self.cands[i].open.0 - r.amount.0, 0));
        }
        (kind.as_str().to_owned(), idx)
    }
}

/// The IBANs of the authority's invoice accounts (every `rechnung` connector, also
/// one switched off: transfers for its invoices still arrive).
async fn invoice_ibans(portal: &Portal, authority_id: i64) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in portal.store.payment_connectors_of(authority_id).await? {
        if let Some(a) = crate::payments::account_of(portal, &c).await
            && let Ok(iban) = Iban::parse(&a.iban)
        {
            out.push(iban.as_str().to_owned());
        }
    }
    Ok(out)
}

/// Checks the file and its accounts; the statements, or what to tell the person.
async fn read_file(portal: &Portal, authority_id: i64, bytes: &[u8]) -> Result<Result<Vec<Statement>, String>> {
    let statements = match camt::parse(bytes) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.german())),
    };
    let name = portal.catalogue().authority(authority_id).map(|a| a.name.clone()).ok_or(PortalError::NotFound)?;
    let accounts = invoice_ibans(portal, authority_id).await?;
    if accounts.is_empty() {
        return Ok(Err(format!(
            "Für {name} ist kein Konto für Rechnungen eingerichtet. Richten Sie unter „Zahlungen“ eine Verbindung \
             „Rechnung mit Überweisung“ ein; erst dann können Kontoauszüge dieses Kontos eingelesen werden."
        )));
    }
    for s in &statements {
        if !accounts.contains(&s.account_iban) {
            let printed = Iban::parse(&s.account_iban).map_or_else(|_| s.account_iban.clone(), |i| i.printed());
            return Ok(Err(format!(
                "Der Kontoauszug {} gehört zum Konto {printed}. Dieses Konto ist bei {name} nicht als Konto für \
                 Rechnungen eingerichtet. Es wurde nichts eingelesen.",
                s.statement_id
            )));
        }
    }
    Ok(Ok(statements))
}

/// The hash that recognises a statement of this file again: SHA-256 of the file
/// and the statement's position in it.
fn statement_hash(file: &[u8], position: usize) -> String {
    let mut h = sha2::Sha256::new();
    h.update(file);
    h.update(format!("\n#{position}").as_bytes());
    hex::encode(h.finalize())
}

fn report_of(s: &Statement, known: bool, pending: usize) -> StatementReport {
    StatementReport {
        statement_id: s.statement_id.clone(),
        account_iban: s.account_iban.clone(),
        version: s.version.clone(),
        from: s.from.clone(),
        to: s.to.clone(),
        known,
        pending,
        lines: Vec::new(),
    }
}

/// Checks a camt.053 file as [`import_camt`] would import it, storing nothing.
///
/// # Errors
/// On store or crypto errors.
pub async fn check_camt(portal: &Portal, authority_id: i64, bytes: &[u8]) -> Result<Result<ImportReport, String>> {
    let statements = match read_file(portal, authority_id, bytes).await? {
        Ok(s) => s,
        Err(m) => return Ok(Err(m)),
    };
    let mut matcher = Matcher::new(portal.store.match_candidates(authority_id).await?);
    let mut report = ImportReport { dry_run: true, statements: Vec::new() };
    for (pos, s) in statements.iter().enumerate() {
        let mut pending = 0;
        let rows = rows_of(s, &mut pending);
        let known = portal
            .store
            .statement_known(authority_id, &s.account_iban, &s.statement_id, &statement_hash(bytes, pos))
            .await?;
        let mut sr = report_of(s, known, pending);
        if !known {
            for r in &rows {
                let (m, idx) = matcher.classify(r);
                sr.lines.push(line(r, None, m, idx.map(|i| matcher.cands[i].kassenzeichen.clone()), None));
            }
        }
        report.statements.push(sr);
    }
    Ok(Ok(report))
}

fn line(r: &Row, entry_id: Option<i64>, m: String, kz: Option<String>, released: Option<i64>) -> ReportLine {
    ReportLine {
        entry_id,
        amount: r.amount,
        currency: r.currency.clone(),
        credit: r.credit,
        booking_date: r.booking_date.clone(),
        r#match: m,
        kassenzeichen: kz.unwrap_or_default(),
        released,
    }
}

/// Imports a camt.053 file of one of the authority's invoice accounts: new
/// statements and their entries are stored, exact credits booked (releasing held
/// applications), the rest left for a person. `Ok(Err(..))` says in German why the
/// file was refused — then nothing was stored. [`prepare_camt`], then
/// [`apply_camt`].
///
/// # Errors
/// On store or crypto errors.
pub async fn import_camt(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    bytes: &[u8],
) -> Result<Result<ImportReport, String>> {
    match prepare_camt(portal, authority_id, bytes).await? {
        Ok(prepared) => Ok(Ok(apply_camt(portal, actor, prepared).await?)),
        Err(m) => Ok(Err(m)),
    }
}

/// One statement of a prepared file: the statement, its hash, how many entries are
/// pending at the bank, its rows and their sealed details.
type PreparedStatement = (Statement, String, usize, Vec<Row>, Vec<String>);

/// A camt.053 file read, its texts sealed and its credits matched against what was
/// open when it was read; [`apply_camt`] stores it, deciding each booking again on
/// what is open then.
pub struct PreparedImport {
    authority_id: i64,
    statements: Vec<PreparedStatement>,
    matcher: Matcher,
    /// The payments an exact credit may book, with the notices for applications
    /// they may release (made before the transaction; queued only on a release).
    payments: Vec<i64>,
    mails: HashMap<i64, EmailMessage>,
    /// The claims an exact credit may book.
    claims: Vec<i64>,
}

/// Reads, checks, seals and matches a camt.053 file for [`apply_camt`], storing
/// nothing. `Ok(Err(..))` says in German why the file was refused.
///
/// # Errors
/// On store or crypto errors.
pub async fn prepare_camt(portal: &Portal, authority_id: i64, bytes: &[u8]) -> Result<Result<PreparedImport, String>> {
    let read = match read_file(portal, authority_id, bytes).await? {
        Ok(s) => s,
        Err(m) => return Ok(Err(m)),
    };
    let scope = authority_scope(authority_id);
    portal.keyring.ready(&portal.store, &scope).await?;
    // Everything sealed before the transaction, which then holds no crypto work.
    let mut statements = Vec::new();
    for (pos, s) in read.into_iter().enumerate() {
        let mut pending = 0;
        let rows = rows_of(&s, &mut pending);
        let mut sealed = Vec::with_capacity(rows.len());
        for r in &rows {
            let json = serde_json::to_string(&r.details).map_err(|e| PortalError::Internal(e.to_string()))?;
            sealed.push(
                portal.seal_bound(&scope, DETAILS, &record::bank_entry(authority_id, &r.key), json.as_bytes()).await?,
            );
        }
        statements.push((s, statement_hash(bytes, pos), pending, rows, sealed));
    }
    let matcher = Matcher::new(portal.store.match_candidates(authority_id).await?);
    let mut mails: HashMap<i64, EmailMessage> = HashMap::new();
    let (mut payments, mut claims) = (Vec::new(), Vec::new());
    let mut dry = matcher.clone();
    for (_, _, _, rows, _) in &statements {
        for r in rows {
            let (m, idx) = dry.classify(r);
            if m == MATCH_EXACT
                && let Some(cid) = idx.and_then(|i| dry.cands[i].claim_id)
                && !claims.contains(&cid)
            {
                claims.push(cid);
            }
            if m == MATCH_EXACT
                && let Some(pid) = idx.and_then(|i| dry.cands[i].payment_id)
                && !payments.contains(&pid)
            {
                payments.push(pid);
                if let Some(mail) = release_mail(portal, authority_id, pid).await? {
                    mails.insert(pid, mail);
                }
            }
        }
    }
    Ok(Ok(PreparedImport { authority_id, statements, matcher, payments, claims, mails }))
}

/// Stores a prepared camt.053 file in one transaction. The payments and then the
/// claims it may book are locked first, each in ascending id order (so it waits for,
/// and never deadlocks with, other bookings, which lock one payment and then the
/// feed counter), and their open amounts read again: one paid meanwhile (online, at
/// the counter, by another import) is not booked a second time — its credit waits
/// for a person as an over-payment.
///
/// # Errors
/// On store errors.
pub async fn apply_camt(portal: &Portal, actor: &Actor, prepared: PreparedImport) -> Result<ImportReport> {
    let PreparedImport { authority_id, statements, mut matcher, mut payments, claims, mails } = prepared;
    let today = crate::time::now_local().date().to_string();
    let mut report = ImportReport { dry_run: false, statements: Vec::new() };
    let mut tx = portal.store.begin().await?;
    payments.sort_unstable();
    for pid in payments {
        let open = tx.lock_payment(authority_id, pid).await?.map_or(0, |p| {
            if p.status == PaymentStatus::Cancelled.as_str() { 0 } else { (p.amount_cents - p.paid_cents).max(0) }
        });
        for c in matcher.cands.iter_mut().filter(|c| c.payment_id == Some(pid)) {
            c.open = Cents(open);
        }
    }
    let mut claims = claims;
    claims.sort_unstable();
    for cid in claims {
        let open = tx.claim_for_payment(authority_id, cid).await?.map_or(0, |c| c.open_cents);
        for c in matcher.cands.iter_mut().filter(|c| c.claim_id == Some(cid)) {
            c.open = Cents(open);
        }
    }
    for (s, sha, pending, rows, sealed) in &statements {
        let new = NewStatement {
            authority_id,
            account_iban: &s.account_iban,
            statement_id: &s.statement_id,
            message_id: &s.message_id,
            electronic_seq: &s.electronic_seq,
            version: &s.version,
            sha256: sha,
            from_date: &s.from,
            to_date: &s.to,
            entries: i64::try_from(rows.len()).unwrap_or(i64::MAX),
            imported_by: &actor.name,
        };
        let Some(statement_ref) = tx.insert_statement(&new).await? else {
            report.statements.push(report_of(s, true, *pending));
            continue;
        };
        let mut sr = report_of(s, false, *pending);
        for (r, details) in rows.iter().zip(sealed) {
            let (m, idx) = matcher.classify(r);
            let c = idx.map(|i| matcher.cands[i].clone());
            let reference = r.reference();
            let e = NewBankEntry {
                statement_ref,
                authority_id,
                entry_key: &r.key,
                amount_cents: r.amount.0,
                credit: r.credit,
                currency: &r.currency,
                booking_date: &r.booking_date,
                value_date: &r.value_date,
                reference: &reference,
                details,
                r#match: &m,
                payment_id: c.as_ref().and_then(|c| c.payment_id),
                claim_id: c.as_ref().and_then(|c| c.claim_id),
            };
            let Some(entry_id) = tx.insert_bank_entry(&e).await? else { continue };
            let mut released = None;
            if m == MATCH_EXACT
                && let Some(c) = &c
            {
                let booked_on = first_day(&[&r.booking_date, &r.value_date], &today);
                let b = NewBooking {
                    authority_id,
                    payment_id: c.payment_id,
                    claim_id: c.claim_id,
                    source: SOURCE_BANK,
                    amount_cents: r.amount.0,
                    method: METHOD_TRANSFER,
                    reference: if reference.is_empty() { &c.kassenzeichen } else { &reference },
                    bank_entry_id: Some(entry_id),
                    attempt_id: None,
                    actor: &actor.audit,
                    booked_on: &booked_on,
                };
                let mail = c.payment_id.and_then(|p| mails.get(&p));
                released = tx.book_payment(&b, mail).await?.released;
            }
            sr.lines.push(line(r, Some(entry_id), m, c.map(|c| c.kassenzeichen), released));
        }
        tx.append_audit(&AuditEntry {
            at: amtsweg_store::now_ms(),
            actor: actor.audit.clone(),
            authority_id: Some(authority_id),
            action: "payment.camt_import".into(),
            target: format!("bank_statement:{statement_ref}"),
            outcome: format!(
                "success:booked:{}:open:{}",
                sr.lines.iter().filter(|l| l.r#match == MATCH_EXACT).count(),
                sr.lines.iter().filter(|l| l.credit && TO_RESOLVE.contains(&l.r#match.as_str())).count()
            ),
        })
        .await?;
        report.statements.push(sr);
    }
    tx.commit().await?;
    Ok(report)
}

/// The notice for the application a payment holds, if it is held and has an
/// address.
async fn release_mail(portal: &Portal, authority_id: i64, payment_id: i64) -> Result<Option<EmailMessage>> {
    match portal.store.payment(authority_id, payment_id).await? {
        Some(p) => crate::payments::mail::release_notice(portal, &p).await,
        None => Ok(None),
    }
}

/// The first non-empty day, else `fallback`.
fn first_day(days: &[&String], fallback: &str) -> String {
    days.iter().find(|d| !d.is_empty()).map_or_else(|| fallback.to_owned(), |d| (*d).clone())
}

#[cfg(test)]
mod tests;
