//! The pages every authority must have (BITV 2.0 § 4 and § 7, DDG § 5, DSGVO Art. 13),
//! with built-in templates filled from the authority's data until an editor adapts them.

use crate::authority::Authority;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    LeichteSprache,
    Gebaerdensprache,
    Barrierefreiheit,
    Impressum,
    Datenschutz,
}

impl PageKind {
    pub const ALL: [Self; 5] =
        [Self::LeichteSprache, Self::Gebaerdensprache, Self::Barrierefreiheit, Self::Impressum, Self::Datenschutz];

    /// The URL name (`/o/<slug>/seiten/<kind>`).
    #[must_use]
    pub fn slug(self) -> &'static str {
        match self {
            Self::LeichteSprache => "leichte-sprache",
            Self::Gebaerdensprache => "gebaerdensprache",
            Self::Barrierefreiheit => "barrierefreiheit",
            Self::Impressum => "impressum",
            Self::Datenschutz => "datenschutz",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// Link text in the footer.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::LeichteSprache => "Leichte Sprache",
            Self::Gebaerdensprache => "Gebärdensprache",
            Self::Barrierefreiheit => "Barrierefreiheit",
            Self::Impressum => "Impressum",
            Self::Datenschutz => "Datenschutz",
        }
    }

    fn template(self) -> (&'static str, &'static str) {
        match self {
            Self::LeichteSprache => ("Informationen in Leichter Sprache", LEICHTE_SPRACHE),
            Self::Gebaerdensprache => ("Deutsche Gebärdensprache: Dolmetschung für Ihren Termin", GEBAERDENSPRACHE),
            Self::Barrierefreiheit => ("Erklärung zur Barrierefreiheit", BARRIEREFREIHEIT),
            Self::Impressum => ("Impressum", IMPRESSUM),
            Self::Datenschutz => ("Datenschutzerklärung", DATENSCHUTZ),
        }
    }

    /// Title and Markdown body of the built-in template, filled for `a`.
    #[must_use]
    pub fn default_content(self, a: &Authority) -> (String, String) {
        let (title, body) = self.template();
        let fill = |s: &str| {
            s.replace("{name}", &a.name)
                .replace("{street}", &a.street)
                .replace("{plz}", &a.plz)
                .replace("{city}", &a.city)
                .replace("{phone}", if a.phone.is_empty() { "–" } else { &a.phone })
                .replace("{email}", if a.email.is_empty() { "–" } else { &a.email })
        };
        (fill(title), fill(body))
    }
}

const LEICHTE_SPRACHE: &str = "Hier ist die Internet-Seite von {name}.

Auf dieser Seite finden Sie Informationen zu Anträgen.
Ein Antrag ist ein Formular.
Mit einem Antrag bitten Sie das Amt um etwas.
Zum Beispiel um einen neuen Ausweis.

So finden Sie Ihren Antrag:

- Schreiben Sie oben in das Feld **Suche**, was Sie brauchen.
- Oder klicken Sie auf **Leistungen A–Z**.
  Dort stehen alle Anträge nach dem Alphabet.

Sie wissen nicht, welches Amt für Sie zuständig ist?
Dann schreiben Sie oben Ihren Wohnort.
Wir zeigen Ihnen dann das richtige Amt.

Sie brauchen Hilfe?
Dann rufen Sie uns an: {phone}
Oder schreiben Sie uns eine E-Mail: {email}

Sie können auch zu uns kommen:
{name}, {street}, {plz} {city}";

const GEBAERDENSPRACHE: &str = "Ein Video in Deutscher Gebärdensprache (DGS) bietet {name} in diesem Portal derzeit nicht an. Sie können aber in Gebärdensprache mit uns sprechen: Für einen Termin bei uns bestellen wir auf Ihren Wunsch eine Gebärdensprachdolmetscherin oder einen Gebärdensprachdolmetscher.

**So bitten Sie um eine Dolmetschung**

- Schreiben Sie uns eine E-Mail an {email}.
- Nennen Sie Ihr Anliegen, zum Beispiel „Personalausweis beantragen“, und zwei oder drei Tage, an denen Sie kommen können.
- Schreiben Sie, welche Hilfe Sie brauchen: Deutsche Gebärdensprache, lautsprachbegleitende Gebärden oder Schriftdolmetschung.
- Bitte schreiben Sie uns möglichst zwei Wochen vor dem Termin. Dann bleibt Zeit, eine Dolmetscherin oder einen Dolmetscher zu finden.

Wir antworten Ihnen per E-Mail und nennen Ihnen den Termin. Für Ihr Anliegen bei uns müssen Sie die Dolmetschung nicht selbst bezahlen.

**Andere Wege zu uns**

Mit einem Vermittlungsdienst für Gebärdensprache erreichen Sie uns auch telefonisch: {phone}. Unsere Anschrift: {name}, {street}, {plz} {city}.

**Das Portal ohne Video benutzen**

Über die Suche oder die Liste der Leistungen von A bis Z finden Sie, was Sie bei uns beantragen können. Wenn Sie Ihren Wohnort angeben, zeigen wir Ihnen, welche Behörde für Sie zuständig ist.";

const BARRIEREFREIHEIT: &str = "{name} ist bemüht, das Portal im Einklang mit dem Niedersächsischen Behindertengleichstellungsgesetz (NBGG) und der Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) barrierefrei zugänglich zu machen.

**Stand der Vereinbarkeit mit den Anforderungen**

Dieses Portal ist mit den Anforderungen der BITV 2.0 (WCAG 2.1, Stufe AA) weitgehend vereinbar. Die Seiten werden automatisiert mit axe-core geprüft und sind ohne JavaScript und mit der Tastatur bedienbar.

**Nicht barrierefreie Inhalte**

- Verlinkte PDF-Dokumente anderer Stellen sind möglicherweise nicht barrierefrei.
- Es gibt kein Video in Deutscher Gebärdensprache. Auf der Seite „Gebärdensprache“ steht, wie Sie für einen Termin eine Gebärdensprachdolmetschung bekommen.

**Erstellung dieser Erklärung**

Diese Erklärung wurde auf Grundlage einer Selbstbewertung erstellt und wird regelmäßig überprüft.

**Feedback und Kontakt**

Sind Ihnen Mängel beim barrierefreien Zugang aufgefallen? Dann schreiben Sie uns an {email} oder rufen Sie uns an: {phone}. Wir antworten innerhalb von sechs Wochen.

**Schlichtungsverfahren**

Wenn Sie mit unserer Antwort nicht zufrieden sind, können Sie sich an die Schlichtungsstelle nach § 9d NBGG bei der Landesbeauftragten für Menschen mit Behinderungen in Niedersachsen wenden. Das Verfahren ist kostenlos.";

const IMPRESSUM: &str = "**Herausgeber**

{name}
{street}
{plz} {city}

Telefon: {phone}
E-Mail: {email}

{name} ist eine Körperschaft des öffentlichen Rechts. Sie wird gesetzlich vertreten durch ihre Hauptverwaltungsbeamtin oder ihren Hauptverwaltungsbeamten (§ 86 Niedersächsisches Kommunalverfassungsgesetz), erreichbar unter der oben genannten Anschrift.

**Verantwortlich für den Inhalt nach § 18 Abs. 2 MStV**

Die Leitung der Pressestelle von {name}, Anschrift wie oben.

**Technischer Betrieb**

Das Portal wird im Portalverbund des Landkreises mit der Open-Source-Software Amtsweg betrieben.";

const DATENSCHUTZ: &str = "**Verantwortliche Stelle**

{name}, {street}, {plz} {city}, E-Mail: {email}

**Datenschutzbeauftragte Person**

Sie erreichen die behördliche Datenschutzbeauftragte Person unter der oben genannten Anschrift mit dem Zusatz „Datenschutzbeauftragte“.

**Welche Daten wir beim Besuch verarbeiten**

Beim Aufruf einer Seite verarbeitet der Server technisch notwendige Daten (aufgerufene Adresse, Zeitpunkt, technische Kennung der Anfrage). Diese Protokolle dienen der Sicherheit des Betriebs und werden nach spätestens 14 Tagen gelöscht. Wir setzen keine Werkzeuge zur Reichweitenmessung oder Werbung ein.

**Cookies**

Wenn Sie Ihren Wohnort angeben, speichern wir ihn in einem Cookie in Ihrem Browser, damit wir Ihnen die zuständige Stelle zeigen können. Mitarbeitende erhalten beim Anmelden ein Sitzungs-Cookie. Es gibt keine Cookies zu anderen Zwecken.

**Rechtsgrundlage**

Art. 6 Abs. 1 Buchst. e DSGVO in Verbindung mit § 3 Niedersächsisches Datenschutzgesetz (NDSG).

**Ihre Rechte**

Sie haben das Recht auf Auskunft, Berichtigung, Löschung, Einschränkung der Verarbeitung und Widerspruch (Art. 15 bis 21 DSGVO).

**Beschwerde**

Sie können sich bei der Aufsichtsbehörde beschweren: Die Landesbeauftragte für den Datenschutz Niedersachsen, Prinzenstraße 5, 30159 Hannover.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::{Ars, AuthorityKind, Slug};

    #[test]
    fn templates_are_filled_with_the_authority() {
        let a = Authority {
            id: 1,
            slug: Slug::parse("ellerloh").unwrap(),
            name: "Gemeinde Ellerloh".into(),
            kind: AuthorityKind::Gemeinde,
            ags: None,
            ars: Ars::parse("039515401012").unwrap(),
            parent_id: None,
            hosts: vec![],
            street: "Dorfplatz 2".into(),
            plz: "29397".into(),
            city: "Ellerloh".into(),
            phone: String::new(),
            email: "post@ellerloh.example".into(),
            website: String::new(),
            intro: String::new(),
            primary_color: String::new(),
            main_location_id: None,
            logo_key: String::new(),
            logo_type: String::new(),
            footer_links: Vec::new(),
        };
        for k in PageKind::ALL {
            let (title, body) = k.default_content(&a);
            assert!(!title.is_empty());
            assert!(!body.contains('{'), "{k:?} has an unfilled placeholder");
            assert_eq!(PageKind::parse(k.slug()), Some(k));
        }
        assert!(PageKind::Impressum.default_content(&a).1.contains("Dorfplatz 2"));
    }
}
