//! The `triage` program's commands, one module each: what a command does
//! with its flags, what it prints and its exit code (`src/main.rs` parses
//! the command line and hands each command here).

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod check_config;
pub mod day;
pub mod db;
pub mod demo_access;
pub mod doctors;
pub mod drill;
pub mod faults;
pub mod inspect;
pub mod migrate;
pub mod openapi;
pub mod restore;
pub mod serve;
pub mod server_key;
pub mod target;
pub mod wait;
