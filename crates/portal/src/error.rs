//! The one error type of the application layer. The web edge turns it into a page
//! or a problem detail; messages for people are not errors but `Ok(Err(message))`.

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("not found")]
    NotFound,
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
    #[error("crypto: {0}")]
    Crypto(#[from] crate::keyring::CryptoError),
    #[error("object store: {0}")]
    Objects(String),
    #[error("form definition: {0}")]
    Form(String),
    #[error("internal: {0}")]
    Internal(String),
}
