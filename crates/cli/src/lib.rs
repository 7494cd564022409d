//! The `amtsweg` binary's parts, as a library so integration tests can drive them:
//! configuration, seeding, serving and benchmarks.

pub mod audit_cmd;
pub mod bench;
pub mod bench_booking;
pub mod bench_client;
pub mod bench_startup;
pub mod bench_submit;
pub mod config;
pub mod connections;
pub mod payments_cmd;
pub mod seed;
pub mod seed_termine;
pub mod seed_zahlungen;
pub mod server;
pub mod staff;

/// The receipt printer the binary wires into the application: typst (`crates/pdf`).
/// Only the binary links the typesetter; web and portal see the port alone.
#[must_use]
pub fn printer() -> std::sync::Arc<dyn amtsweg_domain::receipt::ReceiptPrinter> {
    std::sync::Arc::new(amtsweg_pdf::Typst)
}
