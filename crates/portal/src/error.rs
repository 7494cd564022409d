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
    /// The disk under the uploaded files is full (the message is for the log): a
    /// passing condition, answered with 503.
    #[error("storage full: {0}")]
    StorageFull(String),
    #[error("form definition: {0}")]
    Form(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl PortalError {
    /// An object store failure, telling a full disk apart from other failures.
    #[must_use]
    pub fn objects(e: &object_store::Error) -> Self {
        if amtsweg_store::space::is_full(e) { Self::StorageFull(e.to_string()) } else { Self::Objects(e.to_string()) }
    }

    /// Whether this is a full disk (of the database or of the files).
    #[must_use]
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::StorageFull(_) => true,
            Self::Store(e) => e.is_storage_full(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PortalError;

    #[test]
    fn an_object_store_out_of_space_is_told_apart_from_other_failures() {
        let generic = |code| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from_raw_os_error(code)),
        };
        assert!(PortalError::objects(&generic(28)).is_storage_full());
        assert!(matches!(PortalError::objects(&generic(13)), PortalError::Objects(_)));
        assert!(!PortalError::objects(&generic(13)).is_storage_full());
    }
}
