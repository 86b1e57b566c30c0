//! One pool of `c` identical servers behind a FIFO queue, fed by an arrival process:
//! the G/G/c queue that validates the engine against queueing theory.

use std::collections::VecDeque;

use inferscale_engine::{
    Context, Model, RngStreams, SimDuration, SimRng, SimTime, Simulation, Watchdog,
};
use inferscale_workload::ArrivalProcess;

use crate::metrics::{DurationMean, LatencyRecorder, TimeAverage};
use crate::{GenericModel, RunError};

/// Everything one replication of a station needs besides its random streams.
#[derive(Clone, Debug)]
pub struct StationConfig {
    /// The servers and their service-time distribution.
    pub model: GenericModel,
    /// When requests arrive.
    pub arrivals: ArrivalProcess,
    /// Statistics cover requests arriving at or after this instant, and time averages
    /// the span from it to the horizon; the warm-up before it lets the queue forget its
    /// empty start.
    pub warmup: SimTime,
    /// When the run ends. Requests still in the system then are counted as in flight.
    pub horizon: SimTime,
    /// Limits the run enforces on itself (stall, wall clock).
    pub watchdog: Watchdog,
}

/// What one replication of a station measured over its statistics window.
#[derive(Clone, Debug)]
pub struct StationReport {
    /// Requests that arrived in the window.
    pub arrivals: u64,
    /// Of those, how many finished service before the horizon.
    pub completed: u64,
    /// Of those, how many were still queued or in service at the horizon.
    pub in_flight_at_end: u64,
    /// Time from arrival to start of service; only requests that started service.
    /// Mean only: a second histogram per request cost 9% of the event loop.
    pub wait: DurationMean,
    /// Time from arrival to completion; only completed requests.
    pub response: LatencyRecorder,
    /// Busy servers / servers, averaged over the window.
    pub utilization: f64,
    /// Requests waiting (not in service), averaged over the window.
    pub mean_queue_len: f64,
    /// Requests in the system (waiting or in service), averaged over the window.
    pub mean_in_system: f64,
    /// Length of the statistics window, seconds.
    pub window_s: f64,
    /// Events the engine processed, warm-up included.
    pub events: u64,
}

impl StationReport {
    /// Measured arrival rate over the window, per second.
    pub fn arrival_rate_per_s(&self) -> f64 {
        self.arrivals as f64 / self.window_s
    }
}

/// Events of a station.
#[derive(Clone, Copy, Debug)]
pub enum StationEvent {
    /// A request arrives.
    Arrival,
    /// Server `server` finishes its request.
    ///
    /// The server's index, not the request's arrival time, travels with the event: a
    /// `u32` keeps the event at 8 bytes and the queue entry at 24 instead of 32 (the
    /// heap moves whole entries; see `benches/README.md`).
    Departure {
        /// Which server finishes.
        server: u32,
    },
}

/// The simulated station: its state, random streams and measurements.
struct Station {
    servers: u64,
    busy: u64,
    /// Arrival time of the request each server holds (meaningless for idle servers).
    in_service: Vec<SimTime>,
    /// Servers with nothing to do, most recently freed last.
    idle: Vec<u32>,
    waiting: VecDeque<SimTime>,
    model: GenericModel,
    arrivals: ArrivalProcess,
    arrival_rng: SimRng,
    service_rng: SimRng,
    warmup: SimTime,
    counted_arrivals: u64,
    completed: u64,
    wait: DurationMean,
    response: LatencyRecorder,
    busy_avg: TimeAverage,
    queue_avg: TimeAverage,
}

impl Station {
    #[inline]
    fn start_service(&mut self, server: u32, arrived: SimTime, ctx: &mut Context<StationEvent>) {
        let now = ctx.now();
        if arrived >= self.warmup {
            self.wait.record(now - arrived);
        }
        self.in_service[server as usize] = arrived;
        let service =
            SimDuration::from_secs_f64(self.model.service_time.sample(&mut self.service_rng));
        ctx.schedule_in(service, StationEvent::Departure { server });
    }

    #[inline]
    fn on_arrival(&mut self, ctx: &mut Context<StationEvent>) {
        let now = ctx.now();
        if let Some(next) = self.arrivals.next_after(now, &mut self.arrival_rng) {
            ctx.schedule_at(next, StationEvent::Arrival);
        }
        if now >= self.warmup {
            self.counted_arrivals += 1;
        }
        if let Some(server) = self.idle.pop() {
            self.busy += 1;
            self.busy_avg.set(now, self.busy);
            self.start_service(server, now, ctx);
        } else {
            self.waiting.push_back(now);
            self.queue_avg.set(now, self.waiting.len() as u64);
        }
    }

    #[inline]
    fn on_departure(&mut self, server: u32, ctx: &mut Context<StationEvent>) {
        let now = ctx.now();
        let arrived = self.in_service[server as usize];
        if arrived >= self.warmup {
            self.completed += 1;
            self.response.record(now - arrived);
        }
        match self.waiting.pop_front() {
            Some(next) => {
                self.queue_avg.set(now, self.waiting.len() as u64);
                self.start_service(server, next, ctx);
            }
            None => {
                self.idle.push(server);
                self.busy -= 1;
                self.busy_avg.set(now, self.busy);
            }
        }
    }
}

impl Model for Station {
    type Event = StationEvent;

    #[inline]
    fn handle(&mut self, event: StationEvent, ctx: &mut Context<StationEvent>) {
        match event {
            StationEvent::Arrival => self.on_arrival(ctx),
            StationEvent::Departure { server } => self.on_departure(server, ctx),
        }
    }
}

/// Runs one replication of `config` with the random streams of `streams`
/// (`"arrivals"` and `"service"`), from an empty system to the horizon.
pub fn simulate_station(
    config: &StationConfig,
    streams: &RngStreams,
) -> Result<StationReport, RunError> {
    let mut arrival_rng = streams.stream("arrivals");
    let mut arrivals = config.arrivals.clone();
    let first = arrivals.next_after(SimTime::ZERO, &mut arrival_rng);
    let station = Station {
        servers: u64::from(config.model.servers),
        busy: 0,
        in_service: vec![SimTime::ZERO; config.model.servers as usize],
        // Popped from the end: server 0 is taken first.
        idle: (0..config.model.servers).rev().collect(),
        waiting: VecDeque::new(),
        model: config.model.clone(),
        arrivals,
        arrival_rng,
        service_rng: streams.stream("service"),
        warmup: config.warmup,
        counted_arrivals: 0,
        completed: 0,
        wait: DurationMean::default(),
        response: LatencyRecorder::new(),
        busy_avg: TimeAverage::new(config.warmup),
        queue_avg: TimeAverage::new(config.warmup),
    };
    let mut sim = Simulation::new(station);
    if let Some(first) = first {
        sim.schedule_at(first, StationEvent::Arrival);
    }
    sim.set_watchdog(config.watchdog);
    RunError::from_outcome(sim.run_until(config.horizon))?;
    let events = sim.events();
    let end = config.horizon;
    let station = sim.into_model();
    let window_s = end.saturating_since(config.warmup).as_secs_f64();
    let mean_busy = station.busy_avg.mean_until(end);
    let mean_queue_len = station.queue_avg.mean_until(end);
    Ok(StationReport {
        arrivals: station.counted_arrivals,
        completed: station.completed,
        in_flight_at_end: station.counted_arrivals - station.completed,
        wait: station.wait,
        response: station.response,
        utilization: mean_busy / station.servers as f64,
        mean_queue_len,
        mean_in_system: mean_queue_len + mean_busy,
        window_s,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::Dist;

    fn config(servers: u32, rate: f64, service: Dist, secs: u64) -> StationConfig {
        StationConfig {
            model: GenericModel {
                servers,
                service_time: service,
            },
            arrivals: ArrivalProcess::poisson(rate).unwrap(),
            warmup: SimTime::from_secs(secs / 10),
            horizon: SimTime::from_secs(secs),
            watchdog: Watchdog::default(),
        }
    }

    #[test]
    fn conserves_requests() {
        let cfg = config(2, 1.5, Dist::exponential(1.0).unwrap(), 5_000);
        let r = simulate_station(&cfg, &RngStreams::new(1, 0)).unwrap();
        assert!(r.arrivals > 6_000);
        assert_eq!(r.arrivals, r.completed + r.in_flight_at_end);
        assert_eq!(r.response.count(), r.completed);
        assert!(r.wait.count() >= r.completed);
    }

    #[test]
    fn same_streams_same_report_different_streams_different_report() {
        let cfg = config(3, 2.0, Dist::gamma_mean_scv(1.0, 2.0).unwrap(), 2_000);
        let a = simulate_station(&cfg, &RngStreams::new(9, 4)).unwrap();
        let b = simulate_station(&cfg, &RngStreams::new(9, 4)).unwrap();
        let c = simulate_station(&cfg, &RngStreams::new(9, 5)).unwrap();
        assert_eq!(a.events, b.events);
        assert_eq!(a.wait.mean_s().to_bits(), b.wait.mean_s().to_bits());
        assert_eq!(a.mean_queue_len.to_bits(), b.mean_queue_len.to_bits());
        assert_ne!(a.events, c.events);
    }

    /// With 1000 servers at load 0.00025 per server nobody waits, and the response
    /// time equals the deterministic service time exactly.
    #[test]
    fn unloaded_pool_has_no_wait_and_exact_service() {
        let cfg = config(1000, 1.0, Dist::deterministic(0.25).unwrap(), 1_000);
        let r = simulate_station(&cfg, &RngStreams::new(2, 0)).unwrap();
        assert_eq!(r.wait.mean_s(), 0.0);
        assert_eq!(r.mean_queue_len, 0.0);
        assert!((r.response.mean_s() - 0.25).abs() < 1e-9);
        assert!((r.response.quantile_s(0.99) - 0.25).abs() < 0.25e-3);
        // Little's law for the servers: busy = λ·E[S] = 0.25 of 1000 servers.
        assert!(
            (r.utilization * 1000.0 - 0.25).abs() < 0.02,
            "{}",
            r.utilization
        );
    }

    /// The same streams and a shorter warm-up give the same event sequence: the warm-up
    /// changes only what is counted, never what happens.
    #[test]
    fn warmup_changes_what_is_counted_not_what_happens() {
        let mut cfg = config(1, 0.5, Dist::exponential(1.0).unwrap(), 1_000);
        let a = simulate_station(&cfg, &RngStreams::new(5, 0)).unwrap();
        cfg.warmup = SimTime::ZERO;
        let b = simulate_station(&cfg, &RngStreams::new(5, 0)).unwrap();
        assert_eq!(a.events, b.events);
        assert!(b.arrivals > a.arrivals);
    }
}
