//! The `inferscale` Python package's native module (`inferscale._native`): loading
//! scenarios, running them into Arrow tables, deciders and predictors written in
//! Python, and the step-by-step core of the Gymnasium environment.
//!
//! The simulator's crates know nothing of Python: this leaf crate adapts them. What a
//! user calls is the pure-Python layer in `python/inferscale/`, which wraps these
//! functions with defaults, temporary directories and NumPy observations.

use pyo3::prelude::*;

mod arrow_export;
mod env;
mod errors;
mod plugins;
mod run;
mod scenario;

#[pyfunction]
/// The version of the simulator this module was built from, e.g. `inferscale 0.1.0`.
fn version() -> String {
    inferscale::version_string()
}

#[pyfunction]
/// The JSON Schema of the decider protocol's messages (views and answers), as text.
fn decider_protocol_schema() -> String {
    inferscale::policy::fleet::protocol_schema().to_string()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(decider_protocol_schema, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_class::<scenario::Scenario>()?;
    m.add_class::<env::EnvCore>()?;
    m.add("ScenarioError", m.py().get_type::<errors::ScenarioError>())?;
    m.add("RunError", m.py().get_type::<errors::RunError>())?;
    Ok(())
}
