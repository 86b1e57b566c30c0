//! A decider written outside the simulator, in under 100 lines: scale so that every
//! ready replica holds about `per_replica` requests in flight, but never move by more
//! than `max_step` replicas per tick. It plugs into the same loop as the built-ins
//! (monitor and predictor included) and runs the scenario's workload and cluster.
//!
//!     cargo run --release --example custom_policy [SCENARIO]

use inferscale::cluster::ExecutorConfig;
use inferscale::policy::decide::{DecideInput, Decider, Decision};
use inferscale::policy::scaling_loop::{ModelStages, build_predictor};
use inferscale::policy::{DeciderConfig, LoopConfig, PredictorConfig, ScalingLoop};
use inferscale::report::{format_summary_table, summarize_runs};

/// Requests in flight per replica, approached in bounded steps.
struct InFlightPerReplica {
    per_replica: f64,
    max_step: u32,
    max: u32,
}

impl Decider for InFlightPerReplica {
    fn decide(&mut self, input: &DecideInput) -> Decision {
        let m = input.metrics;
        // Scale the observed load by the forecast, as the built-in deciders do.
        let wanted = (m.in_flight * input.load_ratio() / self.per_replica).ceil() as u32;
        let current = m.latest.desired;
        let replicas = wanted
            .clamp(
                current.saturating_sub(self.max_step),
                current + self.max_step,
            )
            .clamp(1, self.max);
        Decision {
            replicas: Some(replicas),
            reason: format!("in flight {:.1} → {wanted} wanted", m.in_flight),
            ..Default::default()
        }
    }
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "scenarios/autoscale-hpa.yaml".into());
    let scenario = inferscale::scenario::load(path.as_ref())?;
    let config = LoopConfig {
        interval_s: 15.0,
        monitor: Default::default(),
        predictor: PredictorConfig::LinearTrend { window_s: 300.0 },
        horizon_s: 120.0,
        lead_time_s: Vec::new(),
        // Only the stages below are used; this names the loop's defaults.
        decider: DeciderConfig::Static {
            replicas: None,
            min: 0,
            max: u32::MAX,
        },
        models: vec![0],
    };
    let mut rows = Vec::new();
    for replication in 0..u64::from(scenario.replications) {
        let one = inferscale::runner::run_one_controlled(&scenario, replication, |_, streams| {
            let predictor = build_predictor(&config.predictor, config.interval_s, "chat", None)
                .expect("a linear trend needs no outside resource");
            let stages = vec![ModelStages {
                model: 0,
                predictor,
                decider: Box::new(InFlightPerReplica {
                    per_replica: 24.0,
                    max_step: 4,
                    max: 16,
                }),
            }];
            let controller = ScalingLoop::with_stages(&config, streams, stages);
            Some((Box::new(controller) as _, ExecutorConfig::default()))
        })?;
        println!(
            "replication {replication}: {} scaling actions",
            one.actions.len()
        );
        rows.push(one.run);
    }
    println!("{}", format_summary_table(&summarize_runs(&rows)));
    Ok(())
}
