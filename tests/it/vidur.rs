//! Cross-check with a peer simulator: Vidur (microsoft/vidur) on Llama-2-70B, 2 × A100
//! 80 GB with tensor parallelism 2, vLLM-style scheduling, 1,000 requests of 512 + 128
//! tokens at Poisson 2/s (`data/reference/vidur/`). The same arrival sequence is
//! replayed here with the same scheduler limits and KV blocks, on the `splitwise-2023`
//! serving stack: fitted on Splitwise's measured DGX-A100 batches of the same model
//! (a 2023 stack on the same hardware, as Vidur's profiles are), not on this case.
//! The `tensorrt-llm` stack, the roofline's first calibration, is reported beside it.

use inferscale::cluster::{Efficiency, LlmServerConfig, Request, Roofline, simulate_llm_server};
use inferscale::engine::SimTime;
use inferscale::scenario::catalog;

use crate::support::reference_dir;

/// The serving stack this test holds to Vidur's numbers.
const VIDUR_STACK: &str = "splitwise-2023";

fn efficiency(stack: &str) -> Efficiency {
    catalog::engine(stack)
        .unwrap_or_else(|| panic!("the catalog has `{stack}`"))
        .efficiency()
}

/// Reads a CSV into (header, rows) of strings.
fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = reference_dir().join("vidur").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[i].parse().unwrap()).collect()
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * (v.len() - 1) as f64).round() as usize;
    v[rank]
}

fn workload() -> Vec<Request> {
    let (header, rows) = read_csv("ref_workload_poisson2_fixed512x128_seed42.csv");
    let at = column(&header, &rows, "arrived_at");
    let prompt = column(&header, &rows, "num_prefill_tokens");
    let output = column(&header, &rows, "num_decode_tokens");
    (0..at.len())
        .map(|i| Request {
            id: 0,
            arrival: SimTime::from_secs_f64(at[i]),
            prompt: prompt[i] as u32,
            output: output[i] as u32,
            chain: 0,
        })
        .collect()
}

/// The replica as Vidur configured it: batch cap 128, 4,096 tokens per batch,
/// 16-token blocks, 3,328 blocks (Vidur's figure for a 10% memory margin), 1% watermark.
fn replica() -> (Roofline, LlmServerConfig) {
    let model = catalog::model("llama-2-70b").unwrap();
    let gpu = catalog::node_type("a100-80gb").unwrap().accelerator;
    let roofline = Roofline::new(model, gpu, 2, efficiency(VIDUR_STACK));
    let config = LlmServerConfig {
        max_batch: 128,
        max_batched_tokens: 4096,
        block_size: 16,
        kv_blocks: 3328,
        watermark_blocks: 33,
        chunked_prefill: false,
        timeout: None,
        max_model_len: None,
        prefix_caching: true,
        client_latency: inferscale::engine::SimDuration::ZERO,
        deliver_after_next_step: false,
        client_timeout: None,
    };
    (roofline, config)
}

#[test]
fn llama2_70b_on_two_a100s_against_vidur() {
    let (roofline, config) = replica();
    let ours = simulate_llm_server(roofline.clone(), config.clone(), workload(), None);
    assert_eq!(ours.completed, 1000);
    assert_eq!(ours.rejected, 0);

    let (header, rows) = read_csv("ref_vllm_request_metrics.csv");
    let theirs_ttft = column(&header, &rows, "prefill_e2e_time");
    let theirs_tpot = column(
        &header,
        &rows,
        "decode_time_execution_plus_preemption_normalized",
    );
    let theirs_e2e = column(&header, &rows, "request_e2e_time");

    // Saturation: 1,000 requests offered at 100/s, as in Vidur's saturation run.
    let flood: Vec<Request> = (0..1000)
        .map(|i| Request {
            id: 0,
            arrival: SimTime::from_secs_f64(f64::from(i) / 100.0),
            prompt: 512,
            output: 128,
            chain: 0,
        })
        .collect();
    let saturated = simulate_llm_server(roofline, config, flood, None);
    let saturated_rps = saturated.completed as f64 / saturated.last_completion_s;

    println!(
        "{:<22} {:>10} {:>10} {:>8}",
        "metric", "Vidur", "inferscale", "ratio"
    );
    let mut ratios = Vec::new();
    for (name, theirs, ours) in [
        (
            "TTFT p50 (s)",
            percentile(&theirs_ttft, 0.5),
            ours.ttft.quantile_s(0.5),
        ),
        (
            "TTFT p90 (s)",
            percentile(&theirs_ttft, 0.9),
            ours.ttft.quantile_s(0.9),
        ),
        (
            "TPOT p50 (s)",
            percentile(&theirs_tpot, 0.5),
            ours.tpot.quantile_s(0.5),
        ),
        (
            "TPOT p90 (s)",
            percentile(&theirs_tpot, 0.9),
            ours.tpot.quantile_s(0.9),
        ),
        (
            "e2e p50 (s)",
            percentile(&theirs_e2e, 0.5),
            ours.e2e.quantile_s(0.5),
        ),
        (
            "e2e p90 (s)",
            percentile(&theirs_e2e, 0.9),
            ours.e2e.quantile_s(0.9),
        ),
        ("saturation req/s", 3.11, saturated_rps),
    ] {
        println!(
            "{name:<22} {theirs:>10.4} {ours:>10.4} {:>8.2}",
            ours / theirs
        );
        ratios.push((name, ours / theirs));
    }
    println!(
        "inferscale: mean decode batch {:.1}, peak KV {:.0}%, preemptions {}",
        ours.mean_decode_batch,
        100.0 * ours.peak_kv_blocks as f64 / 3328.0,
        ours.preemptions
    );
    // The bar: p50 TPOT and p50 end-to-end within 25% of Vidur's. Every ratio
    // and its reasons are in benches/README.md. The run has no randomness (the arrival
    // sequence is Vidur's own), so the ratios are exact and the test cannot flake.
    // Measured at commit on splitwise-2023: TTFT p50 0.97, TPOT p50 1.09, e2e p50
    // 1.08, saturation 1.02 (tensorrt-llm: 0.87, 0.78, 0.78, 1.19).
    for (name, ratio) in &ratios {
        if name.starts_with("TPOT p50")
            || name.starts_with("e2e p50")
            || name.starts_with("TTFT p50")
            || name.starts_with("saturation")
        {
            assert!(
                (ratio - 1.0).abs() <= 0.25,
                "{name}: inferscale/Vidur = {ratio:.3}, outside ±25%"
            );
        }
        // The others are reported, and held to a looser sanity bound.
        assert!(
            (0.5..=2.0).contains(ratio),
            "{name}: inferscale/Vidur = {ratio:.3}"
        );
    }
}
