//! Why a run ended without a report: the engine's watchdog caught it, or its
//! controller failed. A run either completes with every number accounted for or
//! ends with one of these; nothing is reported from a run cut short.

use inferscale_engine::RunOutcome;

/// A run that could not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    /// Simulated time stopped advancing.
    #[error(
        "the simulation stopped advancing: {events} events at t = {at_s:.3} s without the clock \
         moving (a bug in the simulator, please report it with the scenario)"
    )]
    Stalled {
        /// The instant the clock was stuck at, seconds.
        at_s: f64,
        /// Events delivered there.
        events: u64,
    },
    /// The wall-clock limit passed.
    #[error("the run exceeded its wall-clock limit at t = {at_s:.3} s of simulated time")]
    TimedOut {
        /// Simulated time reached, seconds.
        at_s: f64,
    },
    /// The controller (the scaling loop) failed, e.g. an external program died.
    #[error("{0}")]
    Controller(String),
}

impl RunError {
    /// The error an engine outcome stands for, if any.
    pub fn from_outcome(outcome: RunOutcome) -> Result<(), RunError> {
        match outcome {
            RunOutcome::Stalled { at, events } => Err(RunError::Stalled {
                at_s: at.as_secs_f64(),
                events,
            }),
            RunOutcome::DeadlineExceeded { at } => Err(RunError::TimedOut {
                at_s: at.as_secs_f64(),
            }),
            RunOutcome::Horizon | RunOutcome::Exhausted | RunOutcome::Stopped => Ok(()),
        }
    }
}
