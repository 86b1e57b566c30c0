//! The run loop: a [`Model`] receives events in time order from a [`Simulation`].

use std::time::Instant;

use crate::{EventQueue, SimDuration, SimTime};

/// A simulated system. It owns all its state and reacts to one event at a time,
/// scheduling later events through the [`Context`].
pub trait Model {
    /// What can happen in this model. A small `Copy` enum keeps the queue fast (and
    /// `Copy` lets the queue hand out an event while its entry waits to be reused).
    type Event: Copy;

    /// Reacts to `event` at `ctx.now()`.
    fn handle(&mut self, event: Self::Event, ctx: &mut Context<Self::Event>);
}

/// What a model sees while it handles an event: the clock and the future-event list.
pub struct Context<E> {
    now: SimTime,
    queue: EventQueue<E>,
    stopped: bool,
}

impl<E> Context<E> {
    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at the absolute time `at`. Scheduling in the past is a bug in
    /// the model; it is clamped to now so time never runs backwards.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        self.queue.push(at.max(self.now), event);
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now + delay, event);
    }

    /// Ends the run after the current event, whatever is still scheduled.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// How many events are waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Why [`Simulation::run_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The clock reached the horizon; later events stay queued.
    Horizon,
    /// No event was left to process.
    Exhausted,
    /// The model called [`Context::stop`].
    Stopped,
    /// The clock stopped advancing: more events than the watchdog allows were
    /// delivered at one instant (a model that reschedules itself with no delay).
    Stalled {
        /// The instant the clock was stuck at.
        at: SimTime,
        /// Events delivered there.
        events: u64,
    },
    /// The watchdog's wall-clock deadline passed.
    DeadlineExceeded {
        /// Simulated time reached.
        at: SimTime,
    },
}

/// Limits a [`Simulation`] enforces on itself, so one broken or oversized run ends
/// with an outcome instead of spinning forever. They never change what a run that
/// stays within them computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchdog {
    /// Most events delivered at one simulated instant before the run counts as
    /// stalled. A real model advances time: even a million simultaneous arrivals
    /// stay far below the default.
    pub max_events_at_one_instant: u64,
    /// Wall-clock instant after which the run stops (checked every few thousand
    /// events), or `None`.
    pub deadline: Option<Instant>,
}

impl Watchdog {
    /// The default stall limit: 100 million events at one instant (several seconds
    /// of work at the engine's speed).
    pub const DEFAULT_MAX_EVENTS_AT_ONE_INSTANT: u64 = 100_000_000;
    /// Events between two looks at the wall clock.
    const CLOCK_CHECK_EVERY: u64 = 4_096;
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog {
            max_events_at_one_instant: Self::DEFAULT_MAX_EVENTS_AT_ONE_INSTANT,
            deadline: None,
        }
    }
}

/// A model together with its clock and future-event list.
pub struct Simulation<M: Model> {
    model: M,
    ctx: Context<M::Event>,
    events: u64,
    watchdog: Watchdog,
    /// Events delivered in a row at the clock's current instant.
    at_instant: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` at time zero with nothing scheduled.
    pub fn new(model: M) -> Self {
        Simulation {
            model,
            ctx: Context {
                now: SimTime::ZERO,
                queue: EventQueue::with_capacity(64),
                stopped: false,
            },
            events: 0,
            watchdog: Watchdog::default(),
            at_instant: 0,
        }
    }

    /// Sets the limits the run enforces on itself.
    pub fn set_watchdog(&mut self, watchdog: Watchdog) {
        self.watchdog = watchdog;
    }

    /// Schedules `event` at `at` from outside the model (initial events).
    pub fn schedule_at(&mut self, at: SimTime, event: M::Event) {
        self.ctx.schedule_at(at, event);
    }

    /// Delivers events in order until the next one would be later than `horizon`, the
    /// queue empties, or the model stops the run. On return the clock reads `horizon`
    /// when the horizon was reached, else the time of the last event. The
    /// [`Watchdog`] ends it early when the clock stops advancing or the wall-clock
    /// deadline passes.
    pub fn run_until(&mut self, horizon: SimTime) -> RunOutcome {
        loop {
            if self.ctx.stopped {
                return RunOutcome::Stopped;
            }
            match self.ctx.queue.peek_time() {
                None => return RunOutcome::Exhausted,
                Some(t) if t > horizon => {
                    self.ctx.now = horizon;
                    return RunOutcome::Horizon;
                }
                Some(_) => {}
            }
            let Some((time, event)) = self.ctx.queue.deliver() else {
                return RunOutcome::Exhausted;
            };
            // The clock still reads the last event's time (or a horizon no event
            // reached, which a later one cannot equal).
            if time == self.ctx.now {
                self.at_instant += 1;
                if self.at_instant > self.watchdog.max_events_at_one_instant {
                    return RunOutcome::Stalled {
                        at: time,
                        events: self.at_instant,
                    };
                }
            } else {
                self.at_instant = 1;
            }
            if self.events.is_multiple_of(Watchdog::CLOCK_CHECK_EVERY)
                && let Some(deadline) = self.watchdog.deadline
                && Instant::now() >= deadline
            {
                return RunOutcome::DeadlineExceeded { at: self.ctx.now };
            }
            self.ctx.now = time;
            self.events += 1;
            self.model.handle(event, &mut self.ctx);
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.ctx.now
    }

    /// How many events have been delivered so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The model, for reading its state.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, for changing its state between runs.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// Ends the simulation and hands back the model.
    pub fn into_model(self) -> M {
        self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the times at which it saw each event and re-schedules a chain.
    struct Recorder {
        seen: Vec<(SimTime, u32)>,
    }

    impl Model for Recorder {
        type Event = u32;
        fn handle(&mut self, event: u32, ctx: &mut Context<u32>) {
            self.seen.push((ctx.now(), event));
            match event {
                0 => ctx.schedule_in(SimDuration::from_secs(2), 1),
                1 => ctx.schedule_in(SimDuration::ZERO, 2),
                99 => ctx.stop(),
                _ => {}
            }
        }
    }

    #[test]
    fn delivers_chains_in_time_order() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        sim.schedule_at(SimTime::from_secs(1), 0);
        assert_eq!(
            sim.run_until(SimTime::from_secs(100)),
            RunOutcome::Exhausted
        );
        assert_eq!(
            sim.model().seen,
            vec![
                (SimTime::from_secs(1), 0),
                (SimTime::from_secs(3), 1),
                (SimTime::from_secs(3), 2)
            ]
        );
        assert_eq!(sim.events(), 3);
    }

    #[test]
    fn stops_at_the_horizon_and_resumes() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        sim.schedule_at(SimTime::from_secs(1), 5);
        sim.schedule_at(SimTime::from_secs(10), 6);
        assert_eq!(sim.run_until(SimTime::from_secs(5)), RunOutcome::Horizon);
        assert_eq!(sim.now(), SimTime::from_secs(5));
        assert_eq!(sim.model().seen.len(), 1);
        // An event exactly at the horizon is delivered.
        assert_eq!(sim.run_until(SimTime::from_secs(10)), RunOutcome::Exhausted);
        assert_eq!(sim.model().seen.len(), 2);
    }

    /// A model that reschedules itself with no delay never advances the clock: the
    /// watchdog ends the run as stalled after its limit, and the stuck event stays
    /// queued.
    #[test]
    fn a_clock_that_stops_advancing_is_caught() {
        struct Spinner;
        impl Model for Spinner {
            type Event = ();
            fn handle(&mut self, (): (), ctx: &mut Context<()>) {
                ctx.schedule_in(SimDuration::ZERO, ());
            }
        }
        let mut sim = Simulation::new(Spinner);
        sim.set_watchdog(Watchdog {
            max_events_at_one_instant: 1_000,
            deadline: None,
        });
        sim.schedule_at(SimTime::from_secs(3), ());
        assert_eq!(
            sim.run_until(SimTime::MAX),
            RunOutcome::Stalled {
                at: SimTime::from_secs(3),
                events: 1_001
            }
        );
        assert_eq!(sim.events(), 1_000);
        // A deadline in the past stops it at the first look at the clock.
        let mut sim = Simulation::new(Spinner);
        sim.set_watchdog(Watchdog {
            deadline: Some(Instant::now()),
            ..Watchdog::default()
        });
        sim.schedule_at(SimTime::from_secs(1), ());
        assert_eq!(
            sim.run_until(SimTime::MAX),
            RunOutcome::DeadlineExceeded { at: SimTime::ZERO }
        );
    }

    /// Many events at one instant within the limit are delivered as usual.
    #[test]
    fn simultaneous_events_within_the_limit_run() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        sim.set_watchdog(Watchdog {
            max_events_at_one_instant: 3,
            deadline: None,
        });
        for _ in 0..3 {
            sim.schedule_at(SimTime::from_secs(1), 5);
        }
        sim.schedule_at(SimTime::from_secs(2), 5);
        assert_eq!(sim.run_until(SimTime::MAX), RunOutcome::Exhausted);
        assert_eq!(sim.events(), 4);
    }

    #[test]
    fn a_model_can_stop_the_run() {
        let mut sim = Simulation::new(Recorder { seen: vec![] });
        sim.schedule_at(SimTime::from_secs(1), 99);
        sim.schedule_at(SimTime::from_secs(2), 7);
        assert_eq!(sim.run_until(SimTime::MAX), RunOutcome::Stopped);
        assert_eq!(sim.into_model().seen, vec![(SimTime::from_secs(1), 99)]);
    }
}
