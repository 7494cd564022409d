//! The message `FVDaten.SGOAblegen.0605`: Kopf, the Vorgang with its Dokumente and the
//! application's data in `AnwendungsspezifischeErweiterung`, written with quick-xml.

use super::documents::Doc;
use super::ids::{derived_uuid, xs_date, xs_date_time};
use super::{
    ERWEITERUNG_DOKUMENT, ERWEITERUNG_VORGANG, LIST_DATEIFORMAT, LIST_MEDIUM, LIST_NACHRICHTENTYP, MEDIUM_ELEKTRONISCH,
    NACHRICHTENTYP, NACHRICHTENTYP_CODE, NACHRICHTENTYP_NAME, NAMESPACE, SYSTEM, XdomeaError,
};
use crate::package::Package;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::borrow::Cow;
use uuid::Uuid;

pub(super) fn message(
    p: &Package,
    key: &str,
    prozess_id: Uuid,
    created: jiff::Timestamp,
    submitted: jiff::Timestamp,
    docs: &[Doc<'_>],
) -> Result<String, XdomeaError> {
    let mut x = Xml::new();
    x.decl()?;
    x.open_with(NACHRICHTENTYP, &[("xmlns:xdomea", NAMESPACE)])?;

    x.open("Kopf")?;
    x.leaf("ProzessID", &prozess_id.to_string())?;
    x.code("Nachrichtentyp", LIST_NACHRICHTENTYP, NACHRICHTENTYP_CODE, Some(NACHRICHTENTYP_NAME))?;
    x.leaf("Erstellungszeitpunkt", &xs_date_time(created))?;
    x.kontakt("Absender", p)?;
    x.kontakt("Empfaenger", p)?;
    x.open("SendendesSystem")?;
    x.leaf("Produktname", SYSTEM)?;
    x.leaf("Version", env!("CARGO_PKG_VERSION"))?;
    x.close("SendendesSystem")?;
    x.leaf("Empfangsbestaetigung", "0")?;
    x.leaf("Importbestaetigung", "1")?;
    x.leaf("Erstellerkennung", "amtsweg")?;
    x.leaf("Stapel", "0")?;
    x.close("Kopf")?;

    x.open("SchriftgutobjektZumAblegen")?;
    x.leaf("FachverfahrenObjektID", &p.receipt_number)?;
    x.open("Schriftgutobjekt")?;
    x.open("Vorgang")?;
    x.open("Identifikation")?;
    x.leaf("ID", &derived_uuid(key, "vorgang").to_string())?;
    x.close("Identifikation")?;
    x.open("AllgemeineMetadaten")?;
    x.leaf("Betreff", &format!("{} – {}", p.form.title, p.receipt_number))?;
    x.leaf("Kennzeichen", &p.receipt_number)?;
    x.leaf(
        "Bemerkung",
        &format!("Online eingereicht über {SYSTEM}; Leistung {} (LeiKa {})", p.form.leistung_name, p.form.leika),
    )?;
    x.code("Medium", LIST_MEDIUM, MEDIUM_ELEKTRONISCH, None)?;
    x.close("AllgemeineMetadaten")?;
    x.open("HistorienProtokollInformation")?;
    x.leaf("Akteur", SYSTEM)?;
    x.leaf("DatumUhrzeit", &xs_date_time(submitted))?;
    x.leaf("Aktion", &format!("Antrag online eingereicht, Eingangsnummer {}", p.receipt_number))?;
    x.close("HistorienProtokollInformation")?;

    for (n, d) in docs.iter().enumerate() {
        x.dokument(p, d, n + 1, submitted)?;
    }

    let submitted_s = xs_date_time(submitted);
    let version = p.form.version.to_string();
    let zahlung = p.payment.as_ref().map(zahlung_felder).unwrap_or_default();
    let mut felder: Vec<(&str, &str, &str)> = vec![
        ("Eingangsnummer", "Eingangsnummer des Antrags", p.receipt_number.as_str()),
        ("Eingangszeitpunkt", "Zeitpunkt des Eingangs (UTC)", submitted_s.as_str()),
        ("Formular", "Kennung des Formulars", p.form.slug.as_str()),
        ("Formularversion", "Version des Formulars", version.as_str()),
        ("LeiKa", "LeiKa-Schlüssel der Leistung", p.form.leika.as_str()),
        ("Leistung", "Name der Leistung", p.form.leistung_name.as_str()),
        ("ARS", "Amtlicher Regionalschlüssel der Behörde", p.authority.ars.as_str()),
    ];
    if let Some(ags) = &p.authority.ags {
        felder.push(("AGS", "Amtlicher Gemeindeschlüssel der Behörde", ags));
    }
    felder.push((
        "Datenpruefsumme",
        "SHA-256 über die Antragsdaten und Anlagen (wie auf der Eingangsbestätigung)",
        &p.data_hash,
    ));
    for (feld, beschreibung, wert) in &zahlung {
        felder.push((feld, beschreibung, wert.as_str()));
    }
    x.erweiterung(ERWEITERUNG_VORGANG, "Amtsweg Antrag", &felder)?;

    x.close("Vorgang")?;
    x.close("Schriftgutobjekt")?;
    x.close("SchriftgutobjektZumAblegen")?;
    x.close(NACHRICHTENTYP)?;
    x.finish()
}

/// The payment as fields of the Vorgang's extension: Kassenzeichen, state, amount
/// and paid amount in euro (decimal point), and when it was paid.
fn zahlung_felder(z: &crate::package::PackagePayment) -> Vec<(&'static str, &'static str, String)> {
    use amtsweg_domain::payment::Cents;
    let stand = match z.status.as_str() {
        "BOOKED" => "bezahlt",
        "FAILED" => "fehlgeschlagen",
        "CANCELED" => "abgebrochen",
        _ => "offen",
    };
    let mut v = vec![
        ("Zahlungsart", "Art der Zahlung (vorab, rechnung, vor_ort, forderung)", z.mode.clone()),
        ("Kassenzeichen", "Kassenzeichen der Gebühr", z.kassenzeichen.clone()),
        ("Zahlungsstand", "Stand der Zahlung (offen, bezahlt, fehlgeschlagen, abgebrochen)", stand.to_owned()),
        ("Betrag", "Zu zahlender Betrag in Euro", Cents(z.amount_cents).decimal()),
        ("BezahlterBetrag", "Bezahlter Betrag in Euro", Cents(z.paid_cents).decimal()),
    ];
    if !z.rf_reference.is_empty() {
        v.push(("RFReferenz", "Strukturierte Gläubigerreferenz (ISO 11649)", z.rf_reference.clone()));
    }
    if !z.payment_method.is_empty() {
        v.push(("Zahlweg", "Zahlweg beim Bezahldienst", z.payment_method.clone()));
    }
    if !z.transaction_id.is_empty() {
        v.push(("Transaktion", "Transaktionskennung des Bezahldienstes", z.transaction_id.clone()));
    }
    if let Some(t) = z.paid_at_ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()) {
        v.push(("BezahltAm", "Zeitpunkt der Zahlung (UTC)", xs_date_time(t)));
    }
    v
}

/// A small layer over quick-xml's writer: every element in the xdomea namespace, all text
/// escaped and stripped of characters XML 1.0 cannot carry.
struct Xml {
    w: Writer<Vec<u8>>,
}

fn xml_err(e: std::io::Error) -> XdomeaError {
    XdomeaError::Xml(e.to_string())
}

impl Xml {
    fn new() -> Self {
        Self { w: Writer::new_with_indent(Vec::new(), b' ', 2) }
    }

    fn decl(&mut self) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(xml_err)
    }

    fn open(&mut self, name: &str) -> Result<(), XdomeaError> {
        self.open_with(name, &[])
    }

    fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), XdomeaError> {
        let mut start = BytesStart::new(format!("xdomea:{name}"));
        for (k, v) in attrs {
            start.push_attribute((*k, xml_safe(v).as_ref()));
        }
        self.w.write_event(Event::Start(start)).map_err(xml_err)
    }

    fn close(&mut self, name: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::End(BytesEnd::new(format!("xdomea:{name}")))).map_err(xml_err)
    }

    fn text(&mut self, text: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Text(BytesText::new(&xml_safe(text)))).map_err(xml_err)
    }

    fn leaf(&mut self, name: &str, text: &str) -> Result<(), XdomeaError> {
        self.open(name)?;
        self.text(text)?;
        self.close(name)
    }

    /// An element without namespace (the `code` and `name` children of XÖV codes).
    fn unqualified(&mut self, name: &str, text: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Start(BytesStart::new(name))).map_err(xml_err)?;
        self.text(text)?;
        self.w.write_event(Event::End(BytesEnd::new(name))).map_err(xml_err)
    }

    /// An XÖV code: `listURI`/`listVersionID` attributes, `code` and optionally `name`.
    fn code(&mut self, name: &str, list: (&str, &str), code: &str, code_name: Option<&str>) -> Result<(), XdomeaError> {
        self.open_with(name, &[("listURI", list.0), ("listVersionID", list.1)])?;
        self.unqualified("code", code)?;
        if let Some(n) = code_name {
            self.unqualified("name", n)?;
        }
        self.close(name)
    }

    /// Absender/Empfänger: the authority, with its AGS as Behördenkennung (prefix `ags:`) if it
    /// has one.
    fn kontakt(&mut self, element: &str, p: &Package) -> Result<(), XdomeaError> {
        self.open(element)?;
        if let Some(ags) = p.authority.ags.as_deref().filter(|a| !a.trim().is_empty()) {
            self.open("Behoerdenkennung")?;
            self.open("Behoerdenschluessel")?;
            self.unqualified("code", ags.trim())?;
            self.close("Behoerdenschluessel")?;
            self.open("Praefix")?;
            self.unqualified("code", "ags:")?;
            self.close("Praefix")?;
            self.close("Behoerdenkennung")?;
        }
        self.open("Institution")?;
        self.leaf("Name", &p.authority.name)?;
        self.close("Institution")?;
        self.close(element)
    }

    fn dokument(&mut self, p: &Package, d: &Doc<'_>, n: usize, submitted: jiff::Timestamp) -> Result<(), XdomeaError> {
        self.open("Dokument")?;
        self.open("Identifikation")?;
        self.leaf("ID", &d.id.to_string())?;
        self.leaf("NummerImUebergeordnetenContainer", &n.to_string())?;
        self.close("Identifikation")?;
        self.open("AllgemeineMetadaten")?;
        self.leaf("Betreff", &d.betreff)?;
        self.leaf("Kennzeichen", &p.receipt_number)?;
        self.code("Medium", LIST_MEDIUM, MEDIUM_ELEKTRONISCH, None)?;
        self.close("AllgemeineMetadaten")?;
        let date = xs_date(submitted);
        self.leaf(if d.incoming { "Posteingangsdatum" } else { "DatumDesSchreibens" }, &date)?;
        self.leaf("Typ", d.typ)?;
        self.open("Version")?;
        self.leaf("Nummer", "1")?;
        self.open("Format")?;
        self.open_with("Name", &[("listURI", LIST_DATEIFORMAT.0), ("listVersionID", LIST_DATEIFORMAT.1)])?;
        self.unqualified("code", d.format.code)?;
        self.close("Name")?;
        if let Some(other) = &d.format.sonstiger_name {
            self.leaf("SonstigerName", other)?;
        }
        self.leaf("Version", &d.format.version)?;
        self.open("Primaerdokument")?;
        self.leaf("Dateiname", &d.file_name)?;
        self.leaf("DateinameOriginal", &d.original_name)?;
        if let Some(e) = d.ersteller {
            self.leaf("Ersteller", e)?;
        }
        self.leaf("DatumUhrzeit", &xs_date_time(submitted))?;
        self.close("Primaerdokument")?;
        self.close("Format")?;
        self.close("Version")?;
        let size = d.bytes.len().to_string();
        let mut felder = vec![
            ("SHA-256", "SHA-256-Prüfsumme des Primärdokuments (hex)", d.sha256.as_str()),
            ("Dateigroesse", "Größe des Primärdokuments in Bytes", size.as_str()),
            ("Medientyp", "Medientyp (MIME) des Primärdokuments", d.media_type.as_str()),
        ];
        if let Some(field) = d.field {
            felder.push(("Formularfeld", "Formularfeld, zu dem die Datei hochgeladen wurde", field));
        }
        self.erweiterung(ERWEITERUNG_DOKUMENT, "Amtsweg Primärdokument", &felder)?;
        self.close("Dokument")
    }

    /// `AnwendungsspezifischeErweiterung` with one `Feld` (Name, Beschreibung, Wert) per entry.
    fn erweiterung(&mut self, kennung: &str, name: &str, felder: &[(&str, &str, &str)]) -> Result<(), XdomeaError> {
        self.open("AnwendungsspezifischeErweiterung")?;
        self.leaf("Kennung", kennung)?;
        self.leaf("Name", name)?;
        for (feld, beschreibung, wert) in felder {
            self.open("Feld")?;
            self.leaf("Name", feld)?;
            self.leaf("Beschreibung", beschreibung)?;
            self.leaf("Wert", wert)?;
            self.close("Feld")?;
        }
        self.close("AnwendungsspezifischeErweiterung")
    }

    fn finish(self) -> Result<String, XdomeaError> {
        let mut bytes = self.w.into_inner();
        bytes.push(b'\n');
        String::from_utf8(bytes).map_err(|e| XdomeaError::Xml(e.to_string()))
    }
}

/// Replaces characters XML 1.0 cannot carry even escaped (most C0 controls, U+FFFE/U+FFFF)
/// with U+FFFD; escaping of `<>&"'` is done by quick-xml.
fn xml_safe(s: &str) -> Cow<'_, str> {
    fn ok(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    }
    if s.chars().all(ok) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '\u{FFFD}' }).collect())
    }
}
