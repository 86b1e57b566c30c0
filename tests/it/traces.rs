//! The traces under `../shared/reference/traces/` replay as they are: every request,
//! at its time, with its token counts.

use inferscale::workload::{TraceFormat, TraceReader, TraceRequest};

use crate::support::reference_dir;

fn replay(path: &str, format: TraceFormat) -> Vec<TraceRequest> {
    let path = reference_dir().join("traces").join(path);
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
            output_tokens: 44
        }
    );
    // Last row: 2023-11-16 19:14:08.4025270,197,183 — 58 min 21.7219370 s later.
    let last = requests[requests.len() - 1];
    assert_eq!((last.input_tokens, last.output_tokens), (197, 183));
    assert!((last.time_s - 3501.721937).abs() < 1e-6, "{}", last.time_s);
}

#[test]
fn the_mooncake_conversation_trace_replays_exactly() {
    let requests = replay("mooncake/conversation_trace.jsonl", TraceFormat::Mooncake);
    assert_eq!(requests.len(), 12_031);
    assert_eq!(
        requests[0],
        TraceRequest {
            time_s: 0.0,
            input_tokens: 6758,
            output_tokens: 500
        }
    );
    assert_eq!(
        requests[requests.len() - 1],
        TraceRequest {
            time_s: 3536.999,
            input_tokens: 20_774,
            output_tokens: 508
        }
    );
}

/// The whole path: a scenario that replays the Azure trace serves every request of it.
#[test]
fn a_scenario_replays_the_azure_trace_end_to_end() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;
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
            .as_primitive::<UInt64Type>()
            .value(0)
    };
    assert_eq!(col("arrivals"), 19_366);
    assert_eq!(
        col("arrivals"),
        col("completed") + col("dropped") + col("rejected") + col("in_flight_at_end")
    );
}

/// ShareGPT lengths drawn jointly: the scenario reads every row of the reference file.
#[test]
fn a_scenario_draws_sharegpt_lengths_jointly() {
    let csv =
        reference_dir().join("traces/length_only/sharegpt_8k_filtered_stats_llama2_tokenizer.csv");
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
