//! minijinja templates with auto-escaping. Built-in templates are compiled into the
//! binary; an operator may override any of them by file name from a directory.

use minijinja::Environment;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

const BUILTIN: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("verbund_start.html", include_str!("../templates/verbund_start.html")),
    ("authority_start.html", include_str!("../templates/authority_start.html")),
    ("leistungen_az.html", include_str!("../templates/leistungen_az.html")),
    ("leistung.html", include_str!("../templates/leistung.html")),
    ("verbund_leistung.html", include_str!("../templates/verbund_leistung.html")),
    ("org_units.html", include_str!("../templates/org_units.html")),
    ("org_unit.html", include_str!("../templates/org_unit.html")),
    ("contacts.html", include_str!("../templates/contacts.html")),
    ("contact.html", include_str!("../templates/contact.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("place.html", include_str!("../templates/place.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("page.html", include_str!("../templates/page.html")),
    ("verwaltung/base.html", include_str!("../templates/verwaltung/base.html")),
    ("verwaltung/login.html", include_str!("../templates/verwaltung/login.html")),
    ("verwaltung/code.html", include_str!("../templates/verwaltung/code.html")),
    ("verwaltung/start.html", include_str!("../templates/verwaltung/start.html")),
    ("verwaltung/audit.html", include_str!("../templates/verwaltung/audit.html")),
    ("verwaltung/leistungen.html", include_str!("../templates/verwaltung/leistungen.html")),
    ("verwaltung/leistung_form.html", include_str!("../templates/verwaltung/leistung_form.html")),
    ("verwaltung/vorschau.html", include_str!("../templates/verwaltung/vorschau.html")),
    ("verwaltung/versionen.html", include_str!("../templates/verwaltung/versionen.html")),
    ("verwaltung/behoerden.html", include_str!("../templates/verwaltung/behoerden.html")),
    ("verwaltung/behoerde_neu.html", include_str!("../templates/verwaltung/behoerde_neu.html")),
    ("verwaltung/darstellung.html", include_str!("../templates/verwaltung/darstellung.html")),
    ("verwaltung/zustaendigkeiten.html", include_str!("../templates/verwaltung/zustaendigkeiten.html")),
    ("verwaltung/einladen.html", include_str!("../templates/verwaltung/einladen.html")),
    ("verwaltung/mitarbeitende.html", include_str!("../templates/verwaltung/mitarbeitende.html")),
    ("verwaltung/mitarbeitende_alle.html", include_str!("../templates/verwaltung/mitarbeitende_alle.html")),
    ("verwaltung/passwort_setzen.html", include_str!("../templates/verwaltung/passwort_setzen.html")),
    ("verwaltung/passwort_vergessen.html", include_str!("../templates/verwaltung/passwort_vergessen.html")),
    ("verwaltung/hinweis.html", include_str!("../templates/verwaltung/hinweis.html")),
    ("verwaltung/seiten.html", include_str!("../templates/verwaltung/seiten.html")),
    ("verwaltung/seite.html", include_str!("../templates/verwaltung/seite.html")),
    ("verwaltung/seite_vorschau.html", include_str!("../templates/verwaltung/seite_vorschau.html")),
    ("verwaltung/standorte.html", include_str!("../templates/verwaltung/standorte.html")),
    ("verwaltung/standort.html", include_str!("../templates/verwaltung/standort.html")),
    ("verwaltung/stellen.html", include_str!("../templates/verwaltung/stellen.html")),
    ("verwaltung/termine/macros.html", include_str!("../templates/verwaltung/termine/macros.html")),
    ("verwaltung/termine/uebersicht.html", include_str!("../templates/verwaltung/termine/uebersicht.html")),
    ("verwaltung/termine/kalender.html", include_str!("../templates/verwaltung/termine/kalender.html")),
    ("verwaltung/termine/tag.html", include_str!("../templates/verwaltung/termine/tag.html")),
    ("verwaltung/termine/absagen.html", include_str!("../templates/verwaltung/termine/absagen.html")),
    ("verwaltung/termine/tag_absagen.html", include_str!("../templates/verwaltung/termine/tag_absagen.html")),
    ("verwaltung/termine/buchen.html", include_str!("../templates/verwaltung/termine/buchen.html")),
    ("verwaltung/termine/zahlen.html", include_str!("../templates/verwaltung/termine/zahlen.html")),
    ("verwaltung/stelle.html", include_str!("../templates/verwaltung/stelle.html")),
    ("konto/nav.html", include_str!("../templates/konto/nav.html")),
    ("demo_bundid/banner.html", include_str!("../templates/demo_bundid/banner.html")),
    ("demo_bundid/start.html", include_str!("../templates/demo_bundid/start.html")),
    ("demo_bundid/auswahl.html", include_str!("../templates/demo_bundid/auswahl.html")),
    ("demo_bundid/weiter.html", include_str!("../templates/demo_bundid/weiter.html")),
    ("antrag/macros.html", include_str!("../templates/antrag/macros.html")),
    ("antrag/schritt.html", include_str!("../templates/antrag/schritt.html")),
    ("antrag/pruefen.html", include_str!("../templates/antrag/pruefen.html")),
    ("antrag/eingang.html", include_str!("../templates/antrag/eingang.html")),
    ("antrag/zahlung.html", include_str!("../templates/antrag/zahlung.html")),
    ("antrag/zahlung_macros.html", include_str!("../templates/antrag/zahlung_macros.html")),
    ("antrag/abgeschickt.html", include_str!("../templates/antrag/abgeschickt.html")),
    ("antrag/status.html", include_str!("../templates/antrag/status.html")),
    ("antrag/eingang_angaben.html", include_str!("../templates/antrag/eingang_angaben.html")),
    ("antrag/gespeichert.html", include_str!("../templates/antrag/gespeichert.html")),
    ("antrag/fortsetzen.html", include_str!("../templates/antrag/fortsetzen.html")),
    ("antrag/verworfen.html", include_str!("../templates/antrag/verworfen.html")),
    ("konto/antraege.html", include_str!("../templates/konto/antraege.html")),
    ("konto/termine.html", include_str!("../templates/konto/termine.html")),
    ("konto/finanzen.html", include_str!("../templates/konto/finanzen.html")),
    ("konto/finanzen_forderung.html", include_str!("../templates/konto/finanzen_forderung.html")),
    ("termine/macros.html", include_str!("../templates/termine/macros.html")),
    ("termine/leistungen.html", include_str!("../templates/termine/leistungen.html")),
    ("termine/fragen.html", include_str!("../templates/termine/fragen.html")),
    ("termine/standort.html", include_str!("../templates/termine/standort.html")),
    ("termine/kalender.html", include_str!("../templates/termine/kalender.html")),
    ("termine/tag.html", include_str!("../templates/termine/tag.html")),
    ("termine/vergeben.html", include_str!("../templates/termine/vergeben.html")),
    ("termine/termin.html", include_str!("../templates/termine/termin.html")),
    ("termine/verwalten.html", include_str!("../templates/termine/verwalten.html")),
    ("termine/bestaetigen.html", include_str!("../templates/termine/bestaetigen.html")),
    ("termine/hinweis.html", include_str!("../templates/termine/hinweis.html")),
    ("konto/antrag.html", include_str!("../templates/konto/antrag.html")),
    ("konto/zurueckziehen.html", include_str!("../templates/konto/zurueckziehen.html")),
    ("konto/anmelden.html", include_str!("../templates/konto/anmelden.html")),
    ("konto/code.html", include_str!("../templates/konto/code.html")),
    ("konto/registrieren.html", include_str!("../templates/konto/registrieren.html")),
    ("konto/hinweis.html", include_str!("../templates/konto/hinweis.html")),
    ("konto/angemeldet.html", include_str!("../templates/konto/angemeldet.html")),
    ("konto/passwort_vergessen.html", include_str!("../templates/konto/passwort_vergessen.html")),
    ("konto/passwort_neu.html", include_str!("../templates/konto/passwort_neu.html")),
    ("konto/start.html", include_str!("../templates/konto/start.html")),
    ("konto/profil.html", include_str!("../templates/konto/profil.html")),
    ("konto/sicherheit.html", include_str!("../templates/konto/sicherheit.html")),
    ("konto/vertrauensniveau.html", include_str!("../templates/konto/vertrauensniveau.html")),
    ("konto/postfach.html", include_str!("../templates/konto/postfach.html")),
    ("konto/nachricht.html", include_str!("../templates/konto/nachricht.html")),
    ("konto/saml_weiter.html", include_str!("../templates/konto/saml_weiter.html")),
    ("verwaltung/formulare.html", include_str!("../templates/verwaltung/formulare.html")),
    ("verwaltung/antraege.html", include_str!("../templates/verwaltung/antraege.html")),
    ("verwaltung/antrag.html", include_str!("../templates/verwaltung/antrag.html")),
    ("verwaltung/schnittstellen.html", include_str!("../templates/verwaltung/schnittstellen.html")),
    ("verwaltung/zahlungen.html", include_str!("../templates/verwaltung/zahlungen.html")),
    ("verwaltung/zahlungen_macros.html", include_str!("../templates/verwaltung/zahlungen_macros.html")),
    ("verwaltung/zahlungen_verbindung.html", include_str!("../templates/verwaltung/zahlungen_verbindung.html")),
    ("verwaltung/zahlungen_einstellungen.html", include_str!("../templates/verwaltung/zahlungen_einstellungen.html")),
    ("verwaltung/zahlungen_kontoauszuege.html", include_str!("../templates/verwaltung/zahlungen_kontoauszuege.html")),
    ("verwaltung/zahlungen_abgleich.html", include_str!("../templates/verwaltung/zahlungen_abgleich.html")),
    ("verwaltung/zahlungen_codes.html", include_str!("../templates/verwaltung/zahlungen_codes.html")),
    ("verwaltung/zahlungen_brief.html", include_str!("../templates/verwaltung/zahlungen_brief.html")),
    ("verwaltung/zahlungen_forderungen.html", include_str!("../templates/verwaltung/zahlungen_forderungen.html")),
    ("verwaltung/zahlungen_antrag.html", include_str!("../templates/verwaltung/zahlungen_antrag.html")),
    ("verwaltung/formular.html", include_str!("../templates/verwaltung/formular.html")),
    ("verwaltung/formular_feld.html", include_str!("../templates/verwaltung/formular_feld.html")),
    ("verwaltung/formular_gruppe.html", include_str!("../templates/verwaltung/formular_gruppe.html")),
    ("verwaltung/formular_regeln.html", include_str!("../templates/verwaltung/formular_regeln.html")),
    ("verwaltung/formular_vorschau.html", include_str!("../templates/verwaltung/formular_vorschau.html")),
    ("verwaltung/formular_versionen.html", include_str!("../templates/verwaltung/formular_versionen.html")),
    ("verwaltung/bibliothek.html", include_str!("../templates/verwaltung/bibliothek.html")),
    ("verwaltung/bibliothek_eintrag.html", include_str!("../templates/verwaltung/bibliothek_eintrag.html")),
];

/// Escapes `& < > " '` only. minijinja's default also escapes `/`, which is safe but
/// turns every URL in the page source into `&#x2f;` soup.
fn html_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if !matches!(state.auto_escape(), minijinja::AutoEscape::Html) || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_undefined() || value.is_none() {
        return Ok(());
    }
    match value.as_str() {
        Some(text) => write_escaped(out, text)?,
        None => write_escaped(out, &value.to_string())?,
    }
    Ok(())
}

/// Appends `text` with `& < > " '` escaped, as the templates escape values.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = write_escaped(out, text);
}

fn write_escaped(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    out.write_str(&text[last..])
}

#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    /// Whether the operator replaced any built-in template.
    overridden: bool,
}

fn override_path(dir: &std::path::Path, name: &str) -> Option<PathBuf> {
    // Only plain file names of known templates: no path traversal through a name.
    BUILTIN.iter().any(|(n, _)| *n == name).then(|| dir.join(name))
}

impl Templates {
    /// Builds the environment and compiles every template once, so a broken
    /// override fails at start-up rather than on a citizen's request.
    ///
    /// # Errors
    /// When a template does not compile.
    pub fn new(override_dir: Option<PathBuf>) -> Result<Self, minijinja::Error> {
        let overridden = override_dir
            .as_deref()
            .is_some_and(|d| BUILTIN.iter().any(|(n, _)| override_path(d, n).is_some_and(|p| p.is_file())));
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        // `/static/…?v={{ asset_version }}`: cached for a year, reloaded after an update.
        env.add_global("asset_version", crate::assets::ASSET_VERSION);
        // Tag lines leave no blank lines behind: smaller pages, same markup.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_loader(move |name| {
            if let Some(path) = override_dir.as_deref().and_then(|d| override_path(d, name))
                && path.is_file()
            {
                return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "cannot read template override")
                        .with_source(e)
                });
            }
            Ok(BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_owned()))
        });
        for (name, _) in BUILTIN {
            env.get_template(name)?;
        }
        Ok(Self { env: Arc::new(env), overridden })
    }

    /// Whether the operator replaced any built-in template.
    #[must_use]
    pub fn has_overrides(&self) -> bool {
        self.overridden
    }

    /// # Errors
    /// When rendering fails (e.g. an override refers to a missing value).
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_but_keeps_urls_readable() {
        let t = Templates::new(None).unwrap();
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template("x.html", "<a href=\"{{ u }}\">{{ t }}</a>{{ n }}").unwrap();
        let out = env
            .get_template("x.html")
            .unwrap()
            .render(minijinja::context! { u => "/o/a/b?x=1&y=2", t => "<script>'\"", n => () })
            .unwrap();
        assert_eq!(out, "<a href=\"/o/a/b?x=1&amp;y=2\">&lt;script&gt;&#39;&quot;</a>");
        drop(t);
    }

    #[test]
    fn an_override_of_any_builtin_template_is_noticed() {
        let dir = std::env::temp_dir().join(format!("amtsweg-templates-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("antrag")).unwrap();
        assert!(!Templates::new(Some(dir.clone())).unwrap().has_overrides(), "an empty directory");
        std::fs::write(dir.join("unbekannt.html"), "x").unwrap();
        assert!(!Templates::new(Some(dir.clone())).unwrap().has_overrides(), "not a built-in name");
        std::fs::write(dir.join("antrag/eingang.html"), "{{ receipt_number|lower }}").unwrap();
        assert!(Templates::new(Some(dir.clone())).unwrap().has_overrides());
        assert!(!Templates::new(None).unwrap().has_overrides());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
