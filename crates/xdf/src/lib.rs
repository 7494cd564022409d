//! Import of FIM XDatenfelder schemas (the federal form building blocks) into an
//! Amtsweg form. Groups become steps or groups (repeating when their cardinality
//! allows more than one), fields get their type from `feldart` and `datentyp`, limits
//! from `praezisierung`, required-ness from the cardinality. Whatever cannot be carried
//! over — code-list values (not part of the file), patterns, rule scripts, deeper
//! nesting — is listed in the report, never dropped silently. Broken or foreign
//! documents are refused with a message that names the problem.
//!
//! Supported: xdf1 (`urn:xoev-de:fim:standard:xdatenfelder_1`), xdf2
//! (`…xdatenfelder_2`) and xdf3 (`…xdatenfelder_3.0.0`). xdf1 differs in a few
//! places, all handled here: `id`/`version` stand directly in the element (no
//! `identifikation`), the code list is an inline `codeliste` named by its `kennung`,
//! `praezisierung` is JSON or free text (`maxLength=50`; anything else is reported),
//! an unbounded cardinality may be written `n`, and the schema version may be in the
//! message header.

use amtsweg_forms::{Choice, Field, Form, Group, Item, Kind, Repeat, Step};
use roxmltree::{Document, Node, ParsingOptions};
use serde::Serialize;

mod namespaces;

const XDF1: &str = "urn:xoev-de:fim:standard:xdatenfelder_1";
const XDF2: &str = "urn:xoev-de:fim:standard:xdatenfelder_2";
const XDF3: &str = "urn:xoev-de:fim:standard:xdatenfelder_3.0.0";
/// Deepest group nesting accepted. Real schemas nest a few levels; without a limit
/// a crafted file recursed once per level until the stack overflowed (which aborts
/// the server) and built field ids as long as the nesting.
const MAX_NESTING: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("Die Datei ist kein lesbares XML: {0}")]
    Xml(String),
    #[error("Die Datei ist kein XDatenfelder-Dokument (Namensraum „{0}“).")]
    NotXdf(String),
    #[error("Ungültiges XDatenfelder-Dokument: {0}")]
    Invalid(String),
}

/// What the import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub standard: String,
    pub id: String,
    pub version: String,
    pub title: String,
    pub fields: usize,
    pub groups: usize,
    /// Everything not carried over, in plain German, one entry per thing.
    pub not_supported: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub form: Form,
    pub report: Report,
}

struct Ctx<'a> {
    ns: &'a str,
    /// XDatenfelder 1: ids without `identifikation`, inline code lists, free-text
    /// `praezisierung`, `n` as unbounded cardinality.
    xdf1: bool,
    report: Report,
}

/// The limits a `praezisierung` gives, and (xdf1) free text that says something else.
#[derive(Default)]
struct Limits {
    max_len: Option<i64>,
    min_value: Option<i64>,
    max_value: Option<i64>,
    free_text: Option<String>,
}

const LIMIT_KEYS: [&str; 5] = ["minLength", "maxLength", "minValue", "maxValue", "pattern"];

/// xdf1 free-text `praezisierung` such as `minLength=1, maxLength=50` or
/// `maxLength: 50; pattern: [0-9]{5}`: the recognised `key=value` pairs, and the
/// rest (what the importer cannot interpret). A `pattern` takes the rest of the text.
fn free_praezisierung(raw: &str) -> (Vec<(String, String)>, String) {
    let mut pairs = Vec::new();
    let mut rest: Vec<&str> = Vec::new();
    let mut remaining = raw;
    while !remaining.is_empty() {
        let end = remaining.find([',', ';', '\n']).unwrap_or(remaining.len());
        let part = &remaining[..end];
        let recognised = part.split_once(['=', ':']).and_then(|(k, v)| {
            let key = k.trim().trim_matches(['"', '\'']);
            LIMIT_KEYS.iter().find(|known| known.eq_ignore_ascii_case(key)).map(|known| (*known, v))
        });
        match recognised {
            Some(("pattern", _)) => {
                let value = part.split_once(['=', ':']).map_or("", |(_, v)| v);
                let value = format!("{value}{}", &remaining[end..]);
                pairs.push(("pattern".to_owned(), value.trim().trim_matches(['"', '\'']).to_owned()));
                break;
            }
            Some((key, v)) => pairs.push((key.to_owned(), v.trim().trim_matches(['"', '\'']).to_owned())),
            None if part.trim().is_empty() => {}
            None => rest.push(part.trim()),
        }
        remaining = remaining.get(end + 1..).unwrap_or_default();
    }
    (pairs, rest.join("; "))
}

fn el<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((ns, name)))
}

fn text(n: Option<Node<'_, '_>>) -> String {
    n.map(|n| n.descendants().filter(Node::is_text).map(|t| t.text().unwrap_or_default()).collect::<String>())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn code(n: Node<'_, '_>, ns: &str, name: &str) -> String {
    el(n, ns, name).map(|c| text(c.children().find(|x| x.tag_name().name() == "code"))).unwrap_or_default()
}

impl Ctx<'_> {
    /// Exactly one of each child that must be single (`identifikation/id`, `name`;
    /// in xdf1 `id` directly in the element).
    fn check_element(&self, n: Node<'_, '_>, what: &str) -> Result<(String, String), ImportError> {
        for single in ["identifikation", "name"] {
            let count = n.children().filter(|c| c.has_tag_name((self.ns, single))).count();
            if count > 1 {
                return Err(ImportError::Invalid(format!(
                    "{what} enthält <{single}> {count}-mal; erlaubt ist einmal."
                )));
            }
        }
        let ident = match el(n, self.ns, "identifikation") {
            Some(ident) => ident,
            None if self.xdf1 => return self.check_xdf1_id(n, what),
            None => return Err(ImportError::Invalid(format!("{what} hat keine <identifikation>."))),
        };
        let ids: Vec<_> = ident.children().filter(|c| c.has_tag_name((self.ns, "id"))).collect();
        let id = match ids.as_slice() {
            [id] => text(Some(*id)),
            [] => return Err(ImportError::Invalid(format!("{what} hat keine <id> in der <identifikation>."))),
            _ => return Err(ImportError::Invalid(format!("{what} hat mehrere <id> in der <identifikation>."))),
        };
        if id.is_empty() {
            return Err(ImportError::Invalid(format!("{what} hat eine leere <id>.")));
        }
        let version = text(el(ident, self.ns, "version"));
        Ok((id, version))
    }

    /// xdf1: `<id>` and `<version>` stand directly in the element. The message names
    /// the element by its `name`, since it has no id to name it by.
    fn check_xdf1_id(&self, n: Node<'_, '_>, what: &str) -> Result<(String, String), ImportError> {
        let name = text(el(n, self.ns, "name"));
        let what = if name.is_empty() { what.to_owned() } else { format!("{what} („{name}“)") };
        let ids: Vec<_> = n.children().filter(|c| c.has_tag_name((self.ns, "id"))).collect();
        let id = match ids.as_slice() {
            [id] => text(Some(*id)),
            [] => return Err(ImportError::Invalid(format!("{what} hat keine <id>."))),
            _ => return Err(ImportError::Invalid(format!("{what} hat mehrere <id>."))),
        };
        if id.is_empty() {
            return Err(ImportError::Invalid(format!("{what} hat eine leere <id>.")));
        }
        Ok((id, text(el(n, self.ns, "version"))))
    }

    /// The id of an element that is only reported (rules): `identifikation/id`, or
    /// in xdf1 `id`.
    fn plain_id(&self, n: Node<'_, '_>) -> String {
        match el(n, self.ns, "identifikation") {
            Some(i) => text(el(i, self.ns, "id")),
            None => text(el(n, self.ns, "id")),
        }
    }

    fn label(&self, n: Node<'_, '_>) -> String {
        let l = text(el(n, self.ns, "bezeichnungEingabe"));
        if l.is_empty() { text(el(n, self.ns, "name")) } else { l }
    }

    /// `praezisierung`: JSON text in xdf2, attributes in xdf3, JSON or free text in
    /// xdf1.
    fn limits(&mut self, n: Node<'_, '_>, id: &str) -> Limits {
        let Some(p) = el(n, self.ns, "praezisierung") else { return Limits::default() };
        let raw = text(Some(p));
        let json: Option<serde_json::Value> = serde_json::from_str(&raw).ok();
        let mut free: Vec<(String, String)> = Vec::new();
        let mut free_text = None;
        if self.xdf1 && !raw.is_empty() && !json.as_ref().is_some_and(serde_json::Value::is_object) {
            let (pairs, rest) = free_praezisierung(&raw);
            free = pairs;
            free_text = Some(rest).filter(|r| !r.is_empty());
        }
        let get = |key: &str| -> Option<String> {
            if let Some(v) = p.attribute(key) {
                return Some(v.to_owned());
            }
            if let Some((_, v)) = free.iter().find(|(k, _)| k == key) {
                return Some(v.clone());
            }
            json.as_ref()?.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        };
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<f64>().ok()).map(|f| f as i64);
        if let Some(pattern) = get("pattern").filter(|p| !p.is_empty()) {
            self.report.not_supported.push(format!("Feld {id}: Muster „{pattern}“ wird nicht geprüft."));
        }
        Limits { max_len: num("maxLength"), min_value: num("minValue"), max_value: num("maxValue"), free_text }
    }

    fn field(&mut self, n: Node<'_, '_>, path: &str, required: bool) -> Result<Field, ImportError> {
        let (fim_id, _) = self.check_element(n, "Ein Datenfeld")?;
        self.report.fields += 1;
        let id = format!("{path}{fim_id}");
        let label = self.label(n);
        let feldart = code(n, self.ns, "feldart");
        let datentyp = code(n, self.ns, "datentyp");
        let Limits { max_len, min_value: min_v, max_value: max_v, free_text } = self.limits(n, &fim_id);
        // The code list (xdf2/xdf3 `codelisteReferenz`, xdf1 an inline `codeliste`).
        let list = el(n, self.ns, "codelisteReferenz").or_else(|| el(n, self.ns, "codeliste"));
        let list_name = list
            .and_then(|l| {
                ["canonicalIdentification", "kennung"].iter().find_map(|k| {
                    l.descendants().find(|d| d.tag_name().name() == *k).map(|c| text(Some(c))).filter(|t| !t.is_empty())
                })
            })
            .or_else(|| list.filter(|_| self.xdf1).map(|l| text(el(l, self.ns, "name"))).filter(|t| !t.is_empty()))
            .unwrap_or_default();
        let kind = match (feldart.as_str(), datentyp.as_str()) {
            ("label", _) => {
                let inhalt = n
                    .children()
                    .filter(|c| c.has_tag_name((self.ns, "inhalt")))
                    .map(|c| text(Some(c)))
                    .find(|t| !t.is_empty());
                Kind::Info { text: inhalt.unwrap_or_else(|| text(el(n, self.ns, "beschreibung"))) }
            }
            ("select", _) => {
                let name = &list_name;
                self.report.not_supported.push(format!(
                    "Feld {fim_id} („{label}“): die Werte der Codeliste {} stehen nicht in der Datei und müssen vor dem Veröffentlichen ergänzt werden.",
                    if name.is_empty() { "(ohne Kennung)".to_owned() } else { format!("„{name}“") }
                ));
                Kind::Select { options: Vec::<Choice>::new() }
            }
            (_, "date") => Kind::Date { not_before: None, not_after: None },
            (_, "bool") => Kind::YesNo,
            (_, "num" | "num_int") => Kind::Number { min: min_v, max: max_v },
            (_, "num_currency") => Kind::Euro { min_cents: min_v.map(|v| v * 100), max_cents: max_v.map(|v| v * 100) },
            (_, "file") => {
                let max_bytes =
                    text(el(n, self.ns, "maxSize")).parse::<u64>().ok().map_or(10 * 1024 * 1024, |kb| kb * 1024);
                self.report.not_supported.push(format!("Feld {fim_id} („{label}“): erlaubte Dateitypen sind nicht angegeben; PDF, PNG und JPEG werden angenommen."));
                Kind::File { accept: vec!["pdf".into(), "png".into(), "jpg".into(), "jpeg".into()], max_bytes }
            }
            ("input", "text" | "") | ("", "text") => {
                let max = max_len.filter(|m| *m > 0).and_then(|m| u32::try_from(m).ok()).unwrap_or(200);
                if max > 500 { Kind::LongText { max_len: max } } else { Kind::Text { max_len: max } }
            }
            (f, d) => {
                self.report.not_supported.push(format!(
                    "Feld {fim_id} („{label}“): Feldart „{f}“ mit Datentyp „{d}“ wird als Text übernommen."
                ));
                Kind::Text { max_len: 200 }
            }
        };
        if let Some(free) = free_text {
            // In xdf1 the praezisierung of a select often just names its code list.
            let names_the_list = matches!(kind, Kind::Select { .. })
                && list.is_some_and(|l| {
                    [list_name.as_str(), &text(el(l, self.ns, "name"))].iter().any(|n| !n.is_empty() && *n == free)
                });
            if !names_the_list {
                self.report.not_supported.push(format!(
                    "Feld {fim_id} („{label}“): Präzisierung „{free}“ ist Freitext und wird nicht ausgewertet."
                ));
            }
        }
        if self.xdf1 && !matches!(kind, Kind::Info { .. }) {
            let inhalt = text(el(n, self.ns, "inhalt"));
            if !inhalt.is_empty() {
                self.report
                    .not_supported
                    .push(format!("Feld {fim_id} („{label}“): Vorbelegung „{inhalt}“ wird nicht übernommen."));
            }
        }
        let required = required && !matches!(kind, Kind::Info { .. });
        let hint = text(el(n, self.ns, "hilfetextEingabe"));
        Ok(Field { id, label, hint, kind, required, required_if: None, visible_if: None, prefill: None })
    }

    fn rules(&mut self, n: Node<'_, '_>) {
        for r in n.children().filter(|c| c.has_tag_name((self.ns, "regel"))) {
            let id = self.plain_id(r);
            let name = text(el(r, self.ns, "name"));
            self.report.not_supported.push(format!(
                "Regel {id} („{name}“): Regel-Skripte werden nicht ausgeführt; bitte als Bedingung nachbilden."
            ));
        }
    }

    /// (min, max) of a `struktur`'s `anzahl` ("1:1", "0:*"; xdf1 also "0:n").
    fn cardinality(&self, s: Node<'_, '_>) -> Result<(u32, Option<u32>), ImportError> {
        let a = text(el(s, self.ns, "anzahl"));
        let (min, max) =
            a.split_once(':').ok_or_else(|| ImportError::Invalid(format!("Anzahl „{a}“ ist nicht min:max.")))?;
        let min =
            min.trim().parse::<u32>().map_err(|_| ImportError::Invalid(format!("Anzahl „{a}“ ist nicht min:max.")))?;
        let max = match max.trim() {
            "*" => None,
            "n" | "N" if self.xdf1 => None,
            m => Some(m.parse::<u32>().map_err(|_| ImportError::Invalid(format!("Anzahl „{a}“ ist nicht min:max.")))?),
        };
        Ok((min, max))
    }

    /// The fields of a group (nested groups flattened, with a note).
    fn group_fields(
        &mut self,
        g: Node<'_, '_>,
        path: &str,
        depth: usize,
        out: &mut Vec<Field>,
    ) -> Result<(), ImportError> {
        if depth > MAX_NESTING {
            return Err(ImportError::Invalid(format!(
                "Die Datenfeldgruppen sind mehr als {MAX_NESTING} Ebenen tief verschachtelt."
            )));
        }
        self.rules(g);
        let ns = self.ns;
        for s in g.children().filter(|c| c.has_tag_name((ns, "struktur"))) {
            let (min, _) = self.cardinality(s)?;
            let Some(content) = el(s, self.ns, "enthaelt").and_then(|e| e.first_element_child()) else { continue };
            if content.has_tag_name((self.ns, "datenfeld")) {
                out.push(self.field(content, path, min >= 1)?);
            } else if content.has_tag_name((self.ns, "datenfeldgruppe")) {
                let (gid, _) = self.check_element(content, "Eine Datenfeldgruppe")?;
                self.report.groups += 1;
                if depth >= 1 {
                    self.report.not_supported.push(format!(
                        "Gruppe {gid} („{}“) ist tiefer verschachtelt und wurde in die übergeordnete Gruppe eingefügt.",
                        self.label(content)
                    ));
                }
                self.group_fields(content, &format!("{path}{gid}_"), depth + 1, out)?;
            }
        }
        Ok(())
    }

    fn schema(&mut self, root: Node<'_, '_>) -> Result<Form, ImportError> {
        let (id, version) = self.check_element(root, "Das Schema")?;
        self.report.id.clone_from(&id);
        self.report.version = version;
        let title = self.label(root);
        self.report.title.clone_from(&title);
        self.rules(root);
        let mut steps: Vec<Step> = Vec::new();
        let mut loose: Vec<Item> = Vec::new();
        // A single group as the document (xdf3 datenfeldgruppe messages) is one step.
        if root.has_tag_name((self.ns, "datenfeldgruppe")) {
            self.report.groups += 1;
            let mut fields = Vec::new();
            self.group_fields(root, "", 1, &mut fields)?;
            steps.push(Step {
                id: id.clone(),
                title: title.clone(),
                items: fields.into_iter().map(Item::Field).collect(),
                visible_if: None,
            });
        } else {
            let ns = self.ns;
            for s in root.children().filter(|c| c.has_tag_name((ns, "struktur"))) {
                let (min, max) = self.cardinality(s)?;
                let Some(content) = el(s, self.ns, "enthaelt").and_then(|e| e.first_element_child()) else { continue };
                if content.has_tag_name((self.ns, "datenfeld")) {
                    loose.push(Item::Field(self.field(content, "", min >= 1)?));
                } else if content.has_tag_name((self.ns, "datenfeldgruppe")) {
                    let (gid, _) = self.check_element(content, "Eine Datenfeldgruppe")?;
                    self.report.groups += 1;
                    let label = self.label(content);
                    let mut fields = Vec::new();
                    self.group_fields(content, &format!("{gid}_"), 1, &mut fields)?;
                    let repeating = max.is_none_or(|m| m > 1);
                    let item = if repeating {
                        let max = max.unwrap_or(99).min(99);
                        Item::Group(Group {
                            id: gid.clone(),
                            label: label.clone(),
                            fields,
                            repeat: Some(Repeat { min, max }),
                            visible_if: None,
                        })
                    } else {
                        if min == 0 {
                            for f in &mut fields {
                                f.required = false;
                            }
                        }
                        Item::Group(Group {
                            id: gid.clone(),
                            label: label.clone(),
                            fields,
                            repeat: None,
                            visible_if: None,
                        })
                    };
                    steps.push(Step { id: gid, title: label, items: vec![item], visible_if: None });
                }
            }
        }
        if !loose.is_empty() {
            steps.insert(0, Step { id: "angaben".into(), title: "Angaben".into(), items: loose, visible_if: None });
        }
        if steps.is_empty() {
            self.report.not_supported.push("Das Schema enthält keine Datenfelder; das Formular ist leer.".into());
        }
        Ok(Form {
            id: id.to_lowercase(),
            title,
            trust_level: "normal".into(),
            steps,
            computed: Vec::new(),
            rules: Vec::new(),
            direct_submit: false,
            workflow: None,
            appointment: None,
            payment: None,
        })
    }
}

/// Imports an XDatenfelder document.
///
/// # Errors
/// When the document is not XML, not XDatenfelder, or broken.
pub fn import(xml: &str) -> Result<Import, ImportError> {
    namespaces::check(xml)?;
    let opt = ParsingOptions { allow_dtd: false, nodes_limit: 2_000_000, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(xml, opt).map_err(|e| match e {
        roxmltree::Error::UnexpectedEndOfStream => ImportError::Xml(
            "die Datei endet mitten im Dokument (unvollständig, zum Beispiel ein abgebrochener Download).".into(),
        ),
        e => ImportError::Xml(e.to_string()),
    })?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or_default();
    let standard = match ns {
        XDF1 => "xdf1",
        XDF2 => "xdf2",
        XDF3 => "xdf3",
        other => return Err(ImportError::NotXdf(other.to_owned())),
    };
    let body = root
        .children()
        .find(|c| c.has_tag_name((ns, "stammdatenschema")) || c.has_tag_name((ns, "datenfeldgruppe")))
        .ok_or_else(|| ImportError::Invalid("Weder <stammdatenschema> noch <datenfeldgruppe> gefunden.".into()))?;
    let xdf1 = ns == XDF1;
    let mut ctx = Ctx { ns, xdf1, report: Report { standard: standard.into(), ..Report::default() } };
    let form = ctx.schema(body)?;
    if xdf1 && ctx.report.version.is_empty() {
        // xdf1 messages carry the schema version in the header.
        ctx.report.version = text(el(root, ns, "header").and_then(|h| el(h, ns, "version")));
    }
    Ok(Import { form, report: ctx.report })
}
