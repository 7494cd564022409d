//! Integration tests: the real router over a demo Verbund on SQLite and PostgreSQL,
//! and the real binary.

mod binary;
mod pages;
mod place_routing;
mod search;
mod security;
mod support;
mod tenancy;
