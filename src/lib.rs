//! # triage — the Triage server
//!
//! Hospital outpatient triage and queue calling (分诊叫号): HIS pushes
//! registrations, patients check in, rooms call, every screen showing that
//! room changes at once and speaks the call.
//!
//! ## Layout
//! From the ground up, as the layer table of `docs/ARCHITECTURE.md` orders
//! them (`tests/architecture.rs` keeps every import pointing down). Below
//! this crate: `triage-ground` (`ground/`: time, codes as types, the one
//! error, secrets, metrics) and the queue engine `triage-actors`
//! (`actors/`).
//! - [`config`]: the hospital configuration file, validated with line
//!   numbers, and the alert, backup and operations policies.
//! - [`db`]: SQLite/PostgreSQL through diesel + r2d2; migrations; the
//!   group-commit writer; the engine's journal; queries; the enumerated
//!   columns.
//! - [`engine`]: the one way in — every command of HIS, staff and the demo
//!   is a method of `Engine`; `engine::start` rebuilds the actors from
//!   configuration + database (exact rebuild after a crash).
//! - [`rule_change`]: one validation of queue-rule changes (configuration
//!   file and rules API).
//! - [`report`]: one report model, as Markdown and printable HTML.
//! - [`staff`]: what a staff page watches and the frames it gets (full
//!   names for staff in scope).
//! - [`patient`]: what a patient's own page (`/p/{token}`) sees of their
//!   one visit, and its frames.
//! - [`auth`]: accounts, sessions, HIS keys and signatures, the access
//!   policy.
//! - [`alerts`]: fault records, the monitor's rules, mail and robots.
//! - [`ops`]: operations (运维): the inspection, ledgers, maintenance.
//! - [`backups`]: backups as a kept set: manifest, verification report,
//!   retention (`triage backup`, `triage backup verify`, the daily run).
//! - [`demo`]: the demo hospital's simulated patients.
//! - [`voice`]: server-side audio for screens without a Chinese voice.
//! - [`display`]: the embedded display client (plain HTML/ES modules).
//! - [`telemetry`]: logging (text or JSON lines, no colour escapes).
//! - [`background`]: the one home of background work (writer, checkpointer,
//!   ticks, simulation) and the graceful shutdown.
//! - [`api`]: the REST API (`/api/v1`), health, errors, the API document.
//! - [`ws`]: the WebSocket sessions of screens and staff pages (the one
//!   module that uses `actix-web-actors`).
//! - [`listen`]: the listeners (HTTP, HTTPS) with the JSON envelope on the
//!   HTTP layer's own refusals; [`tls`]: HTTPS with rustls.
//! - [`app`]: `Application::build`, used by `main` and by the tests.
//! - [`cli`]: the `triage` program's commands, one module each.

/// The program's version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TRIAGE_COMMIT"), ")");

pub mod alerts;
pub mod api;
pub mod app;
pub mod auth;
pub mod background;
pub mod backups;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod display;
pub mod engine;
pub mod listen;
pub mod ops;
pub mod patient;
pub mod report;
pub mod rule_change;
pub mod staff;
pub mod telemetry;
pub mod tls;
pub mod voice;
pub mod webhooks;
pub mod ws;
