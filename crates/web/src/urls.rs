//! Links and redirect targets: the one guard for where the portal may send a browser
//! after an action (`weiter=`, `zurueck=` parameters), and percent-encoding for
//! query values.

/// `target` when it is a local path under `within` that is safe to redirect to,
/// else `fallback`. Refused: other hosts (`https://…`, `//host`), backslashes
/// (browsers read them as slashes), `//` in the path, `://` anywhere, and control
/// characters — browsers drop tabs and line breaks from URLs, which would turn
/// "/<tab>/evil.example" into "//evil.example".
#[must_use]
pub fn local_target(target: Option<&str>, within: &str, fallback: &str) -> String {
    match target {
        Some(p) if is_local(p, within) => p.to_owned(),
        _ => fallback.to_owned(),
    }
}

fn is_local(p: &str, within: &str) -> bool {
    let path = p.split(['?', '#']).next().unwrap_or(p);
    p.starts_with(within)
        && p.starts_with('/')
        && !path.contains("//")
        && !p.contains('\\')
        && !p.contains("://")
        && !p.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
}

/// Percent-encodes a path for use as a query value.
#[must_use]
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_targets_after_sign_in() {
        let next = |p| local_target(p, "/", "/konto/");
        assert_eq!(next(Some("/konto/postfach/")), "/konto/postfach/");
        assert_eq!(next(Some("/o/moorbrueck/leistungen/x")), "/o/moorbrueck/leistungen/x");
        for evil in
            ["https://evil.example/", "//evil.example", "/\\evil", "/x?u=https://evil", "/\t/evil.example", "/\n/e"]
        {
            assert_eq!(next(Some(evil)), "/konto/", "{evil}");
        }
    }

    #[test]
    fn only_back_office_targets_after_staff_sign_in() {
        let next = |p| local_target(p, "/verwaltung/", "/verwaltung/");
        assert_eq!(next(Some("/verwaltung/protokoll/")), "/verwaltung/protokoll/");
        assert_eq!(next(Some("https://evil.example/")), "/verwaltung/");
        assert_eq!(next(Some("/verwaltung//evil")), "/verwaltung/");
        assert_eq!(next(Some("/konto/")), "/verwaltung/");
        assert_eq!(next(None), "/verwaltung/");
    }

    #[test]
    fn only_same_site_pages_after_choosing_a_place() {
        let back = |p| local_target(p, "/", "/");
        assert_eq!(back(Some("/o/moorbrueck/leistungen/x?y=1")), "/o/moorbrueck/leistungen/x?y=1");
        assert_eq!(back(Some("/suche?q=Personal ausweis")), "/suche?q=Personal ausweis");
        assert_eq!(back(Some("//evil.example/")), "/");
        assert_eq!(back(Some("https://evil.example/")), "/");
        assert_eq!(back(Some("/\\evil")), "/");
        assert_eq!(back(None), "/");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(urlencode("/verwaltung/a b?c=d"), "/verwaltung/a%20b%3Fc%3Dd");
    }
}
