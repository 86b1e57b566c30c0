//! Reading an experiment folder, its mistakes, and the scenario that replays it.

use super::*;

/// A stage file as inference-perf writes it, the distributions cut to what is read.
fn stage_json(rate: f64, sent: u64, failures: u64) -> String {
    let q = |m: f64| {
        format!(
            r#"{{"mean": {m}, "min": {}, "p0.1": {m}, "median": {m}, "p90": {}, "p99": {}, "p99.9": {m}, "max": {}}}"#,
            m * 0.5,
            m * 1.2,
            m * 1.5,
            m * 2.0
        )
    };
    format!(
        r#"{{"load_summary": {{"count": {sent}, "schedule_delay": {}, "send_duration": 599.9, "requested_rate": {rate}, "achieved_rate": {rate}}},
  "successes": {{"count": {}, "latency": {{"request_latency": {}, "time_to_first_token": {}, "time_per_output_token": {}, "inter_token_latency": {}}},
    "throughput": {{"input_tokens_per_sec": 1.0, "output_tokens_per_sec": 1000.0, "total_tokens_per_sec": 1001.0, "requests_per_sec": {}}},
    "prompt_len": {}, "output_len": {}}},
  "failures": {{"count": {failures}, "request_latency": {}, "prompt_len": {}}}}}"#,
        q(0.001),
        sent - failures,
        q(2.0),
        q(0.025),
        q(0.004),
        q(0.004),
        rate * 0.99,
        q(575.5),
        q(248.0),
        q(300.5),
        q(0.0)
    )
}

const EXP_CONFIG: &str = "model: meta-llama/Llama-2-7b-hf\ntensor_parallelism: 1\nmax_model_len: 4096\nmax_num_batched_tokens: 2048\nmax_num_seqs: 128\napp: inference-perf\n";

const RESOLVED: &str = "api:
  type: completion
  streaming: true
  headers: null
data:
  type: shared_prefix
  path: null
  shared_prefix:
    num_groups: 10
    num_prompts_per_group: 10
    system_prompt_len: 100
    question_len: 447
    output_len: 248
load:
  type: constant
  interval: 1.0
  stages:
  - rate: 8.0
    duration: 600
  - rate: 20.0
    duration: 600
  num_workers: 224
  request_timeout: null
storage:
  local_storage:
    path: /workspace/data/results
server:
  type: vllm
  model_name: meta-llama/Llama-2-7b-hf
  ignore_eos: true
";

/// An experiment folder under the system's temporary directory, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(tag: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!(
            "inferscale-experiment-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("results")).unwrap();
        std::fs::write(dir.join("exp-config.yaml"), EXP_CONFIG).unwrap();
        std::fs::write(dir.join("results/config.yaml"), RESOLVED).unwrap();
        std::fs::write(
            dir.join("results/stage_0_lifecycle_metrics.json"),
            stage_json(8.0, 4800, 0),
        )
        .unwrap();
        std::fs::write(
            dir.join("results/stage_1_lifecycle_metrics.json"),
            stage_json(20.0, 12000, 3),
        )
        .unwrap();
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_experiment_reads_as_the_load_generator_resolved_it() {
    let folder = Folder::new("read");
    let e = Experiment::read(&folder.0).unwrap();
    assert_eq!(e.server.model, "meta-llama/Llama-2-7b-hf");
    assert_eq!(
        (e.server.tensor_parallelism, e.server.max_num_seqs),
        (1, Some(128))
    );
    assert_eq!(e.catalog_model().as_deref(), Some("llama-2-7b"));
    let l = &e.load;
    assert_eq!((l.groups, l.prompts_per_group, l.output_len), (10, 10, 248));
    assert!(l.streaming && l.ignore_eos && !l.multi_turn && !l.poisson);
    assert_eq!(l.stages, vec![(8.0, 600.0), (20.0, 600.0)]);
    assert_eq!(l.timeout_s, DEFAULT_CLIENT_TIMEOUT_S);
    assert_eq!(e.stage_windows(), vec![(0.0, 600.0), (600.0, 1200.0)]);
    let s = &e.stages[1];
    assert_eq!((s.sent, s.successes, s.failures), (12000, 11997, 3));
    assert!((s.ttft.unwrap().median - 0.025).abs() < 1e-12);
    assert!((s.e2e.unwrap().p90 - 2.4).abs() < 1e-12);
    assert!((s.failure_share() - 3.0 / 12000.0).abs() < 1e-12);
    assert!(e.stages[0].kept_up() && !s.kept_up());
    // (2.0 − 0.025) / 247.
    assert!((s.tpot_from_medians(248).unwrap() - 1.975 / 247.0).abs() < 1e-12);
    // The client counted 575.5 prompt tokens: 476 of them past the system prompt.
    assert_eq!(e.question_tokens(), 476);
    assert_eq!(
        Experiment::folders(folder.0.parent().unwrap())
            .unwrap()
            .iter()
            .filter(|p| **p == folder.0)
            .count(),
        1
    );
    assert_eq!(
        Experiment::folders(&folder.0).unwrap(),
        vec![folder.0.clone()]
    );
}

#[test]
fn the_replay_is_a_scenario_with_the_experiments_server_and_load() {
    let folder = Folder::new("replay");
    let e = Experiment::read(&folder.0).unwrap();
    let text = e.replay_scenario("").unwrap();
    let scenario = crate::parse(&text, "replay.yaml").unwrap_or_else(|err| panic!("{err}\n{text}"));
    let crate::System::Llm(system) = scenario.system else {
        panic!("not an LLM system")
    };
    let model = &system.cluster.models[0];
    assert_eq!((model.replicas, model.name.as_str()), (1, "llama-2-7b"));
    let inferscale_cluster::Serving::Llm { roofline, server } = &model.serving else {
        panic!("not an LLM model")
    };
    assert_eq!(roofline.tp(), 1);
    assert_eq!(
        (
            server.max_batch,
            server.max_batched_tokens,
            server.max_model_len
        ),
        (128, 2048, Some(4096))
    );
    assert!(server.chunked_prefill && server.prefix_caching);
    // The stages and the client's timeout, then every request has ended.
    assert!((system.cluster.horizon.as_secs_f64() - (1200.0 + 300.0 + 1.0)).abs() < 1e-9);
    let crate::RequestSource::Synthetic {
        sizes: crate::Sizes::SharedPrefix(p),
        arrivals,
    } = &system.workloads[0].source
    else {
        panic!("not a shared-prefix workload")
    };
    assert_eq!((p.groups, p.users, p.system_tokens), (10, 10, 100));
    assert!((arrivals.expected_count(0.0, 1200.0) - 16_800.0).abs() < 1e-6);
    // A profile's serving fields go into the model's `serving:`.
    let tuned = e.replay_scenario("block_size: 32").unwrap();
    assert!(tuned.contains("      block_size: 32"), "{tuned}");
}

#[test]
fn a_folder_that_breaks_the_layout_says_where_and_what() {
    let folder = Folder::new("bad");
    let config = folder.0.join("exp-config.yaml");
    std::fs::write(&config, format!("{EXP_CONFIG}max_num_sequences: 64\n")).unwrap();
    let err = Experiment::read(&folder.0).unwrap_err().to_string();
    assert!(
        err.contains("exp-config.yaml") && err.contains("max_num_sequences"),
        "{err}"
    );
    std::fs::write(&config, EXP_CONFIG).unwrap();
    let resolved = folder.0.join("results/config.yaml");
    std::fs::write(
        &resolved,
        RESOLVED.replace("type: shared_prefix", "type: sharegpt"),
    )
    .unwrap();
    let err = Experiment::read(&folder.0).unwrap_err();
    assert!(matches!(err, ExperimentError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("sharegpt"), "{err}");
    std::fs::write(&resolved, RESOLVED.replace("type: constant", "type: sweep")).unwrap();
    let err = Experiment::read(&folder.0).unwrap_err().to_string();
    assert!(err.contains("`sweep`") && err.contains("poisson"), "{err}");
    std::fs::write(
        &resolved,
        RESOLVED.replace(
            "    question_len: 447\n",
            "    question_len: 447\n    question_distribution: 3\n",
        ),
    )
    .unwrap();
    let err = Experiment::read(&folder.0).unwrap_err().to_string();
    assert!(err.contains("question_distribution"), "{err}");
    std::fs::write(&resolved, RESOLVED).unwrap();
    std::fs::remove_file(folder.0.join("results/stage_1_lifecycle_metrics.json")).unwrap();
    let err = Experiment::read(&folder.0).unwrap_err().to_string();
    assert!(err.contains("stage_1_lifecycle_metrics.json"), "{err}");
    std::fs::write(
        folder.0.join("results/stage_1_lifecycle_metrics.json"),
        "{\"load_summary\": {}}",
    )
    .unwrap();
    let err = Experiment::read(&folder.0).unwrap_err().to_string();
    assert!(err.contains("stage_1") && err.contains("count"), "{err}");
    // A model the catalog lacks is read but not replayed.
    std::fs::write(
        folder.0.join("results/stage_1_lifecycle_metrics.json"),
        stage_json(20.0, 12000, 0),
    )
    .unwrap();
    std::fs::write(
        &config,
        EXP_CONFIG.replace("meta-llama/Llama-2-7b-hf", "acme/Giant-1T"),
    )
    .unwrap();
    let e = Experiment::read(&folder.0).unwrap();
    let err = e.replay_scenario("").unwrap_err().to_string();
    assert!(
        err.contains("acme/Giant-1T") && err.contains("catalog"),
        "{err}"
    );
}
