//! Integration tests: the real router over a demo Verbund on SQLite and PostgreSQL,
//! and the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse_limits;
mod antrag;
mod api_fuzz;
mod authorisation;
mod binary;
mod browser;
mod browser_hosts;
mod browser_screens;
mod bundid;
mod casework;
mod demo_consistency;
mod design;
mod disk_full;
mod editing;
mod form_editor;
mod forms;
mod fuzz_form_step;
mod handoff;
mod isolation;
mod konto;
mod legal_pages;
mod library;
mod mail;
mod oidc;
mod outbound;
mod pages;
mod place_routing;
mod prefill;
mod reliability;
mod request_limits;
mod routes;
mod schnittstellen;
mod sealing;
mod search;
mod secrets_audit;
mod security;
mod standorte;
mod support;
mod tenancy;
mod tenant_admin;
mod verwaltung;
