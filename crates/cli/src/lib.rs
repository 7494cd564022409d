//! The `amtsweg` binary's parts, as a library so integration tests can drive them:
//! configuration, seeding, serving and benchmarks.

pub mod bench;
pub mod bench_client;
pub mod bench_startup;
pub mod bench_submit;
pub mod config;
pub mod seed;
pub mod server;
pub mod staff;
