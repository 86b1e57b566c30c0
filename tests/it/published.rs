//! The LLM performance model against published measurements.
//!
//! Source of every case: NVIDIA TensorRT-LLM, `docs/source/performance.md` (the
//! "Performance of TensorRT-LLM" page): A100 FP16 first-token latency at batch 1
//! (TensorRT-LLM v0.5) and static-batch peak throughput (v0.6.1), LLaMA-2 7B/70B and
//! GPT-J 6B. "A100" there is the SXM4 80 GB part (the 7B batch of 384 × 256 tokens needs
//! 65 GB). Static-batch throughput is B·O / (one prefill of B prompts + O − 1 decode
//! steps), which is how `gptSessionBenchmark` measures it.
//!
//! One reading of the source is an assumption, stated here: the v0.6.1 throughput
//! tables are per accelerator. The H100 table's header says so ("out tok/s/GPU"); the
//! A100 table's header says "out tok/s", but its TP = 2 rows are no faster than the
//! TP = 1 rows of the same model and lengths, which only a per-GPU figure explains.
//!
//! The efficiency defaults ([`Efficiency::CALIBRATED`]) are **fitted** here on four
//! calibration cases (a grid search minimising the worst log error) and **checked** on
//! the held-out cases. The test fails if the committed defaults drift from the fit or a
//! held-out case leaves its tolerance.

use inferscale::cluster::{AcceleratorSpec, BatchWork, Efficiency, LlmSpec, Roofline};
use inferscale::scenario::catalog;

#[derive(Clone, Copy, Debug)]
enum Measure {
    /// First-token latency at batch 1, seconds.
    FirstToken { input: u32 },
    /// Static batch: output tokens per second.
    Throughput { batch: u32, input: u32, output: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Calibrate,
    Check,
}

struct Case {
    model: &'static str,
    tp: u32,
    measure: Measure,
    published: f64,
    role: Role,
}

use Measure::*;
use Role::*;

const CASES: &[Case] = &[
    Case {
        model: "llama-2-7b",
        tp: 1,
        measure: FirstToken { input: 128 },
        published: 0.016,
        role: Calibrate,
    },
    Case {
        model: "llama-2-7b",
        tp: 1,
        measure: FirstToken { input: 2048 },
        published: 0.133,
        role: Calibrate,
    },
    Case {
        model: "llama-2-7b",
        tp: 1,
        measure: Throughput {
            batch: 60,
            input: 128,
            output: 2048,
        },
        published: 1928.0,
        role: Calibrate,
    },
    Case {
        model: "llama-2-70b",
        tp: 4,
        measure: FirstToken { input: 2048 },
        published: 0.377,
        role: Calibrate,
    },
    Case {
        model: "llama-2-70b",
        tp: 4,
        measure: FirstToken { input: 128 },
        published: 0.047,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 1,
        measure: FirstToken { input: 128 },
        published: 0.012,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 1,
        measure: FirstToken { input: 2048 },
        published: 0.129,
        role: Check,
    },
    Case {
        model: "llama-2-7b",
        tp: 1,
        measure: Throughput {
            batch: 384,
            input: 128,
            output: 128,
        },
        published: 5586.0,
        role: Check,
    },
    Case {
        model: "llama-2-7b",
        tp: 1,
        measure: Throughput {
            batch: 52,
            input: 2048,
            output: 128,
        },
        published: 591.0,
        role: Check,
    },
    Case {
        model: "llama-2-7b",
        tp: 2,
        measure: Throughput {
            batch: 64,
            input: 2048,
            output: 2048,
        },
        published: 782.0,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 1,
        measure: Throughput {
            batch: 512,
            input: 128,
            output: 128,
        },
        published: 6374.0,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 1,
        measure: Throughput {
            batch: 60,
            input: 2048,
            output: 128,
        },
        published: 670.0,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 2,
        measure: Throughput {
            batch: 120,
            input: 128,
            output: 2048,
        },
        published: 2192.0,
        role: Check,
    },
    Case {
        model: "gpt-j-6b",
        tp: 2,
        measure: Throughput {
            batch: 64,
            input: 2048,
            output: 2048,
        },
        published: 903.0,
        role: Check,
    },
];

fn a100() -> AcceleratorSpec {
    catalog::node_type("a100-80gb")
        .expect("catalog has a100-80gb")
        .accelerator
}

fn model(name: &str) -> LlmSpec {
    catalog::model(name).unwrap_or_else(|| panic!("catalog has {name}"))
}

/// The model's prediction for `case`, in the unit of `published`.
fn predict(case: &Case, efficiency: Efficiency) -> f64 {
    predict_with(case, &model(case.model), &a100(), efficiency)
}

fn predict_with(
    case: &Case,
    llm: &LlmSpec,
    accelerator: &AcceleratorSpec,
    efficiency: Efficiency,
) -> f64 {
    let roofline = Roofline::new(llm.clone(), accelerator.clone(), case.tp, efficiency);
    match case.measure {
        FirstToken { input } => {
            let n = f64::from(input);
            roofline.iteration_time(&BatchWork {
                prefill_tokens: n,
                prefill_attention_pairs: BatchWork::prefill_pairs(n, 0.0),
                ..Default::default()
            })
        }
        Throughput {
            batch,
            input,
            output,
        } => {
            let (b, i) = (f64::from(batch), f64::from(input));
            let mut total = roofline.iteration_time(&BatchWork {
                prefill_tokens: b * i,
                prefill_attention_pairs: b * BatchWork::prefill_pairs(i, 0.0),
                ..Default::default()
            });
            // Decode steps 1..output; the step time is piecewise linear in the context,
            // so every 16th step weighted by 16 sums it to well under 0.1%.
            let stride = 16;
            let mut step = 1;
            while step < output {
                let weight = f64::from(stride.min(output - step));
                let mid = f64::from(step) + (weight - 1.0) / 2.0;
                total += weight
                    * roofline.iteration_time(&BatchWork {
                        decode_requests: b,
                        decode_context_tokens: b * (i + mid),
                        ..Default::default()
                    });
                step += stride;
            }
            // Published per accelerator (see the module comment).
            b * f64::from(output) / total / f64::from(case.tp)
        }
    }
}

/// Grid search over compute and memory efficiency and the per-iteration and per-layer
/// overheads, minimising the worst |log error| over the calibration cases.
fn fit() -> Efficiency {
    let accelerator = a100();
    let calibration: Vec<(&Case, LlmSpec)> = CASES
        .iter()
        .filter(|c| c.role == Calibrate)
        .map(|c| (c, model(c.model)))
        .collect();
    let mut best = (f64::INFINITY, Efficiency::CALIBRATED);
    for c in 30..=100 {
        for m in 30..=100 {
            for iteration_ms in 0..=10 {
                for layer_us in (0..=500).step_by(25) {
                    let e = Efficiency {
                        compute: f64::from(c) / 100.0,
                        memory: f64::from(m) / 100.0,
                        kv_memory: f64::from(m) / 100.0,
                        iteration_overhead_s: f64::from(iteration_ms) * 1e-3,
                        prefill_layer_overhead_s: f64::from(layer_us) * 1e-6,
                        ..Efficiency::CALIBRATED
                    };
                    let mut worst = 0.0f64;
                    for (case, llm) in &calibration {
                        let err = (predict_with(case, llm, &accelerator, e) / case.published)
                            .ln()
                            .abs();
                        worst = worst.max(err);
                        if worst >= best.0 {
                            break;
                        }
                    }
                    if worst < best.0 {
                        best = (worst, e);
                    }
                }
            }
        }
    }
    best.1
}

#[test]
fn roofline_defaults_are_the_fit_and_hold_on_published_numbers() {
    let fitted = fit();
    let defaults = Efficiency::CALIBRATED;
    println!("fitted: {fitted:?}\ndefault: {defaults:?}");
    println!(
        "{:<12} {:>3} {:<44} {:>10} {:>10} {:>8}  role",
        "model", "tp", "measure", "published", "model", "error"
    );
    let mut failures = Vec::new();
    for case in CASES {
        let predicted = predict(case, defaults);
        let err = predicted / case.published - 1.0;
        println!(
            "{:<12} {:>3} {:<44} {:>10.4} {:>10.4} {:>+7.1}%  {:?}",
            case.model,
            case.tp,
            format!("{:?}", case.measure),
            case.published,
            predicted,
            100.0 * err,
            case.role
        );
        // Calibration cases must be fitted closely; held-out cases are the real test.
        // Measured at commit: calibration within 2.1%, held-out within 20.3% (GPT-J
        // first token at 128 tokens), all others within 11%.
        let tolerance = match case.role {
            Calibrate => 0.05,
            Check => 0.25,
        };
        if err.abs() > tolerance {
            failures.push(format!(
                "{} {:?}: {:+.1}% (tolerance {:.0}%)",
                case.model,
                case.measure,
                100.0 * err,
                100.0 * tolerance
            ));
        }
    }
    for (name, got, want, step) in [
        ("compute", defaults.compute, fitted.compute, 0.01),
        ("memory", defaults.memory, fitted.memory, 0.01),
        (
            "iteration_overhead_s",
            defaults.iteration_overhead_s,
            fitted.iteration_overhead_s,
            1e-3,
        ),
        (
            "prefill_layer_overhead_s",
            defaults.prefill_layer_overhead_s,
            fitted.prefill_layer_overhead_s,
            25e-6,
        ),
    ] {
        if (got - want).abs() > step / 2.0 {
            failures.push(format!(
                "Efficiency::CALIBRATED.{name} = {got} but the fit gives {want}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Classic serving against the same sources' independent column: NVIDIA's T4 tables
/// for ResNet-50 and BERT-base list, per batch size, both the batch latency (our input)
/// and the measured throughput. A saturated replica with `max_batch` = b must reproduce that throughput
/// through the whole cluster path (routing, dynamic batching, completions).
/// Measured at commit: ResNet-50 −3.6% to −5.8% (the published throughput runs batches
/// back to back slightly faster than their averaged latency implies); BERT-base within
/// ±1.5% (its table gives the median latency, which we use).
#[test]
fn dynamic_batching_reproduces_published_t4_throughput() {
    use inferscale::cluster::{
        ClassicServerConfig, ClusterConfig, Deployment, NodePool, Request, RequestStream,
        RoutingPolicy, Serving, Sla, simulate_cluster,
    };
    use inferscale::engine::{RngStreams, SimDuration, SimTime};

    let classic = catalog::classic().unwrap();
    let node_type = catalog::node_type("t4").unwrap();
    // [DLE-RN50] "Throughput Avg", mixed precision, NVIDIA T4; [DLE-BERT] "Throughput-
    // Average", BERT-base, sequence 128, fp16, T4.
    for (model, batch, published) in [
        ("resnet-50", 16u32, 1050.0),
        ("resnet-50", 32, 1128.0),
        ("resnet-50", 64, 1165.0),
        ("resnet-50", 128, 1190.0),
        ("resnet-50", 256, 1198.0),
        ("bert-base", 4, 215.45),
        ("bert-base", 8, 289.52),
    ] {
        let entry = classic.iter().find(|e| e.name == model).unwrap();
        let profile = entry.profile("t4").expect("measured on t4");
        let config = ClusterConfig {
            pools: vec![NodePool {
                node_type: node_type.clone(),
                billing_granularity: SimDuration::from_secs(1),
                billing_minimum: SimDuration::from_secs(60),
                spot: None,
                reserved: None,
            }],
            models: vec![Deployment {
                name: "rn50".into(),
                serving: Serving::Classic {
                    profile: profile.clone(),
                    server: ClassicServerConfig {
                        max_batch: batch,
                        max_queue_delay: SimDuration::ZERO,
                    },
                },
                pool: 0,
                replicas: 1,
                container_start: SimDuration::from_secs(1),
                sla: Sla::default(),
                routing: RoutingPolicy::RoundRobin,
                max_queue: Some(100_000),
                initial_ready: false,
            }],
            warmup: SimTime::ZERO,
            horizon: SimTime::from_secs(400),
            sample_interval: Some(SimDuration::from_secs(10)),
            replica_changes: Vec::new(),
            router_groups: Vec::new(),
            watchdog: Default::default(),
        };
        // 3,000 images/s: well past what one T4 serves.
        let flood = (0..1_200_000u64).map(|i| Request {
            id: 0,
            arrival: SimTime::from_nanos(i * 333_333),
            prompt: 0,
            output: 1,
            chain: 0,
        });
        let report = simulate_cluster(
            config,
            vec![RequestStream {
                model: 0,
                requests: Box::new(inferscale::workload::PlainArrivals(flood)),
            }],
            &RngStreams::new(1, 0),
        )
        .expect("a classic model's run finishes");
        let last: Vec<_> = report
            .timeseries
            .iter()
            .filter(|s| s.time > SimTime::from_secs(300))
            .collect();
        let throughput =
            last.iter().map(|s| s.completions).sum::<u64>() as f64 / (10.0 * last.len() as f64);
        let err = throughput / published - 1.0;
        println!(
            "T4 {model} batch {batch:>3}: simulated {throughput:7.1}/s, published {published:7.1} ({:+.1}%)",
            100.0 * err
        );
        assert!(
            err.abs() < 0.10,
            "batch {batch}: {throughput:.1} vs {published} img/s ({:+.1}%)",
            100.0 * err
        );
    }
}
