//! Triage's integration suite: one binary driving the real application over
//! real sockets, on a fresh database per test — a real SQLite file by
//! default, or a fresh PostgreSQL database when `TRIAGE_TEST_POSTGRES_URL`
//! names a server (the README's test command runs the suite both ways).

mod accounts;
mod admin;
mod alerts;
mod appointments;
mod audit;
mod backtest;
mod backups;
mod common;

mod calling;
mod databases;
mod day_end;
mod devices;
mod doctors;
mod domain_core;
mod durability;
mod his_contract;
mod his_guide;
mod https;
mod idempotence;
mod inspections;
mod kiosks;
mod logins;
mod openapi;
mod operations;
mod patient;
mod queue_rules;
mod registrations;
mod restart;
mod results;
mod schedules;
mod screens;
mod seats;
mod secrets;
mod staff;
mod stats;
mod webhooks;
