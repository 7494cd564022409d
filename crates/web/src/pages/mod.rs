//! The public portal: the Verbund's pages, every authority's pages, search and the
//! small handlers every area uses (trailing slash, static files, 404).

pub(crate) mod authority;
pub(crate) mod misc;
pub(crate) mod search;
pub(crate) mod verbund;

pub use misc::add_slash;
pub(crate) use misc::not_found;
