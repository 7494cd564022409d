//! Bürgerkonto storage: citizen accounts, linked identities, profile values with
//! their source, one-time links, single-sign-on codes and the Postfach. Every read
//! and write of personal data names the citizen it belongs to.
//!
//! One file per subject: [`citizens`] (accounts, e-mail confirmation, password,
//! second factor, one-time links), [`identities`] (identities at ID providers,
//! OIDC/SAML sign-ins in flight and the assertion replay cache), [`profile`]
//! (profile values and where they came from), [`sso`] (single-sign-on codes
//! between member hosts), [`postfach`] (threads, messages, attachments) and
//! [`data_keys`] (the wrapped keys personal data is encrypted with). This file
//! keeps the row shape several of them share.

mod citizens;
mod data_keys;
mod identities;
mod postfach;
mod profile;
mod sso;

pub use citizens::Citizen;
pub use identities::{AuthRequest, LinkedIdentity};
pub use postfach::{Attachment, Direction, Message, NewAttachment, Thread};
pub use profile::ProfileValue;
pub use sso::SsoGrant;

#[derive(sqlx::FromRow)]
struct CountRow {
    n: i64,
}
