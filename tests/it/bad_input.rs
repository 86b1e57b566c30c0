//! Every broken scenario in `tests/bad_scenarios/` must fail with exit code 2 and an
//! error naming the file, line, column and field, and never panic.
//!
//! Each file states what it expects on its second line:
//! `# expect: LINE:COLUMN FIELD MESSAGE-FRAGMENT` (`-` for "no location" or "no field").
//! Adding a file adds a case; no code changes.

use crate::support::{inferscale, repo, stderr};

struct Expectation {
    location: Option<String>,
    field: Option<String>,
    message: String,
}

fn expectation(text: &str, file: &str) -> Expectation {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{file} has no `# expect:` line"));
    let mut parts = line.splitn(3, ' ');
    let mut next = || {
        parts
            .next()
            .unwrap_or_else(|| panic!("{file}: malformed expect line"))
    };
    let dash = |s: &str| (s != "-").then(|| s.to_owned());
    Expectation {
        location: dash(next()),
        field: dash(next()),
        message: next().to_owned(),
    }
}

#[test]
fn every_broken_scenario_gives_a_located_error_and_exit_2() {
    let dir = repo().join("tests/bad_scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad_scenarios exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected at least 10 broken scenarios, found {}",
        files.len()
    );

    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(repo())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let want = expectation(
            &String::from_utf8_lossy(&std::fs::read(path).unwrap()),
            &rel,
        );
        for command in ["validate", "run"] {
            let out = inferscale(&[command, &rel]);
            let err = stderr(&out);
            let first = err.lines().next().unwrap_or_default();
            let mut problems = Vec::new();
            if out.status.code() != Some(2) {
                problems.push(format!("exit code {:?}, want 2", out.status.code()));
            }
            if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
                problems.push("panicked".to_owned());
            }
            let mut prefix = format!("error: {rel}");
            if let Some(loc) = &want.location {
                prefix = format!("{prefix}:{loc}");
            }
            if !first.starts_with(&format!("{prefix}: ")) {
                problems.push(format!("does not start with `{prefix}: `"));
            }
            if let Some(field) = &want.field
                && !first.contains(&format!("`{field}`: "))
            {
                problems.push(format!("does not name the field `{field}`"));
            }
            if !first.contains(&want.message) {
                problems.push(format!("does not say `{}`", want.message));
            }
            if want.location.is_some() && !err.contains(" ^") {
                problems.push("shows no caret under the source line".to_owned());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{rel} ({command}): {}\n  got: {err}",
                    problems.join("; ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_missing_file_is_bad_input_too() {
    let out = inferscale(&["validate", "no/such/scenario.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read scenario `no/such/scenario.yaml`"));
}
