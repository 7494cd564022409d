//! xdomea 3.0 export: hands one submission to a document management system (DMS, e-Akte)
//! as an xdomea message in the standard ZIP container, either written to a DMS import
//! directory or POSTed to an HTTP endpoint. The directory is the operator's
//! ([`XdomeaDirs`], configuration file only); the endpoint passes the outbound-URL policy. Authorities without FIT-Connect can still file
//! every application in their e-Akte without retyping anything.
//!
//! **Message type: `FVDaten.SGOAblegen.0605`.** It is the message with which a Fachverfahren
//! (here: the portal) hands a new, finished Schriftgutobjekt to the DMS for filing ("Übergabe
//! von neuen Schriftgutobjekten an das DMS zur Ablage"); `SGOErstellen.0604` is meant for
//! interactive creation (it opens the object in the DMS), and `Abgabe.Abgabe.0401` for transfer
//! of responsibility between two DMS.
//!
//! **Content:** one Vorgang (Betreff = form title and Eingangsnummer, Kennzeichen = Eingangsnummer)
//! with the Dokumente: the Eingangsbestätigung (receipt PDF), every attachment, the answers as
//! JSON and as plain text. The container `<ProzessID>_FVDaten.SGOAblegen.0605.zip` holds the
//! message `<ProzessID>_FVDaten.SGOAblegen.0605.xml` and the Primärdokumente, each named
//! `<UUID>_<safe name>` exactly as referenced by `Primaerdokument/Dateiname`; the original file
//! name goes to `DateinameOriginal`. xdomea has no field for a document's checksum or size, so
//! both (and the media type) travel per Dokument in an `AnwendungsspezifischeErweiterung`.
//!
//! **Repeat deliveries:** every UUID (ProzessID, Vorgang, Dokumente) is derived from the
//! package's idempotency key, so a retry carries the same ProzessID and file name (the DMS can
//! recognise it, and [`write_to_dir`] never creates a second file) and, built with the same
//! `created_at_ms` (e.g. the outbox entry's creation time), the very same bytes.

mod config;
mod container;
mod dirs;
mod documents;
mod ids;
mod message;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
mod transport;

pub use config::{XdomeaConfig, XdomeaTarget};
pub use container::build;
pub use dirs::XdomeaDirs;
pub use transport::{deliver, post, write_to_dir};

use std::path::PathBuf;

/// The xdomea 3.0.0 namespace.
pub const NAMESPACE: &str = "urn:xoev-de:xdomea:schema:3.0.0";
/// Name of the message (root element) and suffix of the container's file names.
pub const NACHRICHTENTYP: &str = "FVDaten.SGOAblegen.0605";
const NACHRICHTENTYP_CODE: &str = "0605";
const NACHRICHTENTYP_NAME: &str = "FVDaten.SGOAblegen";

const LIST_NACHRICHTENTYP: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:nachrichtentyp", "2.0");
const LIST_MEDIUM: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:medium", "1.0");
const LIST_DATEIFORMAT: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:dateiformat", "2.0");
/// Medium code 001: "Elektronisch".
const MEDIUM_ELEKTRONISCH: &str = "001";
/// Who we are in `Erstellerkennung`, `Akteur`, `Ersteller` and `SendendesSystem`.
const SYSTEM: &str = "Amtsweg";
const ERWEITERUNG_VORGANG: &str = "urn:amtsweg:xdomea:antrag";
const ERWEITERUNG_DOKUMENT: &str = "urn:amtsweg:xdomea:primaerdokument";

/// Errors of the xdomea connector.
#[derive(Debug, thiserror::Error)]
pub enum XdomeaError {
    #[error("xdomea: the package cannot be exported: {0}")]
    Package(String),
    #[error("xdomea: cannot write the XML message: {0}")]
    Xml(String),
    #[error("xdomea: cannot build the ZIP container: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("xdomea: I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("xdomea: HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("xdomea: the endpoint answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("xdomea: invalid configuration: {0}")]
    Config(String),
    #[error("xdomea: the URL is refused: {0}")]
    Refused(amtsweg_outbound::Refusal),
    #[error("xdomea: no folder is configured for this authority ([handoff.xdomea])")]
    NoDirectory,
    #[error("xdomea: {} leads outside the configured folder (symbolic link?)", .0.display())]
    Escape(PathBuf),
}

impl XdomeaError {
    /// Whether a later attempt may succeed: I/O and transport errors, HTTP 408, 429 and 5xx.
    /// Broken packages, configuration errors and other HTTP answers need a human.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { .. } => true,
            Self::Http(e) => !e.is_builder() && !e.is_redirect(),
            Self::Status { status, .. } => *status == 408 || *status == 429 || (500..=599).contains(status),
            Self::Package(_)
            | Self::Xml(_)
            | Self::Zip(_)
            | Self::Config(_)
            | Self::Refused(_)
            | Self::NoDirectory
            | Self::Escape(_) => false,
        }
    }

    /// What staff may read (German): the kind of trouble, never paths, addresses or
    /// the receiver's answer — those are in the log.
    #[must_use]
    pub fn staff_message(&self) -> String {
        use amtsweg_outbound::Failure;
        match self {
            Self::Package(_) | Self::Xml(_) | Self::Zip(_) => {
                "xdomea: Das Paket ließ sich nicht erstellen (Einzelheiten im Protokoll des Servers).".into()
            }
            Self::Io { .. } => "xdomea: Ablage fehlgeschlagen: Das Ablageverzeichnis fehlt oder ist nicht \
                                beschreibbar (Einzelheiten im Protokoll des Servers)."
                .into(),
            Self::Escape(_) => "xdomea: Ablage verweigert: Das Ablageverzeichnis der Behörde führt aus dem \
                                eingerichteten Verzeichnis hinaus."
                .into(),
            Self::NoDirectory => {
                "xdomea: Für diese Behörde hat der Betrieb kein Ablageverzeichnis eingerichtet.".into()
            }
            Self::Config(_) => "xdomea: Die Einstellungen der Verbindung sind unvollständig oder falsch.".into(),
            Self::Refused(r) => format!("xdomea: {}", r.german()),
            Self::Http(e) => format!("xdomea: {}", Failure::of(e).german()),
            Self::Status { status, .. } => format!("xdomea: {}", Failure::of_status(*status).german()),
        }
    }
}

/// A finished export: the ZIP container and, for logs and tests, the message inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// `<ProzessID>_FVDaten.SGOAblegen.0605.zip`.
    pub file_name: String,
    pub zip: Vec<u8>,
    /// The message XML as contained in the ZIP.
    pub xml: String,
}
