//! The adversarial findings, each kept closed: runs that hung or miscounted, external
//! programs that crash, hang or flood, results directories that are not ours, parts
//! cut short.

use std::path::Path;

use crate::support::{TempDir, inferscale, inferscale_ok, stderr};

/// Long prompts that leave no room for their recompute, on replicas sharing one node:
/// the case that once spun forever (slot reuse let a finished request's stale heap
/// entry free a waiting one, the decode counters underflowed) and counted requests
/// twice. Every arrival is accounted for exactly once.
fn long_prompts(replicas: u32, duration: &str, max_batched_tokens: u32) -> String {
    format!(
        "name: long-prompts
seed: 1
duration: {duration}
warmup: 1m
hardware:
  - {{name: gpu, preset: a100-80gb, max_count: 1}}
models:
  - name: chat
    llm: {{preset: llama-3.1-8b}}
    placement: gpu
    replicas: {replicas}
    serving: {{chunked_prefill: false, max_batched_tokens: {max_batched_tokens}}}
    sla: {{ttft_p99: 2s, tpot_p99: 100ms}}
workload:
  - model: chat
    arrivals:
      poisson:
        rate: {{piecewise: {{points: [[0s, 20/s], [10m, 0/s]]}}}}
    input_tokens: {{uniform: [7000, 8100]}}
    output_tokens: {{uniform: [1500, 2000]}}
"
    )
}

#[test]
fn long_prompts_finish_and_every_request_is_counted_once() {
    for (replicas, duration, budget) in [(8, "45m", 8192), (1, "30m", 8192), (4, "2h", 8192)] {
        let text = long_prompts(replicas, duration, budget);
        let scenario = inferscale::scenario::parse(&text, "long-prompts.yaml").unwrap();
        let results = inferscale::runner::run_all(&scenario, Some(1)).unwrap();
        let run = &results.runs[0];
        let llm = run.llm.as_ref().expect("an LLM run");
        assert_eq!(
            run.arrivals,
            run.completed + llm.dropped + llm.rejected + run.in_flight_at_end,
            "{replicas} replicas, {duration}: arrivals {} completed {} dropped {} rejected {} in flight {}",
            run.arrivals,
            run.completed,
            llm.dropped,
            llm.rejected,
            run.in_flight_at_end
        );
        for m in &results.models {
            assert_eq!(
                m.arrivals,
                m.completed + m.dropped + m.rejected + m.in_flight_at_end,
                "model row, {replicas} replicas"
            );
        }
    }
}

/// A scenario whose policy uses `command` as its external predictor.
fn with_predictor(dir: &TempDir, predictor: &str) -> String {
    let text = format!(
        "name: ext
duration: 20m
warmup: 1m
hardware:
  - {{name: gpu, preset: a100-80gb, max_count: 2}}
models:
  - name: chat
    llm: {{preset: llama-3.1-8b}}
    placement: gpu
    replicas: 2
    sla: {{ttft_p99: 2s, tpot_p99: 100ms}}
workload:
  - model: chat
    arrivals: {{poisson: {{rate: 10/s}}}}
    input_tokens: {{lognormal: {{median: 256, sigma: 0.5, max: 2048}}}}
    output_tokens: {{lognormal: {{median: 64, sigma: 0.5, max: 512}}}}
policy:
  interval: 30s
  predictor: {predictor}
  decider: {{kind: queueing, service_rate: 1/s, servers_per_replica: 16, target: 2s, max: 8}}
"
    );
    let path = dir.join("ext.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A predictor that crashes, hangs, prints garbage or an impossible forecast ends
/// the run with exit 1 and an error naming the command (and its stderr's end); the
/// run is recorded as failed, not written as complete.
#[test]
fn a_failing_external_predictor_ends_the_run_with_its_command_and_stderr() {
    let tmp = TempDir::new("ext-fail");
    let cases = [
        (
            "read -r l; echo 'ModuleNotFoundError: sklearn' >&2; exit 1",
            "{kind: external, command: [sh, -c, \"read -r l; echo 'ModuleNotFoundError: sklearn' >&2; exit 1\"]}",
            "ModuleNotFoundError: sklearn",
        ),
        (
            "sleep",
            "{kind: external, command: [sh, -c, 'read -r l; sleep 30'], timeout: 300ms}",
            "no answer within 300ms",
        ),
        (
            "garbage",
            "{kind: external, command: [sh, -c, 'while read -r l; do echo hello; done']}",
            "expected {\"forecast\": number}, got `hello`",
        ),
        (
            "negative",
            "{kind: external, command: [sh, -c, 'while read -r l; do echo \"{\\\"forecast\\\": -5}\"; done']}",
            "a forecast is a rate from 0",
        ),
        (
            "missing",
            "{kind: external, command: [./no-such-predictor.py]}",
            "cannot start it",
        ),
    ];
    for (label, predictor, expected) in cases {
        let file = with_predictor(&tmp, predictor);
        let out_dir = tmp.join(&format!("out-{}", label.len()));
        let out = inferscale(&["run", &file, "-q", "--out", out_dir.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{label}: {err}");
        assert!(err.contains(expected), "{label}: {err}");
        assert!(err.contains("the external predictor `"), "{label}: {err}");
        assert!(err.contains("--resume"), "{label}: {err}");
        assert!(
            !out_dir.join("parts/runs").exists()
                || std::fs::read_dir(out_dir.join("parts/runs"))
                    .unwrap()
                    .next()
                    .is_none(),
            "{label}: a failed run left a runs part"
        );
        assert!(out_dir.join("parts/failed").is_dir(), "{label}");
    }
}

/// With `on_error: fallback` the run goes on without forecasts and counts every tick
/// that lacked one: a predictor that dies when it is first asked at t ≥ 600 s leaves
/// the ticks at 600 s, 630 s, …, 1200 s — 21 of them — to the decider alone.
#[test]
fn a_fallback_is_counted_in_every_tick_it_covers() {
    let tmp = TempDir::new("ext-fallback");
    // Relative to the scenario file: the command runs in its directory.
    std::fs::write(
        tmp.join("dies.sh"),
        "while read -r l; do\n  t=${l#*\\\"t\\\": }; t=${t%%,*}; t=${t%%.*}\n  [ \"$t\" -ge 600 ] && exit 1\n  echo '{\"forecast\": 10}'\ndone\n",
    )
    .unwrap();
    let file = with_predictor(
        &tmp,
        "{kind: external, command: [sh, dies.sh], on_error: fallback}",
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let scenario = inferscale::scenario::parse(&text, &file).unwrap();
    let results = inferscale::runner::run_all(&scenario, Some(1)).unwrap();
    let llm = results.runs[0].llm.as_ref().unwrap();
    assert_eq!(llm.forecast_fallbacks, 21, "{llm:?}");
    assert!(
        llm.forecast_mape.is_some(),
        "the forecasts before are scored"
    );
    // Without `on_error: fallback` the same program ends the run.
    let failing = with_predictor(&tmp, "{kind: external, command: [sh, dies.sh]}");
    let text = std::fs::read_to_string(&failing).unwrap();
    let scenario = inferscale::scenario::parse(&text, &failing).unwrap();
    let err = inferscale::runner::run_all(&scenario, Some(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("`sh dies.sh` failed: it exited with status 1"),
        "{err}"
    );
}

/// A run that exceeds `--run-timeout` is recorded as failed while the others
/// complete and merge; `--resume` with a longer limit runs only it.
#[test]
fn a_run_over_its_time_limit_fails_alone_and_resume_retries_it() {
    let tmp = TempDir::new("run-timeout");
    let file = tmp.join("slow.yaml");
    std::fs::write(
        &file,
        "name: slow
duration: 1m
models:
  - {name: m, generic: {servers: 4, service_time: {exponential: {mean: 1s}}}}
workload:
  - {model: m, arrivals: {poisson: {rate: 3/s}}}
sweep:
  duration: [1m, 2m, 100d]
",
    )
    .unwrap();
    let (file, dir) = (file.to_str().unwrap(), tmp.join("out"));
    let dir = dir.to_str().unwrap();
    let out = inferscale(&[
        "run",
        file,
        "-q",
        "--out",
        dir,
        "--run-timeout",
        "300ms",
        "--threads",
        "2",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 3 runs failed"), "{err}");
    assert!(err.contains("exceeded --run-timeout 300 ms"), "{err}");
    assert!(
        Path::new(dir).join("runs.parquet").exists(),
        "the others are merged"
    );
    let failed: Vec<_> = std::fs::read_dir(Path::new(dir).join("parts/failed"))
        .unwrap()
        .collect();
    assert_eq!(failed.len(), 1);
    let out = inferscale_ok(&["run", file, "--resume", "--out", dir]);
    assert!(
        stderr(&out).contains("Ran 1 run") && stderr(&out).contains("2 already complete"),
        "{}",
        stderr(&out)
    );
    assert!(
        !Path::new(dir).join("parts/failed").exists()
            || std::fs::read_dir(Path::new(dir).join("parts/failed"))
                .unwrap()
                .next()
                .is_none(),
        "the failure record goes once the run completes"
    );
}

fn quick(dir: &TempDir, name: &str) -> String {
    let path = dir.join(&format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}
duration: 2m
models:
  - {{name: m, generic: {{servers: 2, service_time: {{exponential: {{mean: 1s}}}}}}}}
workload:
  - {{model: m, arrivals: {{poisson: {{rate: 1/s}}}}}}
"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// inferscale writes only into a new or empty directory or its own results of the same
/// scenario; `--force` writes elsewhere, and even then deletes nothing it did not
/// write.
#[test]
fn a_results_directory_that_is_not_ours_is_never_cleared() {
    let tmp = TempDir::new("not-ours");
    let a = quick(&tmp, "alpha");
    let b = quick(&tmp, "beta");
    let home = tmp.join("home");
    std::fs::create_dir_all(home.join("parts")).unwrap();
    std::fs::write(home.join("thesis.tex"), "keep me").unwrap();
    std::fs::write(home.join("parts/notes.txt"), "keep me too").unwrap();
    let home_s = home.to_str().unwrap();
    let out = inferscale(&["run", &a, "-q", "--out", home_s]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an inferscale results directory")
            && stderr(&out).contains("`thesis.tex`")
            && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    inferscale_ok(&["run", &a, "-q", "--out", home_s, "--force"]);
    inferscale_ok(&["run", &a, "-q", "--out", home_s, "--force"]);
    assert_eq!(
        std::fs::read_to_string(home.join("thesis.tex")).unwrap(),
        "keep me"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("parts/notes.txt")).unwrap(),
        "keep me too"
    );
    // Another scenario's results are not replaced without --force.
    let results = tmp.join("results-alpha");
    let results_s = results.to_str().unwrap();
    inferscale_ok(&["run", &a, "-q", "--out", results_s]);
    inferscale_ok(&["run", &a, "-q", "--out", results_s]);
    let out = inferscale(&["run", &b, "-q", "--out", results_s]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("results of another scenario (`alpha`)"),
        "{}",
        stderr(&out)
    );
    inferscale_ok(&["run", &b, "-q", "--out", results_s, "--force"]);
}

/// `output.dir` is relative to the scenario file, like every path in it.
#[test]
fn output_dir_is_relative_to_the_scenario_file() {
    let tmp = TempDir::new("out-relative");
    std::fs::create_dir_all(tmp.join("study")).unwrap();
    let path = tmp.join("study/s.yaml");
    std::fs::write(
        &path,
        "name: s
duration: 1m
output: {dir: here}
models:
  - {name: m, generic: {service_time: {exponential: {mean: 1s}}}}
workload:
  - {model: m, arrivals: {poisson: {rate: 0.5/s}}}
",
    )
    .unwrap();
    inferscale_ok(&["run", path.to_str().unwrap(), "-q"]);
    assert!(tmp.join("study/here/runs.parquet").exists());
}

/// A run whose time-series part was cut short is not complete: `--resume` runs it
/// again rather than failing on it forever.
#[test]
fn a_truncated_part_makes_its_run_incomplete() {
    let tmp = TempDir::new("truncated-part");
    let file = tmp.join("t.yaml");
    std::fs::write(
        &file,
        "name: t
duration: 5m
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 1}
models:
  - name: chat
    llm: {preset: llama-3.1-8b}
    placement: gpu
    replicas: 1
    initial: ready
workload:
  - model: chat
    arrivals: {poisson: {rate: 2/s}}
    input_tokens: {uniform: [100, 200]}
    output_tokens: {uniform: [10, 20]}
sweep:
  models.0.replicas: [1, 2]
",
    )
    .unwrap();
    let (file, dir) = (file.to_str().unwrap(), tmp.join("out"));
    inferscale_ok(&["run", file, "-q", "--out", dir.to_str().unwrap()]);
    let parts = dir.join("parts/timeseries");
    let victim = std::fs::read_dir(&parts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    // A merge leaves the run out (and says so) rather than failing on it.
    let merged = tmp.join("merged");
    let out = inferscale_ok(&[
        "merge",
        dir.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        stderr(&out).contains("1 run was left out"),
        "{}",
        stderr(&out)
    );
    let runs = inferscale::report::read_parquet(&merged.join("runs.parquet")).unwrap();
    assert_eq!(runs.f64_column("arrivals").unwrap().len(), 1);
    let out = inferscale_ok(&["run", file, "--resume", "--out", dir.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("Ran 1 run") && stderr(&out).contains("1 already complete"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&victim).unwrap().len(), bytes.len());
}

/// The context is a real limit: a prompt that fills it is refused, an output that
/// would run past it stops there (and is counted), as vLLM's `max_model_len` does.
#[test]
fn the_context_length_refuses_long_prompts_and_cuts_long_outputs() {
    let scenario = |input: &str, output: &str, serving: &str| {
        format!(
            "name: context
duration: 10m
hardware:
  - {{name: gpu, preset: a100-80gb, max_count: 1}}
models:
  - name: chat
    llm: {{preset: llama-3.1-8b, max_context: 4096}}
    placement: gpu
    replicas: 2
    initial: ready
    serving: {{chunked_prefill: true{serving}}}
workload:
  - model: chat
    arrivals: {{poisson: {{rate: 1/s}}}}
    input_tokens: {{uniform: [{input}]}}
    output_tokens: {{uniform: [{output}]}}
"
        )
    };
    let run = |text: &str| {
        let s = inferscale::scenario::parse(text, "context.yaml").unwrap();
        inferscale::runner::run_all(&s, Some(1)).unwrap()
    };
    // 100,000-token prompts on a 4,096-token model: all refused.
    let r = run(&scenario("100000, 100000", "10, 10", ""));
    let llm = r.runs[0].llm.as_ref().unwrap();
    assert!(r.runs[0].arrivals > 400);
    assert_eq!(llm.rejected, r.runs[0].arrivals);
    assert_eq!(r.runs[0].completed, 0);
    // 3,000 + 2,000 > 4,096: every output stops after 1,096 tokens.
    let r = run(&scenario("3000, 3000", "2000, 2000", ""));
    let (run0, llm) = (&r.runs[0], r.runs[0].llm.as_ref().unwrap());
    assert_eq!(llm.rejected, 0);
    assert!(run0.completed > 400);
    assert_eq!(llm.truncated, run0.completed + run0.in_flight_at_end);
    assert_eq!(llm.output_tokens, run0.completed * 1_096);
    assert_eq!(r.models[0].truncated, llm.truncated);
    // A lower `max_model_len` is vLLM's own knob; above the model's context it is an
    // error.
    let r = run(&scenario(
        "3000, 3000",
        "2000, 2000",
        ", max_model_len: 3500",
    ));
    let llm = r.runs[0].llm.as_ref().unwrap();
    assert_eq!(llm.output_tokens, r.runs[0].completed * 500);
    let err = inferscale::scenario::parse(
        &scenario("3000, 3000", "10, 10", ", max_model_len: 8192"),
        "context.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("max_model_len: 8192") && err.contains("4096 tokens"),
        "{err}"
    );
}

/// `merge` of something that is not a results directory, or of two different sweeps,
/// is bad input: exit 2 and a message, never a silent success.
#[test]
fn merging_what_cannot_be_merged_is_bad_input() {
    let tmp = TempDir::new("merge-bad");
    let out = inferscale(&["merge", tmp.join("nowhere").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let a = quick(&tmp, "alpha");
    let b = quick(&tmp, "beta");
    let (da, db) = (tmp.join("a"), tmp.join("b"));
    inferscale_ok(&["run", &a, "-q", "--out", da.to_str().unwrap()]);
    inferscale_ok(&["run", &b, "-q", "--out", db.to_str().unwrap()]);
    let out = inferscale(&[
        "merge",
        da.to_str().unwrap(),
        db.to_str().unwrap(),
        "--out",
        tmp.join("both").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("different sweeps"),
        "{}",
        stderr(&out)
    );
}

/// Undefined numbers are null, not NaN: with every request refused there is no
/// latency and no cost per request, and attainment is 0 over the arrivals.
#[test]
fn nothing_served_gives_nulls_and_zero_attainment() {
    let text = "name: none
duration: 10m
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 1}
models:
  - name: chat
    llm: {preset: llama-3.1-8b, max_context: 4096}
    placement: gpu
    sla: {ttft_p99: 2s}
workload:
  - model: chat
    arrivals: {poisson: {rate: 1/s}}
    input_tokens: {uniform: [100000, 100000]}
    output_tokens: {uniform: [10, 10]}
";
    let tmp = TempDir::new("nothing-served");
    std::fs::write(tmp.join("none.yaml"), text).unwrap();
    let dir = tmp.join("out");
    inferscale_ok(&[
        "run",
        tmp.join("none.yaml").to_str().unwrap(),
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let runs = inferscale::report::read_parquet(&dir.join("runs.parquet")).unwrap();
    let one = |c: &str| runs.f64_column(c).unwrap()[0];
    assert!(one("arrivals").unwrap() > 500.0);
    assert_eq!(one("sla_attainment"), Some(0.0));
    for column in [
        "cost_per_1k_requests",
        "tpot_p99_s",
        "ttft_p99_s",
        "mean_response_s",
    ] {
        assert_eq!(one(column), None, "{column}");
    }
    let models = inferscale::report::read_parquet(&dir.join("models.parquet")).unwrap();
    assert_eq!(models.f64_column("tpot_p99_s").unwrap()[0], None);
}

/// `validate` says plainly which programs a scenario runs.
#[test]
fn validate_names_the_programs_a_scenario_runs() {
    let tmp = TempDir::new("validate-ext");
    let file = with_predictor(&tmp, "{kind: external, command: [python3, predict.py]}");
    let out = inferscale_ok(&["validate", &file]);
    let text = crate::support::stdout(&out);
    assert!(
        text.contains("note: running this scenario runs the program `python3 predict.py`"),
        "{text}"
    );
}
