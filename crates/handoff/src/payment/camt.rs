//! Bank statements in ISO 20022 camt.053 (Kontoauszug), versions 001.02 and 001.08 —
//! the two that German banks deliver today (DK format "camt.053.001.02" until the
//! 2025 switch, "camt.053.001.08" after it). Other versions are named as such, so the
//! person uploading knows to ask the bank for another export.
//!
//! Only what reconciliation needs is read: per statement the account and its
//! identifiers (to recognise a statement imported twice), per entry amount, direction,
//! dates and the remittance information of each transaction. Balances are not read:
//! they are not needed, and they carry other currencies (JPY without decimals) that
//! would only add ways to fail.
//!
//! The parser refuses documents with a DTD (no entity expansion, no billion laughs),
//! caps size, node count and entries, and reads amounts as decimal text into integer
//! cents — a sub-cent digit other than zero makes the file invalid rather than rounded.

use amtsweg_domain::payment::Cents;
use roxmltree::{Document, Node, ParsingOptions};

/// Largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Most entries (Buchungen) accepted over all statements of a file.
pub const MAX_ENTRIES: usize = 100_000;
/// Bounds the memory of the parsed tree (a few dozen nodes per entry).
const MAX_NODES: u32 = 4_000_000;

const NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.";
const SUPPORTED: [&str; 2] = ["001.02", "001.08"];

/// Why a file is not a statement we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CamtError {
    #[error("file larger than {} MB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("not XML: {0}")]
    NotXml(String),
    #[error("not a camt.053 statement")]
    NotCamt053,
    #[error("camt.053 version {0} is not supported (001.02 and 001.08 are)")]
    UnsupportedVersion(String),
    #[error("invalid camt.053: {0}")]
    Invalid(String),
}

impl CamtError {
    /// What the person who uploaded the file reads (German).
    #[must_use]
    pub fn german(&self) -> String {
        match self {
            Self::TooLarge => format!("Die Datei ist größer als {} MB.", MAX_BYTES / 1024 / 1024),
            Self::NotXml(_) => {
                "Die Datei ist keine XML-Datei. Bitte laden Sie den Kontoauszug im Format camt.053 hoch.".into()
            }
            Self::NotCamt053 => "Die Datei ist kein Kontoauszug im Format camt.053.".into(),
            Self::UnsupportedVersion(v) => format!(
                "Der Kontoauszug hat die Version camt.053.{v}. Gelesen werden die Versionen 001.02 und 001.08 – \
                 bitte fordern Sie bei Ihrer Bank einen Export in einer dieser Versionen an."
            ),
            Self::Invalid(why) => format!("Der Kontoauszug ist fehlerhaft: {why}"),
        }
    }
}

/// One statement (`Stmt`) of a file; a file may hold several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `001.02` or `001.08`.
    pub version: String,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `Stmt/Id`.
    pub statement_id: String,
    /// `ElctrncSeqNb`, empty when absent.
    pub electronic_seq: String,
    /// The account's IBAN (upper case, no spaces), or its other identification.
    pub account_iban: String,
    /// `FrToDt` as given (date-time text), empty when absent.
    pub from: String,
    pub to: String,
    pub entries: Vec<Entry>,
}

/// One entry (`Ntry`, Buchung) of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position within its statement, from 0: with the statement's identifiers a
    /// stable key of the entry.
    pub index: usize,
    pub amount: Cents,
    /// `Ccy` of the amount, e.g. `EUR`.
    pub currency: String,
    /// Credit (`CRDT`, money in) or debit (`DBIT`).
    pub credit: bool,
    /// Status `BOOK` (other states, e.g. `PDNG`, are not final).
    pub booked: bool,
    /// `RvslInd`: the entry reverses an earlier one (Rückbuchung).
    pub reversal: bool,
    /// `YYYY-MM-DD`, empty when absent.
    pub booking_date: String,
    pub value_date: String,
    /// `AcctSvcrRef`, the bank's reference, empty when absent.
    pub servicer_ref: String,
    pub details: Vec<TxDetail>,
}

/// One transaction (`TxDtls`) of an entry — a batch entry has several.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxDetail {
    pub amount: Option<Cents>,
    /// `EndToEndId` as given (`NOTPROVIDED` included).
    pub end_to_end: String,
    pub debtor_name: String,
    pub debtor_iban: String,
    /// `Ustrd` lines (Verwendungszweck) and structured additional information.
    pub unstructured: Vec<String>,
    /// `Strd/CdtrRefInf/Ref`: creditor references such as an RF reference.
    pub creditor_refs: Vec<String>,
}

/// Parses a camt.053 file into its statements.
///
/// # Errors
/// See [`CamtError`]; the file as a whole is refused, never partly read.
pub fn parse(bytes: &[u8]) -> Result<Vec<Statement>, CamtError> {
    if bytes.len() > MAX_BYTES {
        return Err(CamtError::TooLarge);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| CamtError::NotXml("not UTF-8".into()))?;
    let opt = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, opt).map_err(|e| match e {
        roxmltree::Error::DtdDetected => {
            CamtError::Invalid("Die Datei enthält eine DTD; das ist nicht erlaubt.".into())
        }
        roxmltree::Error::NodesLimitReached => CamtError::TooLarge,
        other => CamtError::NotXml(other.to_string()),
    })?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or_default();
    let Some(version) = ns.strip_prefix(NS_PREFIX) else { return Err(CamtError::NotCamt053) };
    if root.tag_name().name() != "Document" {
        return Err(CamtError::NotCamt053);
    }
    if !SUPPORTED.contains(&version) {
        return Err(CamtError::UnsupportedVersion(version.chars().take(20).collect()));
    }
    let r = Reader { ns };
    let body = r.child(root, "BkToCstmrStmt").ok_or(CamtError::NotCamt053)?;
    let message_id = r.text_at(body, &["GrpHdr", "MsgId"]);
    let mut out = Vec::new();
    let mut total = 0usize;
    for stmt in r.children(body, "Stmt") {
        let s = r.statement(stmt, version, &message_id)?;
        total += s.entries.len();
        if total > MAX_ENTRIES {
            return Err(CamtError::Invalid(format!("mehr als {MAX_ENTRIES} Buchungen in einer Datei")));
        }
        out.push(s);
    }
    if out.is_empty() {
        return Err(CamtError::Invalid("Die Datei enthält keinen Auszug (Stmt).".into()));
    }
    Ok(out)
}

/// Finds elements by local name within the document's namespace.
struct Reader<'n> {
    ns: &'n str,
}

impl Reader<'_> {
    fn is(&self, n: Node<'_, '_>, name: &str) -> bool {
        n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(self.ns)
    }

    fn child<'a, 'i>(&self, n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
        n.children().find(|c| self.is(*c, name))
    }

    fn children<'a, 'i: 'a>(&self, n: Node<'a, 'i>, name: &str) -> impl Iterator<Item = Node<'a, 'i>> {
        let name = name.to_owned();
        let ns = self.ns.to_owned();
        n.children().filter(move |c| {
            c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns.as_str())
        })
    }

    fn at<'a, 'i>(&self, n: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
        path.iter().try_fold(n, |cur, name| self.child(cur, name))
    }

    /// Trimmed text at `path`, empty when absent.
    fn text_at(&self, n: Node<'_, '_>, path: &[&str]) -> String {
        self.at(n, path).and_then(|e| e.text()).map(|t| t.trim().to_owned()).unwrap_or_default()
    }

    fn statement(&self, stmt: Node<'_, '_>, version: &str, message_id: &str) -> Result<Statement, CamtError> {
        let statement_id = self.text_at(stmt, &["Id"]);
        if statement_id.is_empty() {
            return Err(CamtError::Invalid("Ein Auszug hat keine Kennung (Stmt/Id).".into()));
        }
        let acct_id = self
            .at(stmt, &["Acct", "Id"])
            .ok_or_else(|| CamtError::Invalid(format!("Der Auszug {statement_id} nennt kein Konto (Acct/Id).")))?;
        let account = match self.child(acct_id, "IBAN") {
            Some(iban) => iban.text().unwrap_or_default().to_owned(),
            None => self.text_at(acct_id, &["Othr", "Id"]),
        };
        let account_iban: String =
            account.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if account_iban.is_empty() {
            return Err(CamtError::Invalid(format!("Der Auszug {statement_id} nennt kein Konto (Acct/Id).")));
        }
        let mut entries = Vec::new();
        for (index, ntry) in self.children(stmt, "Ntry").enumerate() {
            if index >= MAX_ENTRIES {
                return Err(CamtError::Invalid(format!("mehr als {MAX_ENTRIES} Buchungen in einem Auszug")));
            }
            entries.push(self.entry(ntry, index, &statement_id)?);
        }
        Ok(Statement {
            version: version.to_owned(),
            message_id: message_id.to_owned(),
            electronic_seq: self.text_at(stmt, &["ElctrncSeqNb"]),
            account_iban,
            from: self.text_at(stmt, &["FrToDt", "FrDtTm"]),
            to: self.text_at(stmt, &["FrToDt", "ToDtTm"]),
            statement_id,
            entries,
        })
    }

    fn entry(&self, ntry: Node<'_, '_>, index: usize, statement_id: &str) -> Result<Entry, CamtError> {
        let which = || format!("Auszug {statement_id}, Buchung {}", index + 1);
        let amt = self.child(ntry, "Amt").ok_or_else(|| CamtError::Invalid(format!("{}: kein Betrag", which())))?;
        let (amount, currency) = amount(amt).map_err(|why| CamtError::Invalid(format!("{}: {why}", which())))?;
        let credit = match self.text_at(ntry, &["CdtDbtInd"]).as_str() {
            "CRDT" => true,
            "DBIT" => false,
            _ => return Err(CamtError::Invalid(format!("{}: weder Gutschrift noch Lastschrift", which()))),
        };
        // 001.02: <Sts>BOOK</Sts>; 001.08: <Sts><Cd>BOOK</Cd></Sts>.
        let status = match self.at(ntry, &["Sts", "Cd"]) {
            Some(cd) => cd.text().unwrap_or_default().trim().to_owned(),
            None => self.text_at(ntry, &["Sts"]),
        };
        let booking_date =
            self.date(ntry, "BookgDt").map_err(|why| CamtError::Invalid(format!("{}: {why}", which())))?;
        let value_date = self.date(ntry, "ValDt").map_err(|why| CamtError::Invalid(format!("{}: {why}", which())))?;
        let mut details = Vec::new();
        for dtls in self.children(ntry, "NtryDtls") {
            for tx in self.children(dtls, "TxDtls") {
                details.push(self.detail(tx).map_err(|why| CamtError::Invalid(format!("{}: {why}", which())))?);
            }
        }
        Ok(Entry {
            index,
            amount,
            currency,
            credit,
            booked: status == "BOOK",
            // xs:boolean: `true` or `1` (a reversal is never matched automatically).
            reversal: matches!(self.text_at(ntry, &["RvslInd"]).as_str(), "true" | "1"),
            booking_date,
            value_date,
            servicer_ref: self.text_at(ntry, &["AcctSvcrRef"]),
            details,
        })
    }

    /// `<X><Dt>2014-12-31</Dt></X>` or `<X><DtTm>2014-12-31T13:15:00+01:00</DtTm></X>`:
    /// the bank's calendar date (the local date of a date-time, as the bank wrote it).
    fn date(&self, ntry: Node<'_, '_>, name: &str) -> Result<String, String> {
        let Some(el) = self.child(ntry, name) else { return Ok(String::new()) };
        let text = match self.child(el, "Dt") {
            Some(dt) => dt.text().unwrap_or_default().trim().to_owned(),
            None => self.text_at(el, &["DtTm"]).chars().take(10).collect(),
        };
        if text.is_empty() {
            return Ok(text);
        }
        text.parse::<jiff::civil::Date>().map(|d| d.to_string()).map_err(|_| format!("kein gültiges Datum „{text}“"))
    }

    fn detail(&self, tx: Node<'_, '_>) -> Result<TxDetail, String> {
        // 001.08 (and 001.03+): TxDtls/Amt; 001.02: TxDtls/AmtDtls/TxAmt/Amt.
        let amt = self.child(tx, "Amt").or_else(|| self.at(tx, &["AmtDtls", "TxAmt", "Amt"]));
        let amount = match amt {
            Some(a) => Some(amount(a)?.0),
            None => None,
        };
        let parties = self.child(tx, "RltdPties");
        let debtor_name = parties
            .and_then(|p| self.child(p, "Dbtr"))
            .map(|d| {
                // 001.08 wraps the party in <Pty>.
                let party = self.child(d, "Pty").unwrap_or(d);
                self.text_at(party, &["Nm"])
            })
            .unwrap_or_default();
        let debtor_iban = parties.map(|p| self.text_at(p, &["DbtrAcct", "Id", "IBAN"])).unwrap_or_default();
        let mut unstructured = Vec::new();
        let mut creditor_refs = Vec::new();
        for rmt in self.children(tx, "RmtInf") {
            for u in self.children(rmt, "Ustrd") {
                let t = u.text().unwrap_or_default().trim();
                if !t.is_empty() {
                    unstructured.push(t.to_owned());
                }
            }
            for s in self.children(rmt, "Strd") {
                let r = self.text_at(s, &["CdtrRefInf", "Ref"]);
                if !r.is_empty() {
                    creditor_refs.push(r);
                }
                for add in self.children(s, "AddtlRmtInf") {
                    let t = add.text().unwrap_or_default().trim();
                    if !t.is_empty() {
                        unstructured.push(t.to_owned());
                    }
                }
            }
        }
        Ok(TxDetail {
            amount,
            end_to_end: self.text_at(tx, &["Refs", "EndToEndId"]),
            debtor_name,
            debtor_iban: debtor_iban.chars().filter(|c| !c.is_whitespace()).collect(),
            unstructured,
            creditor_refs,
        })
    }
}

/// `<Amt Ccy="EUR">8.850</Amt>` → 885 cents and `EUR`. Amounts are never negative in
/// camt (the direction is `CdtDbtInd`). Every xs:decimal form is read (`+1.00`, `.5`,
/// `1.`). An amount in another currency with digits below its hundredth (`BHD
/// 1.234`) is cut to hundredths: such an entry is never matched, only listed for a
/// person, and must not make the whole file unreadable. In euro a digit below the
/// cent stays an error (ISO 4217 gives the euro two decimals).
fn amount(amt: Node<'_, '_>) -> Result<(Cents, String), String> {
    let text = amt.text().unwrap_or_default().trim();
    let currency = amt.attribute("Ccy").unwrap_or_default().trim().to_owned();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("Währung „{currency}“ ist kein ISO-4217-Code"));
    }
    if text.starts_with('-') {
        return Err(format!("Betrag „{text}“ mit Vorzeichen"));
    }
    let plain = text.strip_prefix('+').unwrap_or(text);
    let plain = plain.strip_suffix('.').unwrap_or(plain);
    let mut plain = if plain.starts_with('.') { format!("0{plain}") } else { plain.to_owned() };
    if currency != "EUR"
        && let Some((int, frac)) = plain.split_once('.')
        && frac.len() > 2
    {
        plain = format!("{int}.{}", &frac[..2]);
    }
    let cents = Cents::parse_decimal(&plain).map_err(|_| format!("Betrag „{text}“ ist kein Betrag in Cent"))?;
    Ok((cents, currency))
}
