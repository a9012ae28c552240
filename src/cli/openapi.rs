//! `triage openapi`: print the OpenAPI document (docs/openapi.json is this
//! output).

use std::process::ExitCode;

/// `triage openapi`: always 0.
pub fn run() -> ExitCode {
    println!("{}", crate::api::openapi::document());
    ExitCode::SUCCESS
}
