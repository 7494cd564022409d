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

    /// # Errors
    /// When the address is invalid or the server refuses.
    pub async fn send(&self, m: &EmailMessage) -> Result<(), MailError> {
        match self {
            Self::Log => {
                tracing::info!(to = %m.to, subject = %m.subject, body = %m.body, "e-mail (log transport, not sent)");
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = m.to.parse().map_err(|_| MailError::Address(m.to.clone()))?;
                let msg = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(m.subject.clone())
                    .header(lettre::message::header::ContentType::TEXT_PLAIN)
                    .body(m.body.clone())
                    .map_err(|e| MailError::Build(e.to_string()))?;
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
        use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
        match self {
            Self::Log => {
                let names: Vec<&str> = files.iter().map(|f| f.name).collect();
                tracing::info!(to = %m.to, subject = %m.subject, files = ?names, "e-mail with files (log transport, not sent)");
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = m.to.parse().map_err(|_| MailError::Address(m.to.clone()))?;
                let mut body = MultiPart::mixed().singlepart(SinglePart::plain(m.body.clone()));
                for f in files {
                    let ct = ContentType::parse(f.content_type).map_err(|e| MailError::Build(e.to_string()))?;
                    body = body.singlepart(Attachment::new(f.name.to_owned()).body(f.bytes.to_vec(), ct));
                }
                let msg = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(m.subject.clone())
                    // Stable per delivery: a repeat after a lost answer carries the same
                    // Message-ID, which mail systems use to drop duplicates.
                    .message_id(Some(message_id.to_owned()))
                    .multipart(body)
                    .map_err(|e| MailError::Build(e.to_string()))?;
                transport.send(msg).await.map(|_| ()).map_err(|e| MailError::Smtp(e.to_string()))
            }
        }
    }
}

/// A file attached to a mail.
#[derive(Debug, Clone, Copy)]
pub struct MailFile<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}
