//! Text modules are written in a small Markdown subset and rendered to safe HTML.
//!
//! Raw HTML in the source is shown as text, links only keep http(s), mailto and
//! tel targets or site-relative paths, and headings become bold paragraphs so the
//! page's heading order stays intact. Nothing in a text module can run script.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || lower.starts_with("tel:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
}

/// Renders a text module to HTML that is safe to embed.
#[must_use]
pub fn render(source: &str) -> String {
    let parser = Parser::new_ext(source, Options::empty()).map(|ev| match ev {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Heading { .. }) => Event::Start(Tag::Strong),
        Event::End(TagEnd::Heading(_)) => Event::End(TagEnd::Strong),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
            Event::Start(Tag::Link { link_type, dest_url: "#".into(), title, id })
        }
        Event::Start(Tag::Image { .. }) => Event::Text("[Bild]".into()),
        Event::End(TagEnd::Image) => Event::Text("".into()),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
#[path = "markdown_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_paragraphs() {
        let h = render("Erster Absatz.\n\n- eins\n- zwei");
        assert!(h.contains("<p>Erster Absatz.</p>"));
        assert!(h.contains("<li>eins</li>"));
    }

    #[test]
    fn nothing_executes() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[klick](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "![bild](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](//evil.example/)",
            "<svg onload=alert(1)>",
            "<iframe src=data:text/html,x>",
        ] {
            let h = render(payload);
            assert!(!h.contains("<script"), "{payload} -> {h}");
            assert!(!h.contains("<img"), "{payload} -> {h}");
            assert!(!h.contains("<svg"), "{payload} -> {h}");
            assert!(!h.contains("<iframe"), "{payload} -> {h}");
            assert!(!h.to_lowercase().contains("<a href=\"javascript"), "{payload} -> {h}");
            assert!(!h.contains("<a href=\"//"), "{payload} -> {h}");
        }
    }

    #[test]
    fn headings_do_not_break_the_outline() {
        assert!(!render("# Titel").contains("<h1"));
    }
}
