//! The domain of a Portalverbund: authorities (Mandanten) with their official keys,
//! service descriptions (Leistungen) keyed by LeiKa, responsibility (Zuständigkeit)
//! and opening hours. Pure code without I/O so every rule here is unit-tested
//! and reusable by the store, the search index and the web edge alike.

pub mod appointments;
pub mod audit;
pub mod authority;
pub mod files;
pub mod konto;
pub mod leistung;
pub mod library;
pub mod opening_hours;
pub mod pages;
pub mod payment;
pub mod place;
pub mod receipt;
pub mod staff;
pub mod theme;
pub mod zustaendigkeit;

pub use authority::{Ags, Ars, Authority, AuthorityKind, Slug};
pub use leistung::{LeikaKey, Leistung, TextModule, TrustLevel};
pub use opening_hours::{OpenState, OpeningHours};
pub use place::{Place, PlaceQuery};
pub use zustaendigkeit::{Resolution, ResponsibilityRule};

/// A value that failed to parse, with a message a citizen or editor can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);
