//! The discrete-event core of inferscale: simulated time, the event queue, the run
//! loop, seeded random streams and the sampling distributions built on them.
//!
//! This crate knows nothing about clusters, models or requests. A simulation is any
//! type that implements [`Model`]: it owns its state, receives one event at a time in
//! time order and schedules further events through a [`Context`]. Keeping the core
//! generic lets the cluster model, the validation queues and the benchmarks share one
//! loop, and keeps this crate free of I/O so its tests compile in seconds.
//!
//! # Design decisions
//!
//! - **Integer time.** [`SimTime`] counts nanoseconds in a `u64` (584 years of range),
//!   so event order is exact and never depends on floating-point rounding.
//! - **Deterministic ties.** Events at the same instant are delivered in the order they
//!   were scheduled (FIFO), so a run is a pure function of its inputs.
//! - **Static dispatch.** [`Simulation`] is generic over the model and its event type;
//!   the hot loop has no virtual calls and no allocation beyond the heap's own growth.
//! - **Named random streams.** Each source of randomness draws from its own generator,
//!   seeded from (seed, replication, stream name) by a fixed hash ([`RngStreams`]), so
//!   adding a source never shifts the numbers another source sees, and two policies run
//!   with the same seed see the same arrivals (common random numbers).
//!
//! # Example
//!
//! ```
//! use inferscale_engine::{Context, Model, SimDuration, SimTime, Simulation};
//!
//! /// Counts ticks of a clock that fires every second.
//! struct Clock { ticks: u32 }
//!
//! impl Model for Clock {
//!     type Event = ();
//!     fn handle(&mut self, _event: (), ctx: &mut Context<()>) {
//!         self.ticks += 1;
//!         ctx.schedule_in(SimDuration::from_secs(1), ());
//!     }
//! }
//!
//! let mut sim = Simulation::new(Clock { ticks: 0 });
//! sim.schedule_at(SimTime::ZERO, ());
//! sim.run_until(SimTime::from_secs(10));
//! assert_eq!(sim.model().ticks, 11); // t = 0, 1, ..., 10
//! ```
#![deny(missing_docs)]

mod dist;
mod queue;
mod rng;
mod sim;
pub mod special;
mod time;

pub use dist::{Dist, DistError};
pub use queue::EventQueue;
pub use rng::{RngStreams, SimRng, mix64};
pub use sim::{Context, Model, RunOutcome, Simulation, Watchdog};
pub use time::{SimDuration, SimTime};
