//! Exclusive XML Canonicalization 1.0 (without comments) over a roxmltree tree.
//!
//! Written here because the crates that offer it either bind libxmlsec1 (whose
//! Debian version cannot verify the RSA-PSS signatures BundID uses) or bring a whole
//! second XML stack. Canonicalising the *same* tree the data is later read from is
//! what keeps signature-wrapping attacks out (one parser, one tree).
//!
//! Spec: <https://www.w3.org/TR/xml-exc-c14n/>. Prefixes are taken from the source
//! text (roxmltree resolves names to namespace URIs only), because one URI may be
//! bound to several prefixes.

use roxmltree::{Node, NodeType};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot canonicalise: {0}")]
pub struct C14nError(pub String);

/// The qualified name of an element as written in the source (`saml:Assertion`).
fn element_qname<'a>(node: &Node<'a, '_>, src: &'a str) -> &'a str {
    let start = node.range().start + 1;
    let rest = src.get(start..).unwrap_or_default();
    let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> Option<&str> {
    qname.split_once(':').map(|(p, _)| p)
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// The namespace URI bound to `prefix` (`None` = default namespace) on `node`.
fn in_scope(node: &Node<'_, '_>, prefix: Option<&str>) -> Option<String> {
    node.namespaces().find(|ns| ns.name() == prefix).map(|ns| ns.uri().to_owned())
}

/// Canonicalises the subtree at `apex`, leaving out `exclude` (and everything in
/// it) — the enveloped-signature transform — with the InclusiveNamespaces
/// `prefix_list` of the transform (`#default` names the default namespace).
///
/// # Errors
/// On comments, processing instructions or names the source does not show.
pub fn canonicalize(
    apex: Node<'_, '_>,
    exclude: Option<Node<'_, '_>>,
    prefix_list: &[String],
    src: &str,
) -> Result<Vec<u8>, C14nError> {
    // The list comes from the (not yet verified) message: no repeats, and short.
    let mut prefixes: Vec<String> = Vec::new();
    for p in prefix_list {
        if !prefixes.contains(p) {
            prefixes.push(p.clone());
        }
    }
    if prefixes.len() > MAX_PREFIXES {
        return Err(C14nError("too many inclusive namespace prefixes".into()));
    }
    let mut out = String::new();
    let rendered = BTreeMap::new();
    write_element(apex, exclude, &prefixes, src, &rendered, &mut out, 0)?;
    Ok(out.into_bytes())
}

/// Deepest nesting accepted; SAML messages need about a dozen levels. Recursion here
/// must never be able to exhaust the stack.
pub const MAX_DEPTH: usize = 64;
const MAX_PREFIXES: usize = 16;

fn write_element(
    node: Node<'_, '_>,
    exclude: Option<Node<'_, '_>>,
    prefix_list: &[String],
    src: &str,
    rendered: &BTreeMap<String, String>,
    out: &mut String,
    depth: usize,
) -> Result<(), C14nError> {
    if depth > MAX_DEPTH {
        return Err(C14nError("the document is nested too deeply".into()));
    }
    let qname = element_qname(&node, src);
    // Prefixes visibly utilised: the element's own and its attributes'.
    let mut wanted: Vec<Option<String>> = vec![prefix_of(qname).map(str::to_owned)];
    let mut attrs: Vec<(String, String, String, &str)> = Vec::new(); // (ns, local, qname, value)
    for a in node.attributes() {
        let r = a.range_qname();
        let aq = src.get(r.start..r.end).ok_or_else(|| C14nError("attribute name out of range".into()))?;
        if let Some(p) = prefix_of(aq) {
            wanted.push(Some(p.to_owned()));
        }
        attrs.push((a.namespace().unwrap_or_default().to_owned(), a.name().to_owned(), aq.to_owned(), a.value()));
    }
    for p in prefix_list {
        wanted.push(if p == "#default" { None } else { Some(p.clone()) });
    }
    // Namespace declarations to render here: in scope, and not already rendered
    // with the same value by an output ancestor.
    let mut decls: BTreeMap<String, String> = BTreeMap::new(); // prefix ("" = default) → uri
    let mut now_rendered = rendered.clone();
    for p in wanted {
        if p.as_deref() == Some("xml") {
            continue;
        }
        let key = p.clone().unwrap_or_default();
        let uri = in_scope(&node, p.as_deref());
        match uri {
            Some(u) if rendered.get(&key) != Some(&u) => {
                decls.insert(key.clone(), u.clone());
                now_rendered.insert(key, u);
            }
            // No default namespace here: undeclare it only if an output ancestor
            // declared one.
            None if p.is_none() && rendered.get("").is_some_and(|u| !u.is_empty()) => {
                decls.insert(String::new(), String::new());
                now_rendered.insert(String::new(), String::new());
            }
            // Already rendered with this value, or a PrefixList prefix that is not
            // in scope (skipped; a used prefix is always in scope in parsed XML).
            _ => {}
        }
    }
    out.push('<');
    out.push_str(qname);
    for (prefix, uri) in &decls {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
    }
    attrs.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
    for (_, _, aq, value) in &attrs {
        out.push(' ');
        out.push_str(aq);
        out.push_str("=\"");
        escape_attr(value, out);
        out.push('"');
    }
    out.push('>');
    for child in node.children() {
        if exclude.is_some_and(|e| e == child) {
            continue;
        }
        match child.node_type() {
            NodeType::Element => write_element(child, exclude, prefix_list, src, &now_rendered, out, depth + 1)?,
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::Comment | NodeType::PI => {
                return Err(C14nError("comments and processing instructions are not accepted".into()));
            }
            NodeType::Root => {}
        }
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, apex_local: &str, prefixes: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let apex = doc.descendants().find(|n| n.tag_name().name() == apex_local).unwrap();
        let pl: Vec<String> = prefixes.iter().map(|s| (*s).to_owned()).collect();
        String::from_utf8(canonicalize(apex, None, &pl, xml).unwrap()).unwrap()
    }

    #[test]
    fn renders_only_visibly_used_namespaces_sorted() {
        let xml =
            r#"<r xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u"><a:x b:z="2" y="1" a:w="3"><b:y/></a:x></r>"#;
        assert_eq!(
            c14n(xml, "x", &[]),
            r#"<a:x xmlns:a="urn:a" xmlns:b="urn:b" y="1" a:w="3" b:z="2"><b:y></b:y></a:x>"#
        );
    }

    #[test]
    fn descendants_do_not_repeat_rendered_declarations() {
        let xml = r#"<a:x xmlns:a="urn:a"><a:y xmlns:a="urn:a"><a:z/></a:y></a:x>"#;
        assert_eq!(c14n(xml, "x", &[]), r#"<a:x xmlns:a="urn:a"><a:y><a:z></a:z></a:y></a:x>"#);
    }

    #[test]
    fn escapes_text_and_attributes() {
        let xml = "<x a=\"&quot;&lt;&amp;&#9;&#10;\">&amp;&lt;&gt;\"'</x>";
        assert_eq!(c14n(xml, "x", &[]), "<x a=\"&quot;&lt;&amp;&#x9;&#xA;\">&amp;&lt;&gt;\"'</x>");
    }

    #[test]
    fn default_namespace_and_prefix_list() {
        let xml = r#"<r xmlns="urn:d" xmlns:xsd="urn:xsd"><x><y xmlns=""/></x></r>"#;
        assert_eq!(c14n(xml, "x", &[]), r#"<x xmlns="urn:d"><y xmlns=""></y></x>"#);
        assert_eq!(c14n(xml, "x", &["xsd"]), r#"<x xmlns="urn:d" xmlns:xsd="urn:xsd"><y xmlns=""></y></x>"#);
    }

    #[test]
    fn comments_are_refused() {
        let xml = "<x>a<!-- c -->b</x>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert!(canonicalize(doc.root_element(), None, &[], xml).is_err());
    }
}
