//! Prefix caching through the whole simulator: a scenario replaying the Mooncake
//! conversation trace on one replica that serves one request at a time, its hit
//! counts read from the run's own results, against a least-recently-used list over
//! the trace's blocks computed here from the trace file alone.
//!
//! The replica's engine blocks are 16 tokens; the trace names 512-token blocks. An
//! engine block is named by the trace block holding its last token and that token's
//! offset, and a block hits only when every block before it does (a prefix): the key
//! of block `j` here is a hash of the names of blocks `0..=j`, taken with the
//! standard library's hasher, not the simulator's. Past the blocks a line lists, a
//! prompt's blocks are its own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use inferscale::workload::{TraceFormat, TraceReader};

use crate::support::traces_dir;

/// The engine's block.
const BLOCK: u64 = 16;
/// Llama-3.1-8B's context: a longer sequence has its output cut there.
const CONTEXT: u64 = 131_072;

/// One trace line: prompt and output tokens, and the prefix keys of the prompt's
/// full engine blocks.
struct Line {
    prompt: u64,
    output: u64,
    keys: Vec<u64>,
}

fn trace() -> Vec<Line> {
    let path = traces_dir().join("mooncake/conversation_trace.jsonl");
    let mut last_t = f64::NEG_INFINITY;
    TraceReader::open(&path, TraceFormat::Mooncake)
        .unwrap()
        .enumerate()
        .map(|(n, r)| {
            let r = r.unwrap();
            assert!(r.time_s >= last_t, "the trace is in time order");
            last_t = r.time_s;
            let prompt = u64::from(r.input_tokens);
            let mut parent = DefaultHasher::new();
            let keys = (0..prompt / BLOCK)
                .map(|j| {
                    let last = (j + 1) * BLOCK - 1;
                    match r.prefix_blocks.get((last / 512) as usize) {
                        Some(id) => ("trace", *id, last % 512).hash(&mut parent),
                        None => ("own", n as u64, j).hash(&mut parent),
                    }
                    parent.finish()
                })
                .collect();
            Line {
                prompt,
                output: u64::from(r.output_tokens.max(1)),
                keys,
            }
        })
        .collect()
}

/// (hits, lookups) of a cache of `capacity` blocks serving the lines one at a time,
/// as vLLM's block pool does: free blocks in LRU order (a cached key, or a block with
/// nothing findable in it); a request takes its cached prefix off the list, its
/// other blocks from the head — prompt blocks, then one per 16 tokens its decode
/// adds — and puts them all back at the tail, its last block first. A block whose key
/// is cached already (beyond the prefix that hit) keeps no key: the first copy stays
/// the findable one. A request whose prompt plus output cannot fit (beside vLLM's 1%
/// watermark) is refused, uncounted.
fn lru(lines: &[Line], capacity: u64) -> (u64, u64) {
    let usable = capacity - capacity / 100;
    // Free blocks by recency stamp (smallest: least recent), and where each cached
    // key's block is: its stamp in `free`, or `None` while the request holds it.
    let mut free: BTreeMap<u64, Option<u64>> = (0..capacity).map(|s| (s, None)).collect();
    let mut cached: HashMap<u64, Option<u64>> = HashMap::new();
    let mut stamp = capacity;
    let (mut hits, mut lookups) = (0u64, 0u64);
    for line in lines {
        if line.prompt >= CONTEXT {
            continue;
        }
        let output = line.output.min(CONTEXT - line.prompt);
        if (line.prompt + output).div_ceil(BLOCK) > usable {
            continue;
        }
        let limit = ((line.prompt - 1) / BLOCK) as usize;
        let hit = line.keys[..limit]
            .iter()
            .take_while(|k| cached.contains_key(*k))
            .count();
        hits += hit as u64;
        lookups += limit as u64;
        let mut held: Vec<Option<u64>> = Vec::new();
        for k in &line.keys[..hit] {
            if let Some(Some(s)) = cached.insert(*k, None) {
                free.remove(&s);
            }
            held.push(Some(*k));
        }
        // The prompt's other blocks (its last, partial one has no key), then the
        // decode's: the last token's KV is never stored.
        let prompt_blocks = line.prompt.div_ceil(BLOCK) as usize;
        let all_blocks = (line.prompt + output - 1).div_ceil(BLOCK) as usize;
        for i in hit..all_blocks {
            if let Some((_, Some(evicted))) = free.pop_first() {
                cached.remove(&evicted);
            }
            let key = line
                .keys
                .get(i)
                .filter(|k| i < prompt_blocks && !cached.contains_key(*k));
            if let Some(k) = key {
                cached.insert(*k, None);
            }
            held.push(key.copied());
        }
        for block in held.into_iter().rev() {
            free.insert(stamp, block);
            if let Some(k) = block {
                cached.insert(k, Some(stamp));
            }
            stamp += 1;
        }
    }
    (hits, lookups)
}

/// The scenario: the trace on one H100 replica of Llama-3.1-8B running one request at
/// a time, with `blocks` KV blocks (`None`: an accelerator with room for every block
/// of the trace).
fn simulated(blocks: Option<u64>) -> (u64, u64) {
    let trace = traces_dir().join("mooncake/conversation_trace.jsonl");
    let (memory, override_) = match blocks {
        Some(b) => (String::new(), format!(", num_gpu_blocks_override: {b}")),
        None => (", memory_gb: 20000".to_string(), String::new()),
    };
    let text = format!(
        "name: one-at-a-time\nseed: 1\nduration: 200h\nhardware:\n  - {{name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s{memory}}}\nmodels:\n  - name: chat\n    llm: {{preset: llama-3.1-8b}}\n    placement: gpu\n    replicas: 1\n    serving: {{max_batch: 1, max_batched_tokens: 131072, container_start: 0s{override_}}}\nworkload:\n  - model: chat\n    trace: {{path: {}, format: mooncake}}\n",
        trace.display()
    );
    let scenario =
        inferscale::scenario::parse(&text, "one-at-a-time.yaml").unwrap_or_else(|e| panic!("{e}"));
    let run = inferscale::runner::run_one(&scenario, 0).unwrap();
    let model = &run.models[0];
    assert_eq!(
        model.completed + model.rejected,
        run.run.arrivals,
        "every request served or refused"
    );
    (model.cache_hit_blocks, model.cache_queried_blocks)
}

/// Runs the scenario `yaml` with the CLI in a fresh directory named after `label`:
/// the directory (removed when dropped) and the results folder in it.
fn run_cli(label: &str, yaml: &str) -> (crate::support::TempDir, std::path::PathBuf) {
    let dir = crate::support::TempDir::new(label);
    let file = dir.join("s.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = dir.join("out");
    crate::support::inferscale_ok(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    (dir, out)
}

/// A numeric column of a results table, nulls as NaN.
fn column(table: &inferscale::report::ParquetTable, name: &str) -> Vec<f64> {
    table
        .f64_column(name)
        .unwrap()
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// How long Llama-3.1-8B on one H100, on the serving stack `engine`, takes to
/// prefill `new` prompt tokens after `cached` ones: the roofline's iteration time.
fn prefill_on(engine: &str, new: f64, cached: f64) -> f64 {
    use inferscale::cluster::{BatchWork, Roofline};
    use inferscale::scenario::catalog;
    Roofline::new(
        catalog::model("llama-3.1-8b").unwrap(),
        catalog::node_type("h100-sxm").unwrap().accelerator,
        1,
        catalog::engine(engine).unwrap().efficiency(),
    )
    .iteration_time(&BatchWork {
        prefill_tokens: new,
        prefill_attention_pairs: BatchWork::prefill_pairs(new, cached),
        ..BatchWork::default()
    })
}

/// With room for everything, a block hits exactly when its prefix was seen before:
/// the share of repeated blocks, counted at the engine's blocks up to each prompt's
/// hit limit (the trace's own count, over its listed 512-token blocks, is 36.6%).
#[test]
fn an_unbounded_cache_hits_every_repeated_prefix_block() {
    let lines = trace();
    let mut seen = HashSet::new();
    let (mut repeated, mut lookups) = (0u64, 0u64);
    for line in &lines {
        let limit = ((line.prompt - 1) / BLOCK) as usize;
        lookups += limit as u64;
        repeated += line.keys[..limit]
            .iter()
            .take_while(|k| seen.contains(*k))
            .count() as u64;
        seen.extend(line.keys.iter().copied());
    }
    let (hits, queried) = simulated(None);
    eprintln!("unbounded: {hits} of {queried} blocks");
    assert_eq!((hits, queried), (repeated, lookups));
    let share = hits as f64 / queried as f64;
    assert!((share - 0.374).abs() < 0.005, "{share}");
}

/// With B blocks, the simulated hits are the LRU list's, exactly, for every B.
#[test]
fn a_bounded_cache_hits_as_a_least_recently_used_list() {
    let lines = trace();
    for blocks in [2_048u64, 8_192, 20_000] {
        let want = lru(&lines, blocks);
        assert!(want.0 > 0, "{blocks} blocks hit something");
        eprintln!("{blocks} blocks: {} of {}", want.0, want.1);
        assert_eq!(simulated(Some(blocks)), want, "{blocks} blocks");
    }
}

/// TTFT follows the hit rate as the prefill time predicts. A shared-prefix workload
/// (2 system prompts of 160 tokens, each shared by 3 users with 96-token questions:
/// 256-token prompts, 16 blocks) sent one request at a time, each with one output
/// token: its TTFT is one prefill iteration. The first prompt of each system prompt
/// computes all 256 tokens; the other prompts of the first cycle find the system
/// prompt's 10 blocks and compute the 96 question tokens after 160 cached; every
/// later request finds its whole prompt but pays one partial prefill — its last
/// block, 16 tokens after 240 cached (vLLM never caches a prompt's last token). On
/// the default stack (`vllm`) each TTFT also holds its client latency, once; the lone
/// token is delivered as its step ends, no step following it.
#[test]
fn ttft_falls_with_the_hit_rate_as_prefill_time_predicts() {
    let (_dir, out) = run_cli(
        "shared-prefix-ttft",
        "name: ttft-by-hits\nseed: 2\nduration: 10m\nhardware:\n  - {name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s}\nmodels:\n  - name: chat\n    llm: {preset: llama-3.1-8b}\n    placement: gpu\n    replicas: 1\n    initial: ready\n    serving: {container_start: 0s}\nworkload:\n  - model: chat\n    arrivals: {gamma: {rate: 1/s, cv: 0.01}}\n    sizes: {shared_prefix: {num_unique_system_prompts: 2, num_users_per_system_prompt: 3, system_prompt_len: 160, question_len: 96, output_len: 1}}\noutput: {requests: all}\n",
    );
    let requests = inferscale::report::read_parquet(&out.join("requests.parquet")).unwrap();
    let ttft: Vec<f64> = requests
        .f64_column("ttft_s")
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!(ttft.len() > 500, "{} requests", ttft.len());

    let client = inferscale::scenario::catalog::engine("vllm")
        .unwrap()
        .client_latency
        .0
        .as_secs_f64();
    assert!(client > 0.001, "{client}");
    let prefill = |new, cached| client + prefill_on("vllm", new, cached);
    let (cold, system, whole) = (
        prefill(256.0, 0.0),
        prefill(96.0, 160.0),
        prefill(16.0, 240.0),
    );
    assert!(cold > system && system > whole, "{cold} {system} {whole}");
    let mut counts = [0usize; 3];
    for t in &ttft {
        let case = [cold, system, whole]
            .iter()
            .position(|p| (t - p).abs() < 2e-9)
            .unwrap_or_else(|| panic!("TTFT {t} is none of {cold}, {system}, {whole}"));
        counts[case] += 1;
    }
    assert_eq!(
        counts[..2],
        [2, 4],
        "one cold prompt per system prompt, then 4 hits"
    );
    assert_eq!(counts[2], ttft.len() - 6);
}

/// Conversations close the loop and find their history cached, answers included.
/// Three turns of 1,024 new tokens and 512 output tokens each, 5 s apart, a
/// conversation every 40 s, so one replica serves each turn alone: turn k + 1 arrives
/// exactly 5 s after turn k's last token, and its TTFT is the prefill of what its
/// cache lacks — turn 2 (2,560 tokens) finds turn 1's prompt and the full blocks of
/// its answer (95 blocks, 1,520 tokens: the answer's last token is never stored, so
/// its last block is not full) and computes 1,040; turn 3 (4,096) finds 191 blocks
/// (3,056 tokens) and computes 1,040 again. On `tensorrt-llm`, whose first token
/// reaches the client as its step ends, with no latency of its own.
#[test]
fn conversations_wait_for_their_last_turn_and_find_their_history_cached() {
    let (_dir, out) = run_cli(
        "conversation-turns",
        "name: turns\nseed: 4\nduration: 1h\nhardware:\n  - {name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s}\nmodels:\n  - name: chat\n    llm: {preset: llama-3.1-8b}\n    placement: gpu\n    replicas: 1\n    initial: ready\n    serving: {container_start: 0s, engine: tensorrt-llm}\nworkload:\n  - model: chat\n    arrivals: {gamma: {rate: 0.025/s, cv: 0.01}}\n    sizes: {conversation: {turns: 3, think_time: 5s, input_tokens: 1024, output_tokens: 512}}\noutput: {requests: all}\n",
    );
    let table = inferscale::report::read_parquet(&out.join("requests.parquet")).unwrap();
    let col = |name: &str| column(&table, name);
    let (ids, arrival, ttft, e2e, input) = (
        col("request_id"),
        col("arrival_s"),
        col("ttft_s"),
        col("e2e_s"),
        col("input_tokens"),
    );
    let by_id: std::collections::HashMap<u64, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id as u64, i))
        .collect();

    // (prompt tokens, TTFT) per turn.
    let prefill = |new, cached| prefill_on("tensorrt-llm", new, cached);
    let want = [
        (1024.0, prefill(1024.0, 0.0)),
        (2560.0, prefill(1040.0, 1520.0)),
        (4096.0, prefill(1040.0, 3056.0)),
    ];
    let mut whole = 0;
    for conversation in 0u64.. {
        let Some(&first) = by_id.get(&(conversation << 8)) else {
            break;
        };
        for turn in 0..3u64 {
            let Some(&i) = by_id.get(&(conversation << 8 | turn)) else {
                // The run ended before this turn was sent.
                assert!(
                    arrival[first] > 3550.0,
                    "conversation {conversation} cut short"
                );
                break;
            };
            let (tokens, t) = want[turn as usize];
            assert_eq!(input[i], tokens, "conversation {conversation} turn {turn}");
            if e2e[i].is_finite() {
                assert!(
                    (ttft[i] - t).abs() < 2e-9,
                    "turn {turn}: TTFT {} vs {t}",
                    ttft[i]
                );
            }
            if turn > 0 {
                let last = by_id[&(conversation << 8 | (turn - 1))];
                let gap = arrival[i] - (arrival[last] + e2e[last]);
                assert!(
                    (gap - 5.0).abs() < 1e-6,
                    "turn {turn} came {gap} s after the last"
                );
            }
            if turn == 2 {
                whole += 1;
            }
        }
    }
    assert!(whole > 80, "{whole} whole conversations");
    // Without caching the answers, turn 2 would compute 1,536 tokens: far off.
    assert!((prefill(1536.0, 1024.0) - want[1].1).abs() > 1e-3);
}

/// A generic CSV trace says what its rows share by column: `conversation` (a row's
/// prompt is the conversation so far, its output continues it) or `prefix_group`
/// with `prefix_tokens` (a shared system prompt). Four rows far apart on one replica:
/// the second turn of conversation `a` (1,300 tokens) finds the first turn's prompt
/// and answer up to its last full block (1,199 tokens stored: 74 blocks); the second
/// row of group `sys` finds the group's 320 tokens (20 blocks). Looked up: each
/// prompt's full blocks but its last token's: 62 + 81 + 24 + 31.
#[test]
fn a_csv_trace_shares_by_conversation_and_prefix_group() {
    let dir = crate::support::TempDir::new("csv-shared");
    std::fs::write(
        dir.join("t.csv"),
        "time_s,input_tokens,output_tokens,conversation,prefix_group,prefix_tokens\n",
    )
    .unwrap();
    // Both kinds in one file are refused; one file each.
    std::fs::write(
        dir.join("conv.csv"),
        "time_s,input_tokens,output_tokens,conversation\n0,1000,200,a\n30,1300,100,a\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("group.csv"),
        "time_s,input_tokens,output_tokens,prefix_group,prefix_tokens\n60,400,10,sys,320\n90,500,10,sys,320\n",
    )
    .unwrap();
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        "name: csv-shared\nseed: 1\nduration: 5m\nhardware:\n  - {name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s}\nmodels:\n  - name: chat\n    llm: {preset: llama-3.1-8b}\n    placement: gpu\n    replicas: 1\n    initial: ready\n    serving: {container_start: 0s}\nworkload:\n  - model: chat\n    trace: {path: conv.csv, format: generic}\n  - model: chat\n    trace: {path: group.csv, format: generic}\n",
    )
    .unwrap();
    let scenario = inferscale::scenario::parse(
        &std::fs::read_to_string(&file).unwrap(),
        file.to_str().unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = inferscale::runner::run_one(&scenario, 0).unwrap();
    let m = &run.models[0];
    assert_eq!(m.completed, 4);
    assert_eq!(
        (m.cache_hit_blocks, m.cache_queried_blocks),
        (74 + 20, 62 + 81 + 24 + 31)
    );
    // A header with both columns is refused, located at the file.
    let both = file.to_str().unwrap().replace("s.yaml", "both.yaml");
    std::fs::write(
        &both,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("conv.csv", "t.csv"),
    )
    .unwrap();
    let err = inferscale::scenario::load(std::path::Path::new(&both))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`conversation` or `prefix_group`, not both"),
        "{err}"
    );
}

/// inference-perf's multi-turn chat (`enable_multi_turn_chat: true`): 4 users (2
/// system prompts of 160 tokens × 2), 96-token questions, 32 output tokens, at 4
/// requests/s. Request i is user `i mod 4`'s round `i div 4`: its prompt is the user's
/// context (system prompt, then each earlier round's question and answer: 128 tokens
/// a round) and its question, 256 + 128·(i div 4) tokens; and a user has one request
/// in flight, so request i + 4 is never sent before request i ended. (Chunked
/// prefill: the contexts pass the 8,192-token budget, which would refuse them.)
#[test]
fn inference_perf_multi_turn_users_carry_their_context_one_request_at_a_time() {
    let (_dir, out) = run_cli(
        "multi-turn-users",
        "name: users\nseed: 6\nduration: 2m\nhardware:\n  - {name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s}\nmodels:\n  - name: chat\n    llm: {preset: llama-3.1-8b}\n    placement: gpu\n    replicas: 1\n    initial: ready\n    serving: {container_start: 0s, chunked_prefill: true}\nworkload:\n  - model: chat\n    arrivals: {poisson: {rate: 4/s}}\n    sizes: {shared_prefix: {num_unique_system_prompts: 2, num_users_per_system_prompt: 2, system_prompt_len: 160, question_len: 96, output_len: 32, enable_multi_turn_chat: true}}\noutput: {requests: all}\n",
    );
    let table = inferscale::report::read_parquet(&out.join("requests.parquet")).unwrap();
    let col = |name: &str| column(&table, name);
    let (ids, arrival, e2e, input) = (
        col("request_id"),
        col("arrival_s"),
        col("e2e_s"),
        col("input_tokens"),
    );
    let by_seq: std::collections::HashMap<u64, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id as u64, i))
        .collect();
    assert!(by_seq.len() > 300, "{} requests", by_seq.len());
    let mut waited = 0;
    for (&seq, &i) in &by_seq {
        assert_eq!(input[i], 256.0 + 128.0 * (seq / 4) as f64, "request {seq}");
        if let Some(&next) = by_seq.get(&(seq + 4))
            && e2e[i].is_finite()
        {
            let end = arrival[i] + e2e[i];
            assert!(
                arrival[next] >= end - 1e-9,
                "request {} sent before {seq} ended",
                seq + 4
            );
            if (arrival[next] - end).abs() < 1e-9 {
                waited += 1;
            }
        }
    }
    assert!(waited > 0, "some request waited for its user");
    let runs = inferscale::report::read_parquet(&out.join("runs.parquet")).unwrap();
    let hit = runs.f64_column("cache_token_hit_rate").unwrap()[0].unwrap();
    assert!(hit > 0.6, "{hit}");
}

/// A client latency delays every request a conversation sends, its later turns as
/// its first: each turn's TTFT grows by exactly the latency (the conversations run
/// alone, so nothing else moves), and a later turn is sent the same think time after
/// the previous one's answer arrived.
#[test]
fn every_turn_of_a_conversation_pays_the_client_latency() {
    let scenario = |latency: &str| {
        format!(
            "name: turns\nseed: 4\nduration: 1h\nhardware:\n  - {{name: gpu, preset: h100-sxm, max_count: 1, boot_time: 0s}}\nmodels:\n  - name: chat\n    llm: {{preset: llama-3.1-8b}}\n    placement: gpu\n    replicas: 1\n    initial: ready\n    serving: {{container_start: 0s, client_latency: {latency}}}\nworkload:\n  - model: chat\n    arrivals: {{gamma: {{rate: 0.025/s, cv: 0.01}}}}\n    sizes: {{conversation: {{turns: 3, think_time: 5s, input_tokens: 1024, output_tokens: 512}}}}\noutput: {{requests: all}}\n"
        )
    };
    let read = |label: &str, latency: &str| {
        let (_dir, out) = run_cli(label, &scenario(latency));
        let table = inferscale::report::read_parquet(&out.join("requests.parquet")).unwrap();
        let ids = column(&table, "request_id");
        let ttft = column(&table, "ttft_s");
        let by_id: std::collections::HashMap<u64, f64> = ids
            .iter()
            .zip(&ttft)
            .map(|(i, t)| (*i as u64, *t))
            .collect();
        by_id
    };
    let plain = read("turns-plain", "0s");
    let late = read("turns-late", "50ms");
    let mut later_turns = 0;
    for (id, t) in &plain {
        let Some(l) = late.get(id) else { continue };
        assert!((l - t - 0.05).abs() < 1e-6, "request {id}: TTFT {t} → {l}");
        if id & 0xff > 0 {
            later_turns += 1;
        }
    }
    assert!(later_turns > 50, "{later_turns} later turns compared");
}
