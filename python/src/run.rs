//! `run`: a scenario's sweep into a results directory (as `inferscale run` writes
//! it), read back as `pyarrow.Table`s.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use inferscale::report::ResultsDir;
use inferscale::runner::{FleetDeciderFactory, Plugins, PredictorFactory};
use inferscale::sweep_run::SweepOptions;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::run_error;
use crate::plugins::{PyDecider, PyPredictor};
use crate::scenario::Scenario;

/// How often a waiting `run` lets Python handle signals (Ctrl-C).
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs every run of `scenario` into `out` and returns its tables by name. With
/// `decider` (an object with `decide(view)`) or `predictor` (with
/// `predict(history)`), a copy of it replaces the scenario's decider or predictor in
/// each run. `threads`: worker threads (default one per core); `resume`: keep the
/// runs already complete in `out`.
#[pyfunction]
#[pyo3(signature = (scenario, out, *, threads=None, decider=None, predictor=None, progress=false, reproducible=false, resume=false))]
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    scenario: &Scenario,
    out: PathBuf,
    threads: Option<usize>,
    decider: Option<Py<PyAny>>,
    predictor: Option<Py<PyAny>>,
    progress: bool,
    reproducible: bool,
    resume: bool,
) -> PyResult<Bound<'py, PyDict>> {
    if threads == Some(0) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "threads must be at least 1 (None: one per core)",
        ));
    }
    if resume && (decider.is_some() || predictor.is_some()) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "resume=True cannot be combined with a Python decider or predictor: the \
             results directory does not record which object made its runs",
        ));
    }
    let sweep = &scenario.sweep;
    let make_decider = decider.map(|template| move || PyDecider::fresh(&template));
    let make_predictor = predictor.map(|template| {
        move |model: &str, interval_s: f64| PyPredictor::fresh(&template, model, interval_s)
    });
    let plugins = Plugins {
        decider: make_decider.as_ref().map(|f| f as &FleetDeciderFactory),
        predictor: make_predictor.as_ref().map(|f| f as &PredictorFactory),
    };
    let dir = ResultsDir::new(&out);
    let stop = AtomicBool::new(false);
    let opts = SweepOptions {
        threads,
        shard: None,
        resume,
        progress,
        reproducible,
        stop: &stop,
        run_timeout: None,
        force: false,
        plugins,
    };
    // The sweep runs on a thread of its own while this one waits without the
    // interpreter lock, waking to let Python handle its signals: Ctrl-C stops
    // starting runs (those in flight finish and are kept in `out`, as the command
    // line's first Ctrl-C does) and raises KeyboardInterrupt once they have.
    let mut interrupt = None;
    let outcome = std::thread::scope(|scope| {
        let sweep_thread = scope.spawn(|| inferscale::sweep_run::execute(sweep, &dir, &opts));
        while !sweep_thread.is_finished() {
            py.detach(|| std::thread::sleep(SIGNAL_POLL));
            if interrupt.is_none()
                && let Err(e) = py.check_signals()
            {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                interrupt = Some(e);
            }
        }
        sweep_thread.join()
    })
    .map_err(|_| run_error("the sweep's thread panicked"))?
    .map_err(|e| run_error(format!("{e:#}")))?;
    if let Some(e) = interrupt {
        return Err(e);
    }
    if !outcome.failed.is_empty() {
        let mut message = format!(
            "{} of {} runs failed:",
            outcome.failed.len(),
            outcome.planned
        );
        for f in outcome.failed.iter().take(5) {
            message.push_str(&format!("\n  run {} ({}): {}", f.run_id, f.point, f.error));
        }
        if outcome.failed.len() > 5 {
            message.push_str(&format!("\n  ... and {} more", outcome.failed.len() - 5));
        }
        return Err(run_error(message));
    }
    let current = inferscale::sweep_run::current_sweep(sweep);
    py.detach(|| {
        inferscale::sweep_run::merge_results(std::slice::from_ref(&out), &out, Some(&current))
    })
    .map_err(|e| run_error(format!("{e:#}")))?;
    let tables = PyDict::new(py);
    // Every table a results directory may hold, and its summary.
    for name in inferscale::report::TABLES.into_iter().chain(["summary"]) {
        let path = dir.merged(name);
        if !path.exists() {
            continue;
        }
        let table = inferscale::report::read_parquet(&path)
            .map_err(|e| run_error(format!("reading `{}`: {e}", path.display())))?;
        let schema = table.schema.clone();
        tables.set_item(
            name,
            crate::arrow_export::to_pyarrow(py, schema, table.batches)?,
        )?;
    }
    Ok(tables)
}
