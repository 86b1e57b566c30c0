//! The exceptions the module raises: a scenario error that carries where the file is
//! wrong, and a run error for a run that could not finish.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _native,
    ScenarioError,
    PyValueError,
    "A scenario that could not be read or is not valid. Attributes `file`, `line` and \
     `column` (1-based; 0 when unknown), `field` (the field path, e.g. \
     `models[0].serving`) and `message` (what is wrong and what is accepted) locate it \
     as the command line does."
);

create_exception!(
    _native,
    RunError,
    PyRuntimeError,
    "A run that could not finish: a decider or predictor raised or answered what the \
     protocol does not allow, an external program failed, the clock stalled."
);

/// `error` as a [`ScenarioError`] with its location as attributes.
pub fn scenario_error(py: Python<'_>, error: &inferscale::scenario::ScenarioError) -> PyErr {
    let err = ScenarioError::new_err(error.to_string());
    let value = err.value(py);
    let (file, line, column, field, message) = match error.invalid() {
        Some(inv) => (
            inv.file.clone(),
            inv.line,
            inv.column,
            inv.field.clone(),
            inv.message.clone(),
        ),
        None => (String::new(), 0, 0, String::new(), error.to_string()),
    };
    let attrs = [
        value.setattr("file", file),
        value.setattr("line", line),
        value.setattr("column", column),
        value.setattr("field", field),
        value.setattr("message", message),
    ];
    match attrs.into_iter().find_map(Result::err) {
        None => err,
        Some(e) => e,
    }
}

/// A run error with `message`.
pub fn run_error(message: impl Into<String>) -> PyErr {
    RunError::new_err(message.into())
}

/// A Python exception as text for a run's error: its type, message and traceback.
pub fn describe_exception(py: Python<'_>, err: &PyErr) -> String {
    let tb = err
        .traceback(py)
        .and_then(|tb| tb.format().ok())
        .unwrap_or_default();
    format!("{tb}{err}")
}
