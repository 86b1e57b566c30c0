//! What the scenario loader accepts, simulated: a scenario that loads, asks for no
//! external program and is at most four hours long runs for up to 100 ms of wall
//! time, and every request must be accounted for exactly once (arrivals = completed
//! + dropped + rejected + in flight), for the run and each model. scripts/fuzz.sh
//! also runs it once over the whole corpus the loader's fuzzing grew.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    // The loader reads files as bytes and checks UTF-8 itself; here the text is what
    // it would have read.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match inferscale::scenario::parse_sweep(text, common::SCENARIO_FILE) {
        Err(e) => common::assert_located(&e),
        Ok(sweep) => {
            let scenario = &sweep.points[0].scenario;
            let external = scenario.policy.as_ref().is_some_and(|p| {
                matches!(
                    p.config.predictor,
                    inferscale::policy::PredictorConfig::External(_)
                )
            });
            if external || scenario.duration.as_secs_f64() > 4.0 * 3600.0 {
                return;
            }
            let watchdog = inferscale::engine::Watchdog {
                deadline: Some(std::time::Instant::now() + std::time::Duration::from_millis(100)),
                ..Default::default()
            };
            match inferscale::runner::run_one_watched(scenario, 0, watchdog) {
                Ok(one) => {
                    let r = &one.run;
                    let (dropped, rejected) =
                        r.llm.as_ref().map_or((0, 0), |l| (l.dropped, l.rejected));
                    assert_eq!(
                        r.arrivals,
                        r.completed + dropped + rejected + r.in_flight_at_end,
                        "every request is accounted for once"
                    );
                    for m in &one.models {
                        assert_eq!(
                            m.arrivals,
                            m.completed + m.dropped + m.rejected + m.in_flight_at_end,
                            "model {}",
                            m.model
                        );
                    }
                }
                Err(inferscale::cluster::RunError::TimedOut { .. }) => {}
                Err(e) => panic!("a run failed: {e}"),
            }
        }
    }
});
