//! What staff may learn about a failed request: a class and a short German text,
//! never the receiver's answer, addresses or file-system details (those go to the
//! log). Receivers are outside our control; echoing their answers would let anyone who
//! can set a URL read internal services through the back office.

use crate::Refusal;
use std::error::Error;

/// A classified failure of an outbound request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The policy refused the target (before or while connecting).
    NotAllowed,
    Timeout,
    /// Certificate or handshake trouble.
    Tls,
    /// Refused connection, unknown name, reset.
    Unreachable,
    /// The receiver answered with a redirect, which is not followed.
    Redirect(u16),
    /// Any other non-2xx answer.
    Status(u16),
    Other,
}

impl Failure {
    /// Classifies a transport error of reqwest (or anything with such a cause).
    #[must_use]
    pub fn of(e: &(dyn Error + 'static)) -> Self {
        let mut text = String::new();
        let mut cur: Option<&(dyn Error + 'static)> = Some(e);
        while let Some(c) = cur {
            if c.downcast_ref::<Refusal>().is_some() {
                return Self::NotAllowed;
            }
            if let Some(r) = c.downcast_ref::<reqwest::Error>()
                && r.is_timeout()
            {
                return Self::Timeout;
            }
            text.push_str(&c.to_string().to_ascii_lowercase());
            text.push(' ');
            cur = c.source();
        }
        if text.contains("timed out") || text.contains("timeout") {
            Self::Timeout
        } else if ["certificate", "tls", "ssl", "handshake"].iter().any(|w| text.contains(w)) {
            Self::Tls
        } else if e.downcast_ref::<reqwest::Error>().is_some_and(|r| r.is_connect() || r.is_request()) {
            Self::Unreachable
        } else {
            Self::Other
        }
    }

    /// The class of an HTTP answer that is not a success.
    #[must_use]
    pub fn of_status(status: u16) -> Self {
        if (300..400).contains(&status) { Self::Redirect(status) } else { Self::Status(status) }
    }

    /// The text staff see (German).
    #[must_use]
    pub fn german(&self) -> String {
        match self {
            Self::NotAllowed => {
                "Ziel nicht erlaubt: Die Adresse führt in ein Netz, das der Betrieb nicht freigegeben hat.".into()
            }
            Self::Timeout => "Zeitüberschreitung: Das Ziel hat nicht rechtzeitig geantwortet.".into(),
            Self::Tls => {
                "TLS-Fehler: Die gesicherte Verbindung kam nicht zustande (Zertifikat des Ziels prüfen).".into()
            }
            Self::Unreachable => {
                "Ziel nicht erreichbar: Die Verbindung wurde abgelehnt oder der Name ist unbekannt.".into()
            }
            Self::Redirect(s) => format!(
                "Weiterleitung nicht erlaubt: Das Ziel leitet um (HTTP {s}); bitte die endgültige Adresse eintragen."
            ),
            Self::Status(s) if *s >= 500 => format!("Antwort 5xx: Das Ziel meldet einen eigenen Fehler (HTTP {s})."),
            Self::Status(s) => format!("Antwort 4xx: Das Ziel hat die Übergabe abgelehnt (HTTP {s})."),
            Self::Other => "Übertragungsfehler: Die Übergabe ist unterwegs gescheitert.".into(),
        }
    }
}

/// An error with its causes, for the log.
#[must_use]
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
