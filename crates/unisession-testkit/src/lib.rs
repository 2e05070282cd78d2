//! Test support: the providers' official OpenAPI specs, and checks of requests and
//! answers against them.
//!
//! The specs are read from `UNISESSION_SPECS_DIR` or from `../shared/specs` next to
//! the workspace. Where neither exists, a vendored excerpt under `specs/` (the same
//! operations and every schema they reference, extracted from the official files)
//! stands in; the test `excerpts_match_the_official_specs` keeps it in step.
#![warn(missing_docs)]

pub mod capture;
pub mod hostile;
mod provider;
mod request;
mod schema;
mod spec;

pub use provider::Provider;
pub use request::{Operation, Request, nonconforming};
pub use spec::{Source, Spec, official_dir};
