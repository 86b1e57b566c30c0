//! Deciders and predictors written in Python: any object with `decide(view)` (the
//! decider protocol's view as a `dict`, answered with its actions) or
//! `predict(history)` (the arrival rates seen so far, answered with a forecast).
//!
//! Each run gets its own copy of the object (`copy.deepcopy`), so a run starts from
//! the object as the caller passed it whatever ran before, and a sweep's results do
//! not depend on the thread count. Calls take the interpreter lock; the simulation
//! between them does not.

use std::cell::RefCell;

use inferscale::policy::external::MAX_FORECAST_PER_S;
use inferscale::policy::fleet::{FleetAnswer, FleetDecider, FleetView};
use inferscale::policy::predict::Predictor;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::describe_exception;

/// Most observations a Python predictor is shown (the newest): its history stays
/// bounded however long the run.
pub const HISTORY_LIMIT: usize = 10_000;

/// A fresh copy of `template` (`copy.deepcopy`), and its type's name.
fn fresh_copy(py: Python<'_>, template: &Py<PyAny>) -> Result<(Py<PyAny>, String), String> {
    let name = template
        .bind(py)
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    let copy = py
        .import("copy")
        .and_then(|m| m.call_method1("deepcopy", (template.bind(py),)))
        .map_err(|e| {
            format!(
                "cannot copy the Python {name} for a run (each run gets a copy.deepcopy of it): {}",
                describe_exception(py, &e)
            )
        })?;
    Ok((copy.unbind(), name))
}

/// A decider object from Python, deciding for the whole fleet.
pub struct PyDecider {
    object: Py<PyAny>,
    name: String,
}

impl PyDecider {
    /// A decider deciding with a fresh copy of `template`.
    pub fn fresh(template: &Py<PyAny>) -> Result<Box<dyn FleetDecider>, String> {
        Python::attach(|py| {
            let (object, name) = fresh_copy(py, template)?;
            if !object.bind(py).hasattr("decide").unwrap_or(false) {
                return Err(format!(
                    "the Python decider {name} has no `decide(view)` method"
                ));
            }
            Ok(Box::new(PyDecider { object, name }) as Box<dyn FleetDecider>)
        })
    }
}

impl FleetDecider for PyDecider {
    fn describe(&self) -> String {
        format!("the Python decider {}", self.name)
    }

    fn decide(&mut self, view: &FleetView) -> Result<FleetAnswer, String> {
        let text = serde_json::to_string(view).map_err(|e| e.to_string())?;
        Python::attach(|py| {
            let json = py.import("json").map_err(|e| e.to_string())?;
            let fail = |what: &str, e: PyErr| format!("{what}: {}", describe_exception(py, &e));
            let view = json
                .call_method1("loads", (text,))
                .map_err(|e| fail("cannot make the view", e))?;
            let answer = self
                .object
                .bind(py)
                .call_method1("decide", (view,))
                .map_err(|e| fail(&format!("{}.decide raised", self.name), e))?;
            let answer_text: String = json
                .call_method1("dumps", (&answer,))
                .and_then(|s| s.extract())
                .map_err(|e| {
                    fail(
                        &format!(
                            "{}.decide answered what is not JSON (a dict of `actions`, a list \
                             of actions or None)",
                            self.name
                        ),
                        e,
                    )
                })?;
            parse_answer(&answer_text).map_err(|e| format!("{}.decide answered {e}", self.name))
        })
    }
}

/// An answer as `decide` may give it: the protocol's object, its list of actions
/// alone, or `None` (no change).
pub fn parse_answer(text: &str) -> Result<FleetAnswer, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let shown = || {
        let mut t = text.to_owned();
        if t.len() > 200 {
            t.truncate(t.floor_char_boundary(200));
            t.push('…');
        }
        t
    };
    match value {
        serde_json::Value::Null => Ok(FleetAnswer::default()),
        serde_json::Value::Array(actions) => {
            let actions = serde_json::from_value(serde_json::Value::Array(actions))
                .map_err(|e| format!("`{}`: {e} (docs/decider-protocol.md)", shown()))?;
            Ok(FleetAnswer {
                version: None,
                actions,
            })
        }
        other => serde_json::from_value(other)
            .map_err(|e| format!("`{}`: {e} (docs/decider-protocol.md)", shown())),
    }
}

/// A predictor object from Python, forecasting one model's arrival rate.
pub struct PyPredictor {
    object: Py<PyAny>,
    name: String,
    model: String,
    interval_s: f64,
    /// Observation times and values, the newest last (at most [`HISTORY_LIMIT`]).
    times: Py<PyList>,
    /// Whether it has observed anything (it has nothing to forecast from before).
    observed: bool,
    values: Py<PyList>,
    /// The forecasts asked for since the newest observation, by steps ahead: a
    /// decider that plans for the peak asks for several, each once.
    asked: RefCell<Vec<(usize, Option<f64>)>>,
    failure: RefCell<Option<String>>,
    failed: std::cell::Cell<bool>,
}

impl PyPredictor {
    /// A predictor of `model` forecasting with a fresh copy of `template`.
    pub fn fresh(
        template: &Py<PyAny>,
        model: &str,
        interval_s: f64,
    ) -> Result<Box<dyn Predictor>, String> {
        Python::attach(|py| {
            let (object, name) = fresh_copy(py, template)?;
            if !object.bind(py).hasattr("predict").unwrap_or(false) {
                return Err(format!(
                    "the Python predictor {name} has no `predict(history)` method"
                ));
            }
            Ok(Box::new(PyPredictor {
                object,
                name,
                model: model.to_owned(),
                interval_s,
                times: PyList::empty(py).unbind(),
                observed: false,
                values: PyList::empty(py).unbind(),
                asked: RefCell::new(Vec::new()),
                failure: RefCell::new(None),
                failed: std::cell::Cell::new(false),
            }) as Box<dyn Predictor>)
        })
    }

    fn fail(&self, message: String) {
        self.failed.set(true);
        *self.failure.borrow_mut() = Some(format!(
            "the Python predictor {} of `{}` {message}",
            self.name, self.model
        ));
    }

    fn ask(&self, steps: usize) -> Option<f64> {
        Python::attach(|py| {
            let history = PyDict::new(py);
            let filled = (|| -> PyResult<()> {
                history.set_item("model", &self.model)?;
                history.set_item("interval_s", self.interval_s)?;
                history.set_item("steps", steps)?;
                history.set_item("t_s", self.times.bind(py))?;
                history.set_item("arrival_rate", self.values.bind(py))?;
                Ok(())
            })();
            if let Err(e) = filled {
                self.fail(format!("could not be shown its history: {e}"));
                return None;
            }
            let answer = match self.object.bind(py).call_method1("predict", (history,)) {
                Ok(a) => a,
                Err(e) => {
                    self.fail(format!("raised: {}", describe_exception(py, &e)));
                    return None;
                }
            };
            if answer.is_none() {
                return None;
            }
            match answer.extract::<f64>() {
                Ok(f) if f.is_finite() && (0.0..=MAX_FORECAST_PER_S).contains(&f) => Some(f),
                Ok(f) => {
                    self.fail(format!(
                        "answered {f}: a forecast is a rate from 0 to {MAX_FORECAST_PER_S:e} \
                         requests/s, or None"
                    ));
                    None
                }
                Err(_) => {
                    let shown = answer.repr().map(|r| r.to_string()).unwrap_or_default();
                    self.fail(format!(
                        "answered {shown}: a forecast is a number (requests/s) or None"
                    ));
                    None
                }
            }
        })
    }
}

impl Predictor for PyPredictor {
    fn observe(&mut self, t_s: f64, y: f64) {
        self.asked.get_mut().clear();
        self.observed = true;
        Python::attach(|py| {
            let (times, values) = (self.times.bind(py), self.values.bind(py));
            if times.len() >= HISTORY_LIMIT {
                let _ = times.del_item(0);
                let _ = values.del_item(0);
            }
            if times.append(t_s).and_then(|()| values.append(y)).is_err() {
                self.fail("could not record an observation".into());
            }
        });
    }

    fn forecast(&self, steps: usize) -> Option<f64> {
        if self.failed.get() || !self.observed {
            return None;
        }
        if let Some(&(_, f)) = self.asked.borrow().iter().find(|(s, _)| *s == steps) {
            return f;
        }
        let f = self.ask(steps);
        self.asked.borrow_mut().push((steps, f));
        f
    }

    fn take_failure(&mut self) -> Option<String> {
        self.failure.get_mut().take()
    }
}
