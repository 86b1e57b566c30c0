//! One LLM replica fed directly by a request stream — no router, no nodes, no
//! lifecycle: the single-server simulation the scheduler is validated with (Vidur,
//! published numbers) and that `llm_scale` times.

use inferscale_engine::{Context, Model, SimDuration, SimTime, Simulation};
use inferscale_workload::Request;

use crate::llm_replica::{LlmReplica, LlmServerConfig};
use crate::metrics::LatencyRecorder;
use crate::outcomes::{Outcomes, Sla};
use crate::perf::Roofline;

/// What a replica measured.
#[derive(Clone, Debug)]
pub struct LlmReport {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that finished.
    pub completed: u64,
    /// Requests refused because they can never fit (prompt over the token budget
    /// without chunked prefill, or over the KV cache). Counted, never silently lost.
    pub rejected: u64,
    /// Requests dropped after waiting past the timeout.
    pub dropped: u64,
    /// Requests waiting or running at the end.
    pub in_flight_at_end: u64,
    /// Arrival → first token.
    pub ttft: LatencyRecorder,
    /// (end-to-end − TTFT) / (output − 1), per request with more than one token.
    pub tpot: LatencyRecorder,
    /// Arrival → last token.
    pub e2e: LatencyRecorder,
    /// Output tokens produced.
    pub output_tokens: u64,
    /// Time of the last completion, seconds.
    pub last_completion_s: f64,
    /// Iterations run, and of those how many were prefills.
    pub iterations: u64,
    /// Prefill iterations.
    pub prefill_iterations: u64,
    /// Preemptions (a request may be preempted more than once).
    pub preemptions: u64,
    /// Largest number of KV blocks in use.
    pub peak_kv_blocks: u64,
    /// Time-average share of KV blocks in use.
    pub mean_kv_utilization: f64,
    /// Time-average number of requests in the system (waiting or running).
    pub mean_in_system: f64,
    /// Mean number of requests per decode iteration.
    pub mean_decode_batch: f64,
    /// Events the engine processed.
    pub events: u64,
}

/// Events of a single replica driven by a request stream.
#[derive(Clone, Copy, Debug)]
pub enum LlmEvent {
    /// The next request of the source arrives.
    Arrival,
    /// The iteration in progress finishes.
    IterationDone,
}

/// One replica fed directly by a request stream (no router, no node lifecycle).
struct SingleServer<I: Iterator<Item = Request>> {
    replica: LlmReplica,
    outcomes: Outcomes,
    source: I,
    next_request: Option<Request>,
    /// The stack's client latency: a request reaches the replica this long after it
    /// was sent.
    latency: SimDuration,
}

impl<I: Iterator<Item = Request>> SingleServer<I> {
    fn kick(&mut self, ctx: &mut Context<LlmEvent>) {
        if let Some(d) = self.replica.start_iteration(ctx.now(), &mut self.outcomes) {
            ctx.schedule_in(d, LlmEvent::IterationDone);
        }
    }
}

impl<I: Iterator<Item = Request>> Model for SingleServer<I> {
    type Event = LlmEvent;

    fn handle(&mut self, event: LlmEvent, ctx: &mut Context<LlmEvent>) {
        let now = ctx.now();
        match event {
            LlmEvent::Arrival => {
                let Some(request) = self.next_request.take() else {
                    return;
                };
                self.next_request = self.source.next();
                if let Some(next) = self.next_request {
                    ctx.schedule_at((next.arrival + self.latency).max(now), LlmEvent::Arrival);
                }
                self.outcomes.record_arrival(&request);
                match self.replica.admit(request) {
                    Some((request, cut)) => {
                        if cut {
                            self.outcomes.record_truncation(&request);
                        }
                        self.replica.enqueue(request);
                    }
                    None => self.outcomes.record_reject(&request, now),
                }
            }
            LlmEvent::IterationDone => self.replica.complete_iteration(now, &mut self.outcomes),
        }
        self.kick(ctx);
    }
}

/// Serves `requests` (in arrival order) on one replica until `horizon`, or until every
/// request has finished when `horizon` is `None`.
pub fn simulate_llm_server<I>(
    roofline: Roofline,
    config: LlmServerConfig,
    requests: I,
    horizon: Option<SimTime>,
) -> LlmReport
where
    I: IntoIterator<Item = Request>,
{
    let mut source = requests.into_iter();
    let first = source.next();
    let latency = config.client_latency;
    let server = SingleServer {
        latency,
        replica: LlmReplica::new(roofline, config, SimTime::ZERO),
        outcomes: Outcomes::new(Sla::default()),
        source,
        next_request: first,
    };
    let mut sim = Simulation::new(server);
    if let Some(first) = first {
        sim.schedule_at(first.arrival + latency, LlmEvent::Arrival);
    }
    sim.run_until(horizon.unwrap_or(SimTime::MAX));
    let end = sim.now();
    let events = sim.events();
    let server = sim.into_model();
    let stats = server.replica.stats().clone();
    let kv_blocks = server.replica.config().kv_blocks.max(1) as f64;
    let o = server.outcomes;
    let (mut in_flight, mut in_flight_ns) = (0, 0);
    server.replica.for_each_outstanding(|request, _| {
        in_flight += 1;
        in_flight_ns += o.in_system_ns(request, end);
    });
    let mean_in_system = o.mean_in_system(end, in_flight_ns);
    LlmReport {
        arrivals: o.arrivals,
        completed: o.completed,
        rejected: o.rejected,
        dropped: o.dropped,
        in_flight_at_end: in_flight,
        ttft: o.ttft,
        tpot: o.tpot,
        e2e: o.e2e,
        output_tokens: o.output_tokens,
        last_completion_s: o.last_completion.as_secs_f64(),
        iterations: stats.iterations,
        prefill_iterations: stats.prefill_iterations,
        preemptions: stats.preemptions,
        peak_kv_blocks: stats.peak_kv_blocks,
        mean_kv_utilization: stats.mean_kv_blocks(end) / kv_blocks,
        mean_in_system,
        mean_decode_batch: stats.mean_decode_batch(),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::BatchWork;
    use crate::{AcceleratorSpec, DeviceKind, Efficiency, LlmSpec};
    use inferscale_engine::SimDuration;

    fn roofline() -> Roofline {
        let model = LlmSpec {
            name: "toy-7b".into(),
            params: 7e9,
            layers: 32,
            hidden: 4096,
            heads: 32,
            kv_heads: 8,
            intermediate: 14336,
            vocab: 32000,
            dtype_bytes: 2.0,
            max_context: 8192,
            experts: 1,
            experts_per_token: 1,
        };
        let gpu = AcceleratorSpec {
            kind: DeviceKind::Gpu,
            peak_flops: 312e12,
            peak_int8_ops: None,
            memory_bytes: 80e9,
            memory_bandwidth: 2039e9,
            interconnect_bandwidth: 300e9,
        };
        Roofline::new(model, gpu, 1, Efficiency::CALIBRATED)
    }

    fn config(kv_blocks: u64) -> LlmServerConfig {
        LlmServerConfig {
            max_batch: 64,
            max_batched_tokens: 4096,
            block_size: 16,
            kv_blocks,
            watermark_blocks: 0,
            chunked_prefill: false,
            timeout: None,
            max_model_len: None,
            prefix_caching: true,
            client_latency: inferscale_engine::SimDuration::ZERO,
            deliver_after_next_step: false,
            client_timeout: None,
        }
    }

    fn poisson(n: u32, rate: f64, prompt: u32, output: u32) -> Vec<Request> {
        use rand_distr::{Distribution, Exp1};
        let mut rng = inferscale_engine::RngStreams::new(5, 0).stream("arrivals");
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                let gap: f64 = Exp1.sample(&mut rng);
                t += gap / rate;
                Request {
                    id: 0,
                    arrival: SimTime::from_secs_f64(t),
                    prompt,
                    output,
                    chain: 0,
                }
            })
            .collect()
    }

    /// One request alone: TTFT is one prefill iteration and every later token one
    /// decode iteration at the growing context, exactly as the roofline predicts.
    #[test]
    fn a_lone_request_takes_exactly_the_predicted_time() {
        let r = roofline();
        let (prompt, output) = (300u32, 50u32);
        let request = Request {
            id: 0,
            arrival: SimTime::from_secs(1),
            prompt,
            output,
            chain: 0,
        };
        let report = simulate_llm_server(r.clone(), config(10_000), [request], None);
        let prefill = r.iteration_time(&BatchWork {
            prefill_tokens: f64::from(prompt),
            prefill_attention_pairs: BatchWork::prefill_pairs(f64::from(prompt), 0.0),
            ..Default::default()
        });
        let mut expected_e2e = SimDuration::from_secs_f64(prefill).as_nanos();
        for k in 0..u64::from(output - 1) {
            let step = r.iteration_time(&BatchWork {
                decode_requests: 1.0,
                decode_context_tokens: (u64::from(prompt) + k + 1) as f64,
                ..Default::default()
            });
            expected_e2e += SimDuration::from_secs_f64(step).as_nanos();
        }
        assert_eq!(report.completed, 1);
        assert_eq!(report.ttft.count(), 1);
        // Histograms quantise; the exact mean is the check.
        assert!(
            (report.ttft.mean_s() - SimDuration::from_secs_f64(prefill).as_secs_f64()).abs()
                < 1e-12
        );
        assert!((report.e2e.mean_s() - expected_e2e as f64 / 1e9).abs() < 1e-12);
        assert_eq!(report.iterations, u64::from(output));
        assert_eq!(report.prefill_iterations, 1);
    }

    /// Tokens delivered after the next step: a lone request's first token is seen
    /// when its first decode step ends (prefill + one step), its last at once (no
    /// step follows); under load every request is still accounted for once, and no
    /// first token is seen before it was computed.
    #[test]
    fn delivery_after_the_next_step_shifts_the_first_token_by_one_step() {
        let r = roofline();
        let (prompt, output) = (300u32, 50u32);
        let request = Request {
            id: 0,
            arrival: SimTime::from_secs(1),
            prompt,
            output,
            chain: 0,
        };
        let lagged = LlmServerConfig {
            deliver_after_next_step: true,
            ..config(10_000)
        };
        let now = simulate_llm_server(r.clone(), config(10_000), [request], None);
        let late = simulate_llm_server(r.clone(), lagged.clone(), [request], None);
        let first_step = SimDuration::from_secs_f64(r.iteration_time(&BatchWork {
            decode_requests: 1.0,
            decode_context_tokens: f64::from(prompt + 1),
            ..Default::default()
        }));
        assert!((late.ttft.mean_s() - now.ttft.mean_s() - first_step.as_secs_f64()).abs() < 1e-12);
        assert!((late.e2e.mean_s() - now.e2e.mean_s()).abs() < 1e-12);
        // A client latency adds to both, exactly.
        let far = LlmServerConfig {
            client_latency: SimDuration::from_millis(7),
            ..lagged.clone()
        };
        let far = simulate_llm_server(r.clone(), far, [request], None);
        assert!((far.ttft.mean_s() - late.ttft.mean_s() - 0.007).abs() < 1e-12);
        assert!((far.e2e.mean_s() - late.e2e.mean_s() - 0.007).abs() < 1e-12);
        let requests = poisson(2_000, 20.0, 512, 128);
        let lagged = LlmServerConfig {
            deliver_after_next_step: true,
            ..config(20_000)
        };
        let busy = simulate_llm_server(roofline(), lagged, requests.iter().copied(), None);
        let plain = simulate_llm_server(roofline(), config(20_000), requests, None);
        assert_eq!((busy.completed, busy.e2e.count()), (2_000, 2_000));
        assert_eq!(busy.ttft.count(), 2_000);
        // Same schedule (delivery changes no engine decision), later first tokens.
        assert_eq!(busy.iterations, plain.iterations);
        assert!(busy.ttft.mean_s() > plain.ttft.mean_s());
        // Each end is seen at most one step late: the longest step is a full
        // prefill batch.
        let longest = r.iteration_time(&BatchWork {
            prefill_tokens: 4096.0,
            prefill_attention_pairs: 8.0 * BatchWork::prefill_pairs(512.0, 0.0),
            decode_requests: 64.0,
            decode_context_tokens: 64.0 * 640.0,
        });
        let late_by = busy.e2e.mean_s() - plain.e2e.mean_s();
        assert!(
            late_by >= 0.0 && late_by < longest,
            "{late_by} s, step {longest} s"
        );
    }

    /// A client timeout aborts what the server cannot finish in time, running or
    /// waiting: every request either completes within the timeout (give or take the
    /// step that finished it) or is counted timed out, and none is left behind;
    /// without it the same requests all finish, many late.
    #[test]
    fn the_client_timeout_aborts_running_and_waiting_requests() {
        // Far over capacity: a small cache and long outputs.
        let requests = poisson(400, 10.0, 512, 600);
        let timeout = SimDuration::from_secs(30);
        let aborting = LlmServerConfig {
            client_timeout: Some(timeout),
            ..config(3_000)
        };
        let cut = simulate_llm_server(roofline(), aborting.clone(), requests.iter().copied(), None);
        // Request ids play no part (these all share id 0; a freed slot's deadline
        // must never end its next occupant): distinct ids give the same run.
        let distinct = requests
            .iter()
            .enumerate()
            .map(|(i, r)| Request { id: i as u64, ..*r });
        let named = simulate_llm_server(roofline(), aborting, distinct, None);
        assert_eq!(
            (named.completed, named.dropped, named.iterations),
            (cut.completed, cut.dropped, cut.iterations)
        );
        let patient = simulate_llm_server(roofline(), config(3_000), requests, None);
        assert_eq!(cut.arrivals, 400);
        assert_eq!(cut.completed + cut.dropped + cut.rejected, 400);
        assert!(cut.dropped > 100, "{} timed out", cut.dropped);
        // Aborted at an iteration's start: a completion can run past the deadline by
        // at most the iteration that finished it.
        assert!(
            cut.e2e.quantile_s(1.0) < timeout.as_secs_f64() + 1.0,
            "{} {} {} {}",
            cut.e2e.quantile_s(1.0),
            cut.e2e.quantile_s(0.5),
            cut.completed,
            cut.dropped
        );
        // Without aborts every request finishes, many of them past the deadline.
        assert_eq!(patient.completed, 400);
        assert!(patient.e2e.quantile_s(0.9) > timeout.as_secs_f64());
        assert_eq!(cut.in_flight_at_end, 0);
    }

    #[test]
    fn requests_are_conserved_when_the_run_stops_midway() {
        let requests = poisson(2_000, 20.0, 512, 128);
        let report = simulate_llm_server(
            roofline(),
            config(20_000),
            requests,
            Some(SimTime::from_secs(60)),
        );
        assert!(report.completed > 0 && report.in_flight_at_end > 0);
        assert_eq!(
            report.arrivals,
            report.completed + report.rejected + report.in_flight_at_end
        );
        assert_eq!(report.e2e.count(), report.completed);
    }

    /// Preemption and slot reuse together: a freed slot goes to a new request while
    /// finish entries of its earlier occupant are still in the heap. Such an entry
    /// once matched the newcomer (epochs restarted at zero on reuse), finishing it
    /// early or, while it waited, freeing it a second time: requests were counted
    /// twice and the decode counters underflowed into an endless preemption loop.
    /// It takes a rejection to leave such an entry behind: a preempted request whose
    /// recompute outgrew the token budget leaves with its finish entry still queued.
    /// With varied sizes, a cache far too small and a budget that long recomputes
    /// outgrow, every request is accounted for exactly once, at any horizon.
    #[test]
    fn reused_slots_never_inherit_finish_entries_of_earlier_requests() {
        use rand::RngExt;
        let mut rng = inferscale_engine::RngStreams::new(11, 0).stream("sizes");
        let mut requests = poisson(600, 40.0, 0, 0);
        for r in &mut requests {
            r.prompt = rng.random_range(1_800..2_040);
            r.output = rng.random_range(100..1_000);
        }
        for chunked in [false, true] {
            let config = LlmServerConfig {
                chunked_prefill: chunked,
                max_batched_tokens: 2_048,
                ..config(600)
            };
            for horizon in [20, 60, 200] {
                let report = simulate_llm_server(
                    roofline(),
                    config.clone(),
                    requests.iter().copied(),
                    Some(SimTime::from_secs(horizon)),
                );
                assert_eq!(
                    report.arrivals,
                    report.completed + report.rejected + report.dropped + report.in_flight_at_end,
                    "chunked {chunked}, horizon {horizon}s"
                );
            }
            let report =
                simulate_llm_server(roofline(), config.clone(), requests.iter().copied(), None);
            assert!(
                report.preemptions > 100,
                "{} preemptions",
                report.preemptions
            );
            assert_eq!(report.completed + report.rejected, 600, "chunked {chunked}");
            assert_eq!(report.e2e.count(), report.completed);
            // Only the unchunked engine refuses recomputes (chunks fit any budget).
            assert_eq!(
                report.rejected > 0,
                !chunked,
                "{} rejected",
                report.rejected
            );
        }
    }

    /// A cache far too small for the load forces preemptions; the cache is never
    /// overcommitted and every request still finishes.
    #[test]
    fn a_small_cache_preempts_but_never_overflows() {
        let kv_blocks = 400; // 6,400 tokens: about ten 640-token requests
        let requests = poisson(300, 50.0, 512, 128);
        let report = simulate_llm_server(roofline(), config(kv_blocks), requests, None);
        assert!(report.preemptions > 0, "no preemption at all");
        assert!(report.peak_kv_blocks <= kv_blocks);
        assert_eq!(report.completed + report.rejected, 300);
        assert_eq!(report.rejected, 0);
        assert_eq!(report.output_tokens, 300 * 128);
    }

    #[test]
    fn impossible_requests_are_rejected_and_counted() {
        let requests = vec![
            Request {
                id: 0,
                arrival: SimTime::ZERO,
                prompt: 5000,
                output: 10,
                chain: 0,
            }, // over the token budget
            Request {
                id: 0,
                arrival: SimTime::ZERO,
                prompt: 100,
                output: 0,
                chain: 0,
            }, // nothing to generate
            Request {
                id: 0,
                arrival: SimTime::ZERO,
                prompt: 100,
                output: 10,
                chain: 0,
            },
        ];
        let report = simulate_llm_server(roofline(), config(1000), requests, None);
        assert_eq!(
            (report.arrivals, report.rejected, report.completed),
            (3, 2, 1)
        );
    }

    /// More load gives bigger decode batches and a longer TPOT, but more throughput.
    #[test]
    fn batching_trades_latency_for_throughput() {
        let light =
            simulate_llm_server(roofline(), config(50_000), poisson(400, 1.0, 256, 64), None);
        let heavy = simulate_llm_server(
            roofline(),
            config(50_000),
            poisson(400, 20.0, 256, 64),
            None,
        );
        assert!(heavy.mean_decode_batch > 4.0 * light.mean_decode_batch);
        assert!(heavy.tpot.quantile_s(0.5) > light.tpot.quantile_s(0.5));
        let rate = |r: &LlmReport| r.output_tokens as f64 / r.last_completion_s;
        assert!(rate(&heavy) > 5.0 * rate(&light));
    }

    /// Chunked prefill: a 3,000-token prompt under a 1,024-token budget takes three
    /// iterations of 1,024, 1,024 and 952 tokens, each attending to the chunks before.
    #[test]
    fn chunked_prefill_splits_a_long_prompt_exactly() {
        let r = roofline();
        let mut cfg = config(10_000);
        cfg.max_batched_tokens = 1024;
        cfg.chunked_prefill = true;
        let request = Request {
            id: 0,
            arrival: SimTime::ZERO,
            prompt: 3000,
            output: 2,
            chain: 0,
        };
        let report = simulate_llm_server(r.clone(), cfg, [request], None);
        let mut ttft = 0u64;
        for (chunk, before) in [(1024.0, 0.0), (1024.0, 1024.0), (952.0, 2048.0)] {
            let t = r.iteration_time(&BatchWork {
                prefill_tokens: chunk,
                prefill_attention_pairs: BatchWork::prefill_pairs(chunk, before),
                ..Default::default()
            });
            ttft += SimDuration::from_secs_f64(t).as_nanos();
        }
        assert!((report.ttft.mean_s() - ttft as f64 / 1e9).abs() < 1e-12);
        assert_eq!(report.prefill_iterations, 3);
        assert_eq!(report.iterations, 4);
        assert_eq!(report.completed, 1);
    }

    /// The point of chunked prefill: long prompts stop stalling decodes, so the
    /// time between tokens of running requests gets shorter.
    #[test]
    fn chunked_prefill_shortens_decode_stalls() {
        let requests = poisson(400, 4.0, 3000, 100);
        let mut cfg = config(50_000);
        let plain = simulate_llm_server(roofline(), cfg.clone(), requests.clone(), None);
        cfg.max_batched_tokens = 512;
        cfg.chunked_prefill = true;
        let chunked = simulate_llm_server(roofline(), cfg, requests, None);
        assert_eq!((plain.completed, chunked.completed), (400, 400));
        assert_eq!(chunked.output_tokens, 400 * 100);
        assert!(
            chunked.tpot.quantile_s(0.9) < plain.tpot.quantile_s(0.9),
            "TPOT p90 chunked {} vs plain {}",
            chunked.tpot.quantile_s(0.9),
            plain.tpot.quantile_s(0.9)
        );
    }

    #[test]
    fn chunked_mode_conserves_requests_and_respects_the_cache() {
        let mut cfg = config(400);
        cfg.chunked_prefill = true;
        cfg.max_batched_tokens = 256;
        let report = simulate_llm_server(roofline(), cfg, poisson(300, 50.0, 512, 128), None);
        assert!(report.peak_kv_blocks <= 400);
        assert_eq!(report.completed, 300);
        assert_eq!(report.output_tokens, 300 * 128);
    }

    #[test]
    fn requests_waiting_past_the_timeout_are_dropped_and_counted() {
        let mut cfg = config(50_000);
        cfg.timeout = Some(SimDuration::from_secs(2));
        // 600 requests in 6 s, far more than one replica prefills in time.
        let report = simulate_llm_server(roofline(), cfg, poisson(600, 100.0, 2000, 50), None);
        assert!(report.dropped > 0, "nothing timed out");
        assert_eq!(
            report.arrivals,
            report.completed + report.dropped + report.rejected
        );
        // Nobody who was served waited more than the timeout for admission, so every
        // TTFT is at most the timeout plus one prefill iteration.
        assert!(report.ttft.quantile_s(1.0) < 2.0 + 1.0);
    }

    /// The latest instant a request can still meet its SLA, worked out by hand.
    #[test]
    fn an_sla_deadline_is_the_latest_completion_its_targets_allow() {
        let at = |s: f64| SimTime::from_secs_f64(s);
        let ms = SimDuration::from_millis;
        let request = Request {
            id: 0,
            arrival: at(10.0),
            prompt: 100,
            output: 11,
            chain: 0,
        };
        let both = Sla {
            ttft: Some(ms(2000)),
            tpot: Some(ms(100)),
            e2e: None,
        };
        // No first token yet: 10 s + 2 s + 10 tokens × 100 ms.
        assert_eq!(both.deadline(&request, None), Some(at(13.0)));
        // First token at 11 s: 10 more tokens by 12 s.
        assert_eq!(both.deadline(&request, Some(at(11.0))), Some(at(12.0)));
        let with_e2e = Sla {
            e2e: Some(ms(1500)),
            ..both
        };
        assert_eq!(with_e2e.deadline(&request, None), Some(at(11.5)));
        let ttft_only = Sla {
            ttft: Some(ms(2000)),
            ..Sla::default()
        };
        assert_eq!(ttft_only.deadline(&request, None), Some(at(12.0)));
        assert_eq!(ttft_only.deadline(&request, Some(at(11.0))), None);
        assert!(ttft_only.met_before_completion(&request, Some(at(11.0))));
        assert!(!ttft_only.met_before_completion(&request, Some(at(12.5))));
        assert!(!ttft_only.met_before_completion(&request, None));
        assert!(!both.met_before_completion(&request, Some(at(11.0))));
        assert!(Sla::default().met_before_completion(&request, None));
        assert_eq!(Sla::default().deadline(&request, None), None);
    }

    /// vLLM's automatic prefix caching, replica by replica: a request whose 2,000
    /// prompt tokens are all cached computes only its last block (the last token is
    /// always computed: 124 of its 125 blocks are reused), so its prefill is the
    /// roofline's time for 16 tokens after 1,984 of context, not 2,000; without
    /// caching both take the full prefill. The blocks all come back.
    #[test]
    fn a_cached_prefix_is_not_prefilled_again() {
        let full = roofline().iteration_time(&BatchWork {
            prefill_tokens: 2000.0,
            prefill_attention_pairs: BatchWork::prefill_pairs(2000.0, 0.0),
            ..BatchWork::default()
        });
        let tail = roofline().iteration_time(&BatchWork {
            prefill_tokens: 16.0,
            prefill_attention_pairs: BatchWork::prefill_pairs(16.0, 1984.0),
            ..BatchWork::default()
        });
        // (The tail is bound by reading the weights once: 17 ms against 137 ms.)
        assert!(tail < full / 5.0, "{tail} against {full}");
        let chain = crate::prefix_cache::chain_hashes(0..125);
        for caching in [true, false] {
            let config = LlmServerConfig {
                prefix_caching: caching,
                ..config(10_000)
            };
            let mut replica = LlmReplica::new(roofline(), config, SimTime::ZERO);
            let mut out = Outcomes::new(Sla::default());
            let mut now = SimTime::ZERO;
            let mut prefill = Vec::new();
            for id in 0..2 {
                let request = Request {
                    id,
                    arrival: now,
                    prompt: 2000,
                    output: 1,
                    chain: 0,
                };
                replica.enqueue_with_prefix(request, &mut chain.clone());
                let took = replica.start_iteration(now, &mut out).unwrap();
                prefill.push(took.as_secs_f64());
                now += took;
                replica.complete_iteration(now, &mut out);
                assert!(replica.start_iteration(now, &mut out).is_none());
                assert_eq!(replica.kv_blocks_used(), 0, "every block comes back");
            }
            // Durations are whole nanoseconds.
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9;
            assert!(close(prefill[0], full), "{prefill:?} {full}");
            let counts = replica.cache_counts();
            if caching {
                assert!(close(prefill[1], tail), "{prefill:?} {tail}");
                assert_eq!((counts.queried_blocks, counts.hit_blocks), (248, 124));
            } else {
                assert!(close(prefill[1], full), "{prefill:?}");
                assert_eq!(counts, Default::default());
            }
            assert_eq!(out.completed, 2);
        }
    }

    /// A replica that switches to its pool mid-run (a chained request arrives while
    /// unchained ones run) keeps its count: every block returns when all finish.
    #[test]
    fn switching_to_the_pool_keeps_the_blocks_in_use() {
        let mut replica = LlmReplica::new(roofline(), config(10_000), SimTime::ZERO);
        let mut out = Outcomes::new(Sla::default());
        let mut now = SimTime::ZERO;
        for id in 0..3 {
            replica.enqueue(Request {
                id,
                arrival: now,
                prompt: 300,
                output: 40,
                chain: 0,
            });
        }
        let took = replica.start_iteration(now, &mut out).unwrap();
        now += took;
        replica.complete_iteration(now, &mut out);
        let used = replica.kv_blocks_used();
        assert!(used >= 3 * 19, "{used}");
        replica.enqueue_with_prefix(
            Request {
                id: 9,
                arrival: now,
                prompt: 500,
                output: 40,
                chain: 0,
            },
            &mut crate::prefix_cache::chain_hashes(0..31),
        );
        assert_eq!(replica.kv_blocks_used(), used, "the switch keeps the count");
        while let Some(took) = replica.start_iteration(now, &mut out) {
            now += took;
            replica.complete_iteration(now, &mut out);
        }
        assert_eq!(out.completed, 4);
        assert_eq!(replica.kv_blocks_used(), 0);
        assert_eq!(replica.cache_counts().queried_blocks, 31);
    }
}
