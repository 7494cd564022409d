//! Fuzz harness of the Markdown subset (text modules are written by authority staff
//! and shown to everyone): seeds from `fuzz/corpus/markdown/`, mutated. Rendering
//! never panics, its output stays in proportion to the source and holds only the
//! tags and link targets the subset allows, and it takes linear time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use super::{render, safe_url};
use harness::Dict;
use proptest::prelude::*;

const DICT: Dict = Dict {
    tokens: &[
        "*",
        "**",
        "_",
        "__",
        "`",
        "```",
        "~~~",
        "[",
        "]",
        "](",
        ")",
        "![",
        "<",
        ">",
        "&",
        "&#0;",
        "&#x110000;",
        "\\",
        "#",
        "\n",
        "\n\n",
        "    ",
        "\t",
        "- ",
        "1. ",
        "> ",
        "---",
        "===",
        "|",
        "<script>",
        "<img src=x>",
        "javascript:",
        "JAVASCRIPT:",
        "data:",
        "vbscript:",
        "//",
        "\"",
        "'",
        "[r]: ",
        "\u{0}",
        "\u{feff}",
        "\u{202e}",
    ],
    pairs: &[("[", "](/x)"), ("> ", ""), ("- ", ""), ("*", "*"), ("**", "**"), ("`", "`"), ("<", ">"), ("[", "]")],
};

/// The tags the subset may produce (no headings, images, raw HTML or tables).
const TAGS: [&str; 12] = ["p", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote", "hr", "br"];

fn assert_safe(source: &str, html: &str) {
    assert!(html.len() <= 32 * source.len() + 1024, "{} bytes of HTML from {} bytes", html.len(), source.len());
    // Text is escaped, so every `<` opens a tag the renderer wrote.
    for tag in html.split('<').skip(1) {
        let name: String = tag.trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
        assert!(TAGS.contains(&name.as_str()), "tag <{name}> in the output of {source:?}:\n{html}");
        let inside = tag.split('>').next().unwrap_or_default();
        for link in inside.split("href=\"").skip(1) {
            let target = link.split('"').next().unwrap_or_default();
            // The target as the browser reads it (entities decoded).
            let decoded = target.replace("&amp;", "&").replace("&quot;", "\"").replace("&#x27;", "'");
            assert!(decoded == "#" || safe_url(&decoded), "link target {target:?} from {source:?}");
        }
    }
}

proptest! {
    #![proptest_config(harness::config(512))]

    #[test]
    fn mutated_text_modules_render_safely(source in harness::mutated_text(harness::corpus("markdown"), DICT, 12, false)) {
        assert_safe(&source, &render(&source));
    }

    #[test]
    fn any_text_renders_safely(source in "\\PC{0,400}") {
        assert_safe(&source, &render(&source));
    }
}

proptest! {
    #![proptest_config(harness::config(48))]

    #[test]
    fn heavily_mutated_text_modules_render_safely(source in harness::mutated_text(harness::corpus("markdown"), DICT, 3, true)) {
        assert_safe(&source, &render(&source));
    }
}

#[test]
fn rendering_time_grows_linearly() {
    // Shapes that made Markdown parsers quadratic: unclosed openers, nesting, long
    // runs of delimiters, many link references.
    type Shape = (&'static str, fn(usize) -> String);
    let shapes: [Shape; 12] = [
        ("plain text", |n| "Wort ".repeat(n)),
        ("unclosed brackets", |n| "[".repeat(n)),
        ("unclosed links", |n| "[a](".repeat(n)),
        ("emphasis runs", |n| "*a_".repeat(n)),
        ("alternating emphasis", |n| "**a*".repeat(n)),
        ("backtick runs", |n| (0..n).map(|i| "`".repeat(i % 16 + 1) + "x").collect()),
        ("nested quotes", |n| format!("{}x", "> ".repeat(n))),
        ("nested lists", |n| (0..n).map(|i| format!("{}- x\n", "  ".repeat(i % 100))).collect()),
        ("angle brackets", |n| "<a ".repeat(n)),
        ("link references", |n| (0..n).map(|i| format!("[r{i}]: /x{i}\n[r{i}]\n")).collect()),
        ("entities", |n| "&#x41;&amp;&".repeat(n)),
        ("many lines", |n| "a\n".repeat(n)),
    ];
    for (what, make) in shapes {
        harness::assert_linear(&format!("markdown: {what}"), 64, make, |s| {
            std::hint::black_box(render(s));
        });
    }
}
