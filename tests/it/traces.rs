//! The traces under `data/traces/` replay as they are: every request,
//! at its time, with its token counts.

use inferscale::workload::{TraceFormat, TraceReader, TraceRequest};

use crate::support::traces_dir;

fn replay(path: &str, format: TraceFormat) -> Vec<TraceRequest> {
    let path = traces_dir().join(path);
    TraceReader::open(&path, format)
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_azure_conversation_trace_replays_exactly() {
    let requests = replay(
        "azure_llm_2023/AzureLLMInferenceTrace_conv.csv",
        TraceFormat::AzureLlm,
    );
    assert_eq!(requests.len(), 19_366);
    // First row: 2023-11-16 18:15:46.6805900,374,44.
    assert_eq!(
        requests[0],
        TraceRequest {
            time_s: 0.0,
            input_tokens: 374,
            output_tokens: 44,
            prefix_blocks: vec![],
            shared_text: None,
        }
    );
    // Last row: 2023-11-16 19:14:08.4025270,197,183 — 58 min 21.7219370 s later.
    let last = &requests[requests.len() - 1];
    assert_eq!((last.input_tokens, last.output_tokens), (197, 183));
    assert!((last.time_s - 3501.721937).abs() < 1e-6, "{}", last.time_s);
}

#[test]
fn the_mooncake_conversation_trace_replays_exactly() {
    let requests = replay("mooncake/conversation_trace.jsonl", TraceFormat::Mooncake);
    assert_eq!(requests.len(), 12_031);
    let first = &requests[0];
    assert_eq!(
        (first.time_s, first.input_tokens, first.output_tokens),
        (0.0, 6758, 500)
    );
    let last = &requests[requests.len() - 1];
    assert_eq!(
        (last.time_s, last.input_tokens, last.output_tokens),
        (3536.999, 20_774, 508)
    );
    // Every request keeps its prefix blocks: one id per 512-token block of its prompt,
    // and 105,710 of the 288,500 blocks (36.64%) repeat a block seen before — the
    // prefix sharing a prefix cache exploits (counted with Python's json module).
    let mut seen = std::collections::HashSet::new();
    let (mut blocks, mut repeats) = (0u64, 0u64);
    for r in &requests {
        assert_eq!(
            r.prefix_blocks.len() as u32,
            r.input_tokens.div_ceil(512),
            "{r:?}"
        );
        for &id in &r.prefix_blocks {
            blocks += 1;
            repeats += u64::from(!seen.insert(id));
        }
    }
    assert_eq!((blocks, repeats), (288_500, 105_710));
}

/// The whole path: a scenario that replays the Azure trace serves every request of it.
#[test]
fn a_scenario_replays_the_azure_trace_end_to_end() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let dir = crate::support::TempDir::new("azure-replay");
    let out = crate::support::inferscale(&[
        "run",
        "scenarios/azure-conv-replay.yaml",
        "-q",
        "--out",
        dir.str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let runs = inferscale::report::read_parquet(&dir.join("runs.parquet")).unwrap();
    let batch = &runs.batches[0];
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .value(0)
    };
    // Every request of the trace arrives (the scenario has no warm-up).
    assert_eq!(col("arrivals"), 19_366);
    assert_eq!(
        col("arrivals"),
        col("completed") + col("dropped") + col("rejected") + col("in_flight_at_end")
    );
}

/// ShareGPT lengths drawn jointly: the scenario reads every row of the reference file.
#[test]
fn a_scenario_draws_sharegpt_lengths_jointly() {
    let csv = traces_dir().join("length_only/sharegpt_8k_filtered_stats_llama2_tokenizer.csv");
    let text = format!(
        "name: sharegpt\nduration: 10m\nhardware:\n  - {{name: gpu, preset: a100-80gb, boot_time: 0s}}\nmodels:\n  - name: chat\n    llm: {{preset: llama-3.1-8b}}\n    placement: gpu\nworkload:\n  - model: chat\n    arrivals: {{poisson: {{rate: 2/s}}}}\n    sizes: {{empirical: {{path: {}, input_column: num_prefill_tokens, output_column: num_decode_tokens}}}}\n",
        csv.display()
    );
    let scenario =
        inferscale::scenario::parse(&text, "sharegpt.yaml").unwrap_or_else(|e| panic!("{e}"));
    let inferscale::scenario::System::Llm(system) = &scenario.system else {
        panic!("not a cluster")
    };
    let inferscale::scenario::RequestSource::Synthetic {
        sizes: inferscale::scenario::Sizes::Joint(pairs),
        ..
    } = &system.workloads[0].source
    else {
        panic!("not joint sizes")
    };
    assert_eq!(pairs.len(), 30_731);
    // The reference README gives the file's decode-token mean as 439.
    let (_, output_mean) = pairs.means();
    assert!((output_mean - 439.0).abs() < 1.0, "{output_mean}");
    let rows = inferscale::runner::run_replications(&scenario, Some(1)).unwrap();
    assert!(
        rows[0].arrivals > 1000 && rows[0].completed > 900,
        "{:?}",
        rows[0]
    );
}

fn cluster_scenario(name: &str, models: &[&str], workload: &str, duration: &str) -> String {
    let mut text = format!(
        "name: {name}\nduration: {duration}\nhardware:\n  - {{name: gpu, preset: a100-80gb, boot_time: 0s}}\nmodels:\n"
    );
    for m in models {
        text.push_str(&format!(
            "  - name: {m}\n    llm: {{preset: llama-3.1-8b}}\n    placement: gpu\n    replicas: 4\n    serving: {{container_start: 0s}}\n"
        ));
    }
    text.push_str("workload:\n");
    text.push_str(workload);
    text
}

/// Rate scaling by superposition and looping: two hours of the Azure hour looped at
/// rate scale 2 are exactly four copies of its 19,366 requests. The first request of
/// the third pass is sent on the horizon (2 h) itself and would reach the cluster a
/// client latency later (7.7 ms on the default `vllm` stack): not part of the run;
/// with no client latency (`tensorrt-llm`) it reaches the cluster on the horizon and
/// counts.
#[test]
fn a_looped_scaled_trace_replays_every_copy() {
    let csv = traces_dir().join("azure_llm_2023/AzureLLMInferenceTrace_conv.csv");
    let workload = format!(
        "  - model: chat\n    trace: {{path: {}, format: azure-llm, end: 1h, loop: true, rate_scale: 2}}\n",
        csv.display()
    );
    let text = cluster_scenario("looped", &["chat"], &workload, "2h");
    let scenario =
        inferscale::scenario::parse(&text, "looped.yaml").unwrap_or_else(|e| panic!("{e}"));
    let rows = inferscale::runner::run_replications(&scenario, Some(1)).unwrap();
    assert_eq!(rows[0].arrivals, 4 * 19_366);
    let text = text.replace(
        "serving: {container_start: 0s}",
        "serving: {container_start: 0s, engine: tensorrt-llm}",
    );
    let scenario =
        inferscale::scenario::parse(&text, "looped.yaml").unwrap_or_else(|e| panic!("{e}"));
    let rows = inferscale::runner::run_replications(&scenario, Some(1)).unwrap();
    assert_eq!(rows[0].arrivals, 4 * 19_366 + 1);
}

/// A generic CSV holding two models' requests feeds two workloads, each its own rows.
#[test]
fn a_generic_trace_feeds_several_models() {
    let dir = crate::support::TempDir::new("generic-trace");
    let path = dir.join("requests.csv");
    let mut text = String::from("time_s,model,input_tokens,output_tokens\n");
    for i in 0..300 {
        let model = if i % 3 == 0 { "embed" } else { "chat" };
        text.push_str(&format!(
            "{},{model},{},{}\n",
            f64::from(i) * 0.5,
            100 + i,
            10 + i % 7
        ));
    }
    std::fs::write(&path, text).unwrap();
    let workload = format!(
        "  - model: chat\n    trace: {{path: {p}, format: generic, model: chat}}\n  - model: embed\n    trace: {{path: {p}, format: generic, model: embed}}\n",
        p = path.display()
    );
    let text = cluster_scenario("generic", &["chat", "embed"], &workload, "10m");
    let scenario =
        inferscale::scenario::parse(&text, "generic.yaml").unwrap_or_else(|e| panic!("{e}"));
    let inferscale::scenario::System::Llm(system) = &scenario.system else {
        panic!("not a cluster")
    };
    let counts: Vec<u64> = system
        .workloads
        .iter()
        .map(|w| match &w.source {
            inferscale::scenario::RequestSource::Trace { window, .. } => window.requests,
            _ => panic!("not a trace"),
        })
        .collect();
    assert_eq!(counts, [200, 100]);
    let rows = inferscale::runner::run_replications(&scenario, Some(1)).unwrap();
    assert_eq!(rows[0].arrivals, 300);
    let bad = cluster_scenario(
        "generic",
        &["chat"],
        &format!(
            "  - model: chat\n    trace: {{path: {}, format: generic, model: rerank}}\n",
            path.display()
        ),
        "10m",
    );
    let err = inferscale::scenario::parse(&bad, "bad.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no request of") && err.contains("for model `rerank`"),
        "{err}"
    );
}

/// The 73 DeepSeek-R1 ServeGen clients superposed: the day's arrivals match the sum
/// over clients and windows of rate × 600 s, within 4 standard deviations of a renewal
/// count (variance ≈ cv² × rate × 600 per busy window).
#[test]
fn servegen_clients_replay_their_window_rates() {
    let dir = traces_dir().join("servegen/raw/reason/deepseek-r1");
    let (mut expected, mut variance) = (0.0, 0.0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split(',').collect();
            let (rate, cv): (f64, f64) = (cells[1].parse().unwrap(), cells[2].parse().unwrap());
            if !cells[3].is_empty() {
                expected += rate * 600.0;
                variance += cv * cv * rate * 600.0;
            }
        }
    }
    let workload = format!(
        "  - model: chat\n    arrivals: {{servegen: {{path: {}}}}}\n    input_tokens: 512\n    output_tokens: 64\n",
        dir.display()
    );
    let text = cluster_scenario("servegen", &["chat"], &workload, "24h");
    let scenario =
        inferscale::scenario::parse(&text, "servegen.yaml").unwrap_or_else(|e| panic!("{e}"));
    let inferscale::scenario::System::Llm(system) = &scenario.system else {
        panic!("not a cluster")
    };
    let inferscale::scenario::RequestSource::Synthetic { arrivals, .. } =
        &system.workloads[0].source
    else {
        panic!("not synthetic")
    };
    assert!((arrivals.mean_rate_over(86_400.0) * 86_400.0 - expected).abs() < 1e-6 * expected);
    let mut process = arrivals.clone();
    let mut rng = inferscale::engine::RngStreams::new(1, 0).stream("arrivals/0");
    let (mut t, mut n) = (inferscale::engine::SimTime::ZERO, 0u64);
    while let Some(next) = process.next_after(t, &mut rng) {
        t = next;
        n += 1;
    }
    let sigma = variance.sqrt();
    assert!(
        (n as f64 - expected).abs() < 4.0 * sigma,
        "{n} arrivals, expected {expected:.0} ± {sigma:.0}"
    );
}
