//! Import of FIM XDatenfelder schemas (the federal form building blocks) into an
//! Amtsweg form. Groups become steps or groups (repeating when their cardinality
//! allows more than one), fields get their type from `feldart` and `datentyp`, limits
//! from `praezisierung`, required-ness from the cardinality. Whatever cannot be carried
//! over — code-list values (not part of the file), patterns, rule scripts, deeper
//! nesting — is listed in the report, never dropped silently. Broken or foreign
//! documents are refused with a message that names the problem.
//!
//! Supported: xdf2 (`urn:xoev-de:fim:standard:xdatenfelder_2`) and xdf3
//! (`…xdatenfelder_3.0.0`). xdf1 is recognised and refused as not supported yet.

use amtsweg_forms::{Choice, Field, Form, Group, Item, Kind, Repeat, Step};
use roxmltree::{Document, Node, ParsingOptions};
use serde::Serialize;

const XDF1: &str = "urn:xoev-de:fim:standard:xdatenfelder_1";
const XDF2: &str = "urn:xoev-de:fim:standard:xdatenfelder_2";
const XDF3: &str = "urn:xoev-de:fim:standard:xdatenfelder_3.0.0";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("Die Datei ist kein lesbares XML: {0}")]
    Xml(String),
    #[error("Die Datei ist kein XDatenfelder-Dokument (Namensraum „{0}“).")]
    NotXdf(String),
    #[error("XDatenfelder 1 wird noch nicht unterstützt; bitte exportieren Sie das Schema als XDatenfelder 2 oder 3.")]
    Xdf1,
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
    report: Report,
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
    /// Exactly one of each child that must be single (`identifikation/id`, `name`).
    fn check_element(&self, n: Node<'_, '_>, what: &str) -> Result<(String, String), ImportError> {
        for single in ["identifikation", "name"] {
            let count = n.children().filter(|c| c.has_tag_name((self.ns, single))).count();
            if count > 1 {
                return Err(ImportError::Invalid(format!(
                    "{what} enthält <{single}> {count}-mal; erlaubt ist einmal."
                )));
            }
        }
        let ident = el(n, self.ns, "identifikation")
            .ok_or_else(|| ImportError::Invalid(format!("{what} hat keine <identifikation>.")))?;
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

    fn label(&self, n: Node<'_, '_>) -> String {
        let l = text(el(n, self.ns, "bezeichnungEingabe"));
        if l.is_empty() { text(el(n, self.ns, "name")) } else { l }
    }

    /// `praezisierung`: JSON text in xdf2, attributes in xdf3.
    fn limits(&mut self, n: Node<'_, '_>, id: &str) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
        let Some(p) = el(n, self.ns, "praezisierung") else { return (None, None, None, None) };
        let get = |key: &str| -> Option<String> {
            if let Some(v) = p.attribute(key) {
                return Some(v.to_owned());
            }
            let json: serde_json::Value = serde_json::from_str(&text(Some(p))).ok()?;
            json.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        };
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<f64>().ok()).map(|f| f as i64);
        if let Some(pattern) = get("pattern").filter(|p| !p.is_empty()) {
            self.report.not_supported.push(format!("Feld {id}: Muster „{pattern}“ wird nicht geprüft."));
        }
        (num("minLength"), num("maxLength"), num("minValue"), num("maxValue"))
    }

    fn field(&mut self, n: Node<'_, '_>, path: &str, required: bool) -> Result<Field, ImportError> {
        let (fim_id, _) = self.check_element(n, "Ein Datenfeld")?;
        self.report.fields += 1;
        let id = format!("{path}{fim_id}");
        let label = self.label(n);
        let feldart = code(n, self.ns, "feldart");
        let datentyp = code(n, self.ns, "datentyp");
        let (_min_len, max_len, min_v, max_v) = self.limits(n, &fim_id);
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
                let list = el(n, self.ns, "codelisteReferenz");
                let name = list
                    .and_then(|l| l.descendants().find(|d| d.tag_name().name() == "canonicalIdentification"))
                    .map(|c| text(Some(c)))
                    .unwrap_or_default();
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
        let required = required && !matches!(kind, Kind::Info { .. });
        let hint = text(el(n, self.ns, "hilfetextEingabe"));
        Ok(Field { id, label, hint, kind, required, required_if: None, visible_if: None })
    }

    fn rules(&mut self, n: Node<'_, '_>) {
        for r in n.children().filter(|c| c.has_tag_name((self.ns, "regel"))) {
            let id = el(r, self.ns, "identifikation").map(|i| text(el(i, self.ns, "id"))).unwrap_or_default();
            let name = text(el(r, self.ns, "name"));
            self.report.not_supported.push(format!(
                "Regel {id} („{name}“): Regel-Skripte werden nicht ausgeführt; bitte als Bedingung nachbilden."
            ));
        }
    }

    /// (min, max) of a `struktur`'s `anzahl` ("1:1", "0:*").
    fn cardinality(&self, s: Node<'_, '_>) -> Result<(u32, Option<u32>), ImportError> {
        let a = text(el(s, self.ns, "anzahl"));
        let (min, max) =
            a.split_once(':').ok_or_else(|| ImportError::Invalid(format!("Anzahl „{a}“ ist nicht min:max.")))?;
        let min =
            min.trim().parse::<u32>().map_err(|_| ImportError::Invalid(format!("Anzahl „{a}“ ist nicht min:max.")))?;
        let max = match max.trim() {
            "*" => None,
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
        })
    }
}

/// Imports an XDatenfelder document.
///
/// # Errors
/// When the document is not XML, not XDatenfelder, xdf1, or broken.
pub fn import(xml: &str) -> Result<Import, ImportError> {
    let opt = ParsingOptions { allow_dtd: false, nodes_limit: 2_000_000, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(xml, opt).map_err(|e| ImportError::Xml(e.to_string()))?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or_default();
    let standard = match ns {
        XDF2 => "xdf2",
        XDF3 => "xdf3",
        XDF1 => return Err(ImportError::Xdf1),
        other => return Err(ImportError::NotXdf(other.to_owned())),
    };
    let body = root
        .children()
        .find(|c| c.has_tag_name((ns, "stammdatenschema")) || c.has_tag_name((ns, "datenfeldgruppe")))
        .ok_or_else(|| ImportError::Invalid("Weder <stammdatenschema> noch <datenfeldgruppe> gefunden.".into()))?;
    let mut ctx = Ctx { ns, report: Report { standard: standard.into(), ..Report::default() } };
    let form = ctx.schema(body)?;
    Ok(Import { form, report: ctx.report })
}
