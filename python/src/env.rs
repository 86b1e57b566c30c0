//! The core of the Gymnasium environment: a run whose decider is the caller,
//! stepped one control interval at a time.
//!
//! The run goes on a thread of its own; its decider hands each tick's view over a
//! channel and waits for the answer. The simulation is the same as any run's (one
//! thread, its own random streams), so a seed gives the same episode every time;
//! the caller only chooses when the next tick's answer comes.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use inferscale::cluster::RunError;
use inferscale::policy::fleet::{FleetAnswer, FleetDecider, FleetView};
use inferscale::runner::{FleetDeciderFactory, OneRun, Plugins};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::run_error;
use crate::scenario::Scenario;

/// A decider that asks whoever holds the other ends of its channels.
struct ChannelDecider {
    views: SyncSender<FleetView>,
    answers: Receiver<FleetAnswer>,
}

impl FleetDecider for ChannelDecider {
    fn describe(&self) -> String {
        "the environment's agent".into()
    }

    fn decide(&mut self, view: &FleetView) -> Result<FleetAnswer, String> {
        self.views
            .send(view.clone())
            .map_err(|_| "the environment was closed".to_string())?;
        self.answers
            .recv()
            .map_err(|_| "the environment was closed".to_string())
    }
}

/// An episode in progress.
struct Episode {
    answers: SyncSender<FleetAnswer>,
    views: Receiver<FleetView>,
    run: JoinHandle<Result<OneRun, RunError>>,
}

/// Where an episode stands after a wait.
enum Next {
    /// The run reached a tick and waits for its answer.
    Tick(Episode, FleetView),
    /// The run ended.
    End(Result<Box<OneRun>, String>),
}

impl Episode {
    /// Waits for the run's next tick or its end.
    fn next(self) -> Next {
        match self.views.recv() {
            Ok(view) => Next::Tick(self, view),
            Err(_) => Next::End(Self::join(self.run)),
        }
    }

    fn join(run: JoinHandle<Result<OneRun, RunError>>) -> Result<Box<OneRun>, String> {
        match run.join() {
            Ok(result) => result.map(Box::new).map_err(|e| e.to_string()),
            Err(_) => Err("the episode's run panicked".into()),
        }
    }

    /// Ends the run (its decider is told the environment closed) and waits for it.
    fn close(self) {
        let Episode {
            answers,
            views,
            run,
        } = self;
        drop(answers);
        drop(views);
        let _ = Self::join(run);
    }
}

/// One point of a scenario, run episode by episode with the caller deciding.
#[pyclass(module = "inferscale._native")]
pub struct EnvCore {
    scenario: inferscale::scenario::Scenario,
    episode: Mutex<Option<Episode>>,
}

impl EnvCore {
    fn take(&self) -> Option<Episode> {
        self.episode.lock().map(|mut e| e.take()).unwrap_or(None)
    }

    fn put(&self, episode: Episode) {
        if let Ok(mut e) = self.episode.lock() {
            *e = Some(episode);
        }
    }

    /// Waits (without the interpreter lock) for `episode`'s next tick: its view as
    /// JSON, or, at the end, the run's tables.
    fn advance<'py>(
        &self,
        py: Python<'py>,
        episode: Episode,
    ) -> PyResult<(Option<String>, Option<Bound<'py, PyDict>>)> {
        match py.detach(move || episode.next()) {
            Next::Tick(episode, view) => {
                self.put(episode);
                let text = serde_json::to_string(&view).map_err(|e| run_error(e.to_string()))?;
                Ok((Some(text), None))
            }
            Next::End(Ok(one)) => Ok((None, Some(tables(py, one)?))),
            Next::End(Err(e)) => Err(run_error(e)),
        }
    }
}

#[pymethods]
impl EnvCore {
    /// The environment of `scenario`'s point `point` (its only point by default).
    #[new]
    #[pyo3(signature = (scenario, point=None))]
    fn new(scenario: &Scenario, point: Option<&str>) -> PyResult<Self> {
        let point = scenario.point(point)?;
        if point.scenario.policy.is_none() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "`{}` has no `policy:`: an environment steps the scaling loop, whose \
                 interval and monitor the policy sets",
                point.scenario.name
            )));
        }
        if !matches!(point.scenario.system, inferscale::scenario::System::Llm(_)) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "an environment needs a cluster scenario (`models:` with `hardware:`)",
            ));
        }
        Ok(EnvCore {
            scenario: point.scenario.clone(),
            episode: Mutex::new(None),
        })
    }

    /// Starts an episode with master seed `seed` (the run's random streams derive
    /// from it alone, so equal seeds give equal requests) and returns its first view
    /// as JSON, or `None` and the run's tables when the run has no tick at all.
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
    ) -> PyResult<(Option<String>, Option<Bound<'py, PyDict>>)> {
        self.close(py);
        let mut scenario = self.scenario.clone();
        scenario.seed = seed;
        let (view_tx, view_rx) = sync_channel::<FleetView>(0);
        let (answer_tx, answer_rx) = sync_channel::<FleetAnswer>(0);
        let decider = Mutex::new(Some(ChannelDecider {
            views: view_tx,
            answers: answer_rx,
        }));
        let run = std::thread::Builder::new()
            .name("inferscale-env".into())
            .spawn(move || {
                let make = move || -> Result<Box<dyn FleetDecider>, String> {
                    decider
                        .lock()
                        .ok()
                        .and_then(|mut d| d.take())
                        .map(|d| Box::new(d) as Box<dyn FleetDecider>)
                        .ok_or_else(|| "an episode is one run".to_string())
                };
                inferscale::runner::run_one_decided(
                    &scenario,
                    0,
                    inferscale::engine::Watchdog::default(),
                    None,
                    Plugins {
                        decider: Some(&make as &FleetDeciderFactory),
                        predictor: None,
                    },
                )
            })
            .map_err(|e| run_error(format!("cannot start the episode's thread: {e}")))?;
        let episode = Episode {
            answers: answer_tx,
            views: view_rx,
            run,
        };
        self.advance(py, episode)
    }

    /// Answers the current tick with `answer` (the decider protocol's answer as
    /// JSON) and returns the next tick's view, or `None` and the run's tables when
    /// the run ended.
    fn step<'py>(
        &self,
        py: Python<'py>,
        answer: &str,
    ) -> PyResult<(Option<String>, Option<Bound<'py, PyDict>>)> {
        let answer = crate::plugins::parse_answer(answer)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("an answer {e}")))?;
        let Some(episode) = self.take() else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "no episode in progress: call reset() first (an episode that ended needs \
                 a reset too)",
            ));
        };
        if episode.answers.send(answer).is_err() {
            // The run ended between ticks: it failed (it has nothing more to ask).
            return match Episode::join(episode.run) {
                Ok(one) => Ok((None, Some(tables(py, one)?))),
                Err(e) => Err(run_error(e)),
            };
        }
        self.advance(py, episode)
    }

    /// Ends the episode in progress, if any.
    fn close(&self, py: Python<'_>) {
        if let Some(episode) = self.take() {
            py.detach(move || episode.close());
        }
    }

    /// The control interval, seconds: one step.
    #[getter]
    fn interval_s(&self) -> f64 {
        self.scenario
            .policy
            .as_ref()
            .map_or(0.0, |p| p.config.interval_s)
    }

    /// The run's horizon (its duration), seconds.
    #[getter]
    fn duration_s(&self) -> f64 {
        self.scenario.duration.as_secs_f64()
    }
}

impl Drop for EnvCore {
    fn drop(&mut self) {
        if let Some(episode) = self.episode.get_mut().ok().and_then(Option::take) {
            episode.close();
        }
    }
}

/// A finished run's rows as tables, by name (without the key columns a results
/// directory adds: an episode is one run).
fn tables<'py>(py: Python<'py>, one: Box<OneRun>) -> PyResult<Bound<'py, PyDict>> {
    use inferscale::report::{
        actions_batch, fleet_batch, latency_batch, models_batch, runs_batch, timeseries_batch,
    };
    let out = PyDict::new(py);
    let batches = [
        ("runs", runs_batch(std::slice::from_ref(&one.run))),
        ("models", models_batch(&one.models)),
        ("timeseries", timeseries_batch(&one.timeseries)),
        ("fleet", fleet_batch(&one.fleet)),
        ("actions", actions_batch(&one.actions)),
        ("latency", latency_batch(&one.latency)),
    ];
    for (name, batch) in batches {
        let schema = batch.schema();
        out.set_item(
            name,
            crate::arrow_export::to_pyarrow(py, schema, vec![batch])?,
        )?;
    }
    Ok(out)
}
