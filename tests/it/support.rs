//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The validation references: the directory `$INFERSCALE_REFERENCE` names (another
/// set of cases with the same file names and layout), else the repository's own
/// `data/reference/` (the contract is in `data/reference/README.md`).
pub fn reference_dir() -> PathBuf {
    std::env::var_os("INFERSCALE_REFERENCE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("data/reference"))
}

/// The public traces kept in the repository (`data/traces/`, with their licences).
pub fn traces_dir() -> PathBuf {
    repo().join("data/traces")
}

/// The example scenarios (`scenarios/*.yaml`), sorted. Hidden files are left out:
/// the golden-output test writes shortened copies there (`.golden-*.yaml`, so their
/// relative paths resolve) and deletes them, which a test listing the folder at the
/// same time must not pick up.
pub fn example_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Runs the `inferscale` binary with `args` from the repository root.
pub fn inferscale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inferscale"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the inferscale binary runs")
}

/// Runs the `inferscale` binary and insists it succeeds.
pub fn inferscale_ok(args: &[&str]) -> Output {
    let out = inferscale(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    out
}

/// A copy of the example `scenarios/<name>.yaml` in `dir`, each `(from, to)` replaced
/// (e.g. fewer replications to keep a test short); returns its path.
pub fn example_variant(dir: &TempDir, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo().join(format!("scenarios/{name}.yaml")))
        .unwrap_or_else(|e| panic!("scenarios/{name}.yaml: {e}"));
    for (from, to) in edits {
        assert!(text.contains(from), "scenarios/{name}.yaml has no `{from}`");
        text = text.replace(from, to);
    }
    let path = dir.join(&format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path.to_str().expect("temp paths are UTF-8").to_owned()
}

/// A fresh, empty directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("inferscale-it-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn str(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
