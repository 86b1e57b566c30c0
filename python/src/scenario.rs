//! A loaded scenario, as Python holds it: the file's text (so a run can apply
//! changes to it, as `--set` and `--replications` do) and its expanded sweep.

use std::path::PathBuf;

use inferscale::scenario::{Pilot, Sweep, load_sweep, parse_sweep, parse_sweep_with_pilot};
use pyo3::prelude::*;

use crate::errors::scenario_error;

/// A checked scenario file, expanded into its sweep's points.
#[pyclass(frozen, module = "inferscale._native")]
pub struct Scenario {
    /// The file, as errors and provenance name it (`<dict>` for a document from
    /// Python).
    pub file: String,
    /// Its expanded sweep.
    pub sweep: Sweep,
}

impl Scenario {
    /// The point labelled `label`, or the only point when `label` is `None`.
    pub fn point(&self, label: Option<&str>) -> PyResult<&inferscale::scenario::Point> {
        let labels = || {
            self.sweep
                .points
                .iter()
                .map(|p| format!("`{}`", p.label))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match label {
            None if self.sweep.points.len() == 1 => Ok(&self.sweep.points[0]),
            None => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "`{}` is a sweep of {} points; choose one with point=: {}",
                self.sweep.name,
                self.sweep.points.len(),
                labels()
            ))),
            Some(l) => self
                .sweep
                .points
                .iter()
                .find(|p| p.label == l)
                .ok_or_else(|| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "`{}` has no point `{l}`; its points are {}",
                        self.sweep.name,
                        labels()
                    ))
                }),
        }
    }
}

#[pymethods]
impl Scenario {
    /// Loads the scenario file at `path`.
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let sweep = load_sweep(&path).map_err(|e| scenario_error(py, &e))?;
        Ok(Scenario {
            file: path.display().to_string(),
            sweep,
        })
    }

    /// Parses `text` (YAML, or JSON: a YAML document too) as a scenario file named
    /// `file` in errors; relative paths in it are taken from `file`'s directory.
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str, file: &str) -> PyResult<Self> {
        let sweep = parse_sweep(text, file).map_err(|e| scenario_error(py, &e))?;
        Ok(Scenario {
            file: file.to_owned(),
            sweep,
        })
    }

    /// This scenario with `set` (`PATH=VALUE` assignments, as `--set` takes them),
    /// `replications` and `only` (point globs) applied, checked again.
    #[pyo3(signature = (set=Vec::new(), replications=None, only=Vec::new()))]
    fn with_changes(
        &self,
        py: Python<'_>,
        set: Vec<String>,
        replications: Option<u32>,
        only: Vec<String>,
    ) -> PyResult<Self> {
        let pilot = Pilot {
            set,
            replications,
            only,
        };
        let sweep = parse_sweep_with_pilot(&self.sweep.source_text, &self.file, &pilot)
            .map_err(|e| scenario_error(py, &e))?;
        Ok(Scenario {
            file: self.file.clone(),
            sweep,
        })
    }

    /// The scenario's name.
    #[getter]
    fn name(&self) -> &str {
        &self.sweep.name
    }

    /// The file it was read from (`<dict>` for a document).
    #[getter]
    fn file(&self) -> &str {
        &self.file
    }

    /// The file's text.
    #[getter]
    fn text(&self) -> &str {
        &self.sweep.source_text
    }

    /// Replications of each point.
    #[getter]
    fn replications(&self) -> u32 {
        self.sweep.replications
    }

    /// The points' labels, in sweep order.
    #[getter]
    fn points(&self) -> Vec<String> {
        self.sweep.points.iter().map(|p| p.label.clone()).collect()
    }

    /// Runs: points × replications.
    #[getter]
    fn run_count(&self) -> usize {
        self.sweep.run_count()
    }

    /// The master seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.sweep.base.seed
    }

    /// Model names of a point (the only point by default), in the scenario's order.
    #[pyo3(signature = (point=None))]
    fn models(&self, point: Option<&str>) -> PyResult<Vec<String>> {
        let p = self.point(point)?;
        Ok(match &p.scenario.system {
            inferscale::scenario::System::Llm(system) => system
                .cluster
                .models
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            _ => Vec::new(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Scenario({:?}: {} point{} × {} replication{}, from {})",
            self.sweep.name,
            self.sweep.points.len(),
            if self.sweep.points.len() == 1 {
                ""
            } else {
                "s"
            },
            self.sweep.replications,
            if self.sweep.replications == 1 {
                ""
            } else {
                "s"
            },
            self.file
        )
    }
}
