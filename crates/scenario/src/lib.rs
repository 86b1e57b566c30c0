//! Scenario files: the YAML schema, validation with errors located at file, line,
//! column and field, and conversion into the simulator's configuration.
//!
//! This crate is the boundary between the outside world and the simulator: serde and
//! YAML stop here. [`load`] and [`parse`] return a [`Scenario`] whose parts are the
//! engine's and cluster's own types, already checked, so nothing downstream needs to
//! validate user input again.
//!
//! ```
//! let text = "
//! name: mm1
//! duration: 1h
//! models:
//!   - {name: svc, generic: {service_time: {exponential: {mean: 1s}}}}
//! workload:
//!   - {model: svc, arrivals: {poisson: {rate: 0.5/s}}}
//! ";
//! let scenario = inferscale_scenario::parse(text, "mm1.yaml").unwrap();
//! assert!(matches!(scenario.system, inferscale_scenario::System::Generic(_)));
//!
//! let err = inferscale_scenario::parse(&text.replace("rate: 0.5/s", "rate: -2/s"), "mm1.yaml")
//!     .unwrap_err();
//! assert!(err.to_string().starts_with("mm1.yaml:7:"), "{err}");
//! ```
#![deny(missing_docs)]

pub mod catalog;
mod error;
pub mod experiment;
mod files;
mod json_schema;
mod llm_load;
pub mod llm_schema;
mod load;
mod locate;
pub mod overrides;
pub mod policy_build;
pub mod policy_schema;
pub mod rates;
pub mod schema;
pub mod sweep;
pub mod units;
mod yaml;

pub use error::{Invalid, ScenarioError};
pub use json_schema::scenario_schema;
pub use llm_load::{LlmSystem, LlmWorkload, RequestSource, Sizes};
pub use load::{Scenario, System, load, parse};
pub use policy_build::PolicySetup;
pub use sweep::{
    ParamColumn, ParamKind, ParamValue, Pilot, Point, Sweep, load_sweep, load_sweep_with,
    parse_sweep, parse_sweep_with_pilot,
};
