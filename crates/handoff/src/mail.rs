//! E-mail over SMTP (lettre). Configured in `[mail]`; `transport = "log"` writes mails
//! to the log instead (for demos only: links in mails are secrets).

use amtsweg_store::outbox::EmailMessage;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// `smtp`, `log` (demo) or `none` (mails wait in the outbox).
    pub transport: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
    /// Sent e-mails keep their content (address, names, links) this many days in the
    /// outbox, then only a marker is left; 0 removes it at the next clean-up.
    pub keep_sent_days: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: "none".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            tls: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "Amtsweg <noreply@localhost>".into(),
            keep_sent_days: 7,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("mail transport is not configured")]
    NotConfigured,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: Box<AsyncSmtpTransport<Tokio1Executor>>, from: Mailbox },
    Log,
}

impl Mailer {
    /// Builds the configured transport; `None` for `transport = "none"`.
    ///
    /// # Errors
    /// When the configuration is invalid.
    pub fn from_config(c: &MailConfig) -> Result<Option<Self>, MailError> {
        match c.transport.as_str() {
            "none" => Ok(None),
            "log" => Ok(Some(Self::Log)),
            "smtp" => {
                let builder = match c.tls.as_str() {
                    "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.smtp_host),
                    "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.smtp_host)
                        .map_err(|e| MailError::Smtp(e.to_string()))?,
                    _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.smtp_host)
                        .map_err(|e| MailError::Smtp(e.to_string()))?,
                };
                let mut builder = builder.port(c.smtp_port).timeout(Some(std::time::Duration::from_secs(20)));
                if !c.username.is_empty() {
                    builder = builder.credentials(Credentials::new(c.username.clone(), c.password.clone()));
                }
                let from = c.from.parse().map_err(|_| MailError::Address(c.from.clone()))?;
                Ok(Some(Self::Smtp { transport: Box::new(builder.build()), from }))
            }
            other => Err(MailError::Smtp(format!("unknown mail transport {other:?} (smtp, log, none)"))),
        }
    }

    /// Sends a queued mail, with its attachments (an appointment's `.ics`, a GiroCode
    /// image) when it has any.
    ///
    /// # Errors
    /// When the address is invalid or the server refuses.
    pub async fn send(&self, m: &EmailMessage) -> Result<(), MailError> {
        match self {
            Self::Log => {
                let names: Vec<&str> = m.attachments.iter().map(|a| a.file_name.as_str()).collect();
                tracing::info!(to = %m.to, subject = %m.subject, body = %m.body, files = ?names, "e-mail (log transport, not sent)");
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let msg = build(from, m, &[], None)?;
                transport.send(msg).await.map(|_| ()).map_err(|e| MailError::Smtp(e.to_string()))
            }
        }
    }

    /// Sends a mail with files attached (the hand-off to an office's mailbox);
    /// `message_id` like `<key@host>`.
    ///
    /// # Errors
    /// When the address is invalid or the server refuses.
    pub async fn send_with_files(
        &self,
        m: &EmailMessage,
        files: &[MailFile<'_>],
        message_id: &str,
    ) -> Result<(), MailError> {
        match self {
            Self::Log => {
                let names: Vec<&str> = files.iter().map(|f| f.name).collect();
                tracing::info!(to = %m.to, subject = %m.subject, files = ?names, "e-mail with files (log transport, not sent)");
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let msg = build(from, m, files, Some(message_id))?;
                transport.send(msg).await.map(|_| ()).map_err(|e| MailError::Smtp(e.to_string()))
            }
        }
    }
}

/// The message as it goes out: plain text alone, or `multipart/mixed` with the text
/// first and then the mail's own attachments and `files`.
fn build(
    from: &Mailbox,
    m: &EmailMessage,
    files: &[MailFile<'_>],
    message_id: Option<&str>,
) -> Result<Message, MailError> {
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    let to: Mailbox = m.to.parse().map_err(|_| MailError::Address(m.to.clone()))?;
    let mut builder = Message::builder().from(from.clone()).to(to).subject(m.subject.clone());
    if let Some(id) = message_id {
        // Stable per delivery: a repeat after a lost answer carries the same
        // Message-ID, which mail systems use to drop duplicates.
        builder = builder.message_id(Some(id.to_owned()));
    }
    if m.attachments.is_empty() && files.is_empty() {
        return builder
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| MailError::Build(e.to_string()));
    }
    let parse = |ct: &str| ContentType::parse(ct).map_err(|e| MailError::Build(format!("{ct:?}: {e}")));
    let mut body = MultiPart::mixed().singlepart(SinglePart::plain(m.body.clone()));
    for a in &m.attachments {
        let part = Attachment::new(a.file_name.clone());
        let part = if a.encoding.is_empty() {
            part.body(a.content.clone(), parse(&a.content_type)?)
        } else {
            // Binary (a GiroCode image): queued as base64 text, sent as bytes (lettre
            // picks the transfer encoding).
            let bytes = a.bytes().map_err(|e| MailError::Build(e.to_string()))?;
            part.body(bytes, parse(&a.content_type)?)
        };
        body = body.singlepart(part);
    }
    for f in files {
        body = body.singlepart(Attachment::new(f.name.to_owned()).body(f.bytes.to_vec(), parse(f.content_type)?));
    }
    builder.multipart(body).map_err(|e| MailError::Build(e.to_string()))
}

/// A file attached to a mail.
#[derive(Debug, Clone, Copy)]
pub struct MailFile<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_store::outbox::EmailAttachment;

    fn mail(attachments: Vec<EmailAttachment>) -> EmailMessage {
        EmailMessage {
            to: "erika@example.org".into(),
            subject: "Ihr Termin".into(),
            body: "Guten Tag, Ihr Termin ist gebucht.".into(),
            attachments,
        }
    }

    fn formatted(m: &EmailMessage, files: &[MailFile<'_>]) -> String {
        let from: Mailbox = "Amtsweg <noreply@localhost>".parse().unwrap();
        String::from_utf8(build(&from, m, files, None).unwrap().formatted()).unwrap()
    }

    #[test]
    fn a_mail_without_attachments_stays_plain_text() {
        let out = formatted(&mail(Vec::new()), &[]);
        assert!(out.contains("Content-Type: text/plain; charset=utf-8"), "{out}");
        assert!(!out.contains("multipart"), "{out}");
    }

    #[test]
    fn the_calendar_file_travels_as_an_attachment() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n";
        let m = mail(vec![EmailAttachment {
            file_name: "termin.ics".into(),
            content_type: "text/calendar; method=REQUEST; charset=UTF-8".into(),
            content: ics.into(),
            encoding: String::new(),
        }]);
        let out = formatted(&m, &[]);
        assert!(out.contains("multipart/mixed"), "{out}");
        assert!(out.contains("Ihr Termin ist gebucht."), "{out}");
        assert!(out.contains("Content-Type: text/calendar; method=REQUEST; charset=utf-8"), "{out}");
        assert!(out.contains("Content-Disposition: attachment; filename=\"termin.ics\""), "{out}");
        assert!(out.contains("METHOD:REQUEST"), "{out}");
    }

    #[test]
    fn binary_attachments_are_sent_as_bytes_and_broken_base64_is_refused() {
        let png = [0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff, 0xfe];
        let m = mail(vec![EmailAttachment::binary("girocode.png", "image/png", &png)]);
        let out = formatted(&m, &[]);
        assert!(out.contains("Content-Type: image/png"), "{out}");
        assert!(out.contains("Content-Disposition: attachment; filename=\"girocode.png\""), "{out}");
        assert!(out.contains("Content-Transfer-Encoding: base64"), "{out}");
        // The bytes arrive, not the queued base64 text encoded a second time.
        let part = out.split("filename=\"girocode.png\"").nth(1).unwrap();
        let b64: String =
            part.split("\r\n\r\n").nth(1).unwrap().split("\r\n--").next().unwrap().split_whitespace().collect();
        use base64::Engine as _;
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), png);

        let mut broken = EmailAttachment::binary("girocode.png", "image/png", &png);
        broken.content = "%%% kein base64".into();
        let from: Mailbox = "noreply@localhost".parse().unwrap();
        assert!(matches!(build(&from, &mail(vec![broken]), &[], None), Err(MailError::Build(_))));
    }

    #[test]
    fn files_and_text_attachments_go_together_and_a_bad_type_is_refused() {
        let mut m = mail(vec![EmailAttachment {
            file_name: "termin.ics".into(),
            content_type: "text/calendar; method=CANCEL".into(),
            content: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
            encoding: String::new(),
        }]);
        let files = [MailFile { name: "antrag.json", content_type: "application/json", bytes: b"{}" }];
        let out = formatted(&m, &files);
        assert!(out.contains("termin.ics") && out.contains("antrag.json"), "{out}");
        m.attachments[0].content_type = "kein typ".into();
        let from: Mailbox = "noreply@localhost".parse().unwrap();
        assert!(matches!(build(&from, &m, &[], None), Err(MailError::Build(_))));
    }
}
