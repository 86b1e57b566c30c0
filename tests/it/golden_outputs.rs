//! Every table every example scenario writes, pinned by a hash of its contents: the
//! guard of refactors that must not change behaviour (issue 13). Each scenario runs
//! shortened — at most two replications and an hour (a long warm-up keeps 40 minutes
//! after it) — through the `inferscale` binary with `--reproducible`; each table's
//! schema and values (floats by their bits, nulls marked) are hashed with FNV-1a.
//!
//! A change of any number fails the test, naming the scenario and table. When a change
//! is meant (a model was corrected), rerun with `INFERSCALE_BLESS=1` to rewrite
//! `tests/golden/outputs.txt`, and say why in the commit.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;

use crate::support::{TempDir, inferscale_ok, repo};

const GOLDEN: &str = "tests/golden/outputs.txt";
const TABLES: [&str; 8] = [
    "runs",
    "models",
    "timeseries",
    "fleet",
    "actions",
    "latency",
    "requests",
    "summary",
];

/// FNV-1a, 64 bits: stable across platforms and versions.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The example scenario at `path`, shortened: two replications at most, an hour at
/// most (40 minutes past a warm-up of 20 minutes or more).
fn shortened(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let value_of = |line: &str| {
        line.split_once(':')
            .map(|(_, v)| v.split('#').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default()
    };
    let secs = |v: &str| {
        inferscale::scenario::units::parse_duration(v)
            .map(|d| d.0.as_secs_f64())
            .unwrap_or(0.0)
    };
    let warmup = text
        .lines()
        .find(|l| l.starts_with("warmup:"))
        .map_or(0.0, |l| secs(&value_of(l)));
    let limit = 3600f64.max(warmup + 2400.0);
    text.lines()
        .map(|line| {
            if line.starts_with("replications:") {
                let n: u32 = value_of(line).parse().unwrap_or(1);
                format!("replications: {}", n.min(2))
            } else if line.starts_with("duration:") && secs(&value_of(line)) > limit {
                format!("duration: {}s", limit as u64)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A hash of `path`'s schema and every value, and its row count.
fn table_hash(path: &Path) -> (u64, usize) {
    let table = inferscale::report::read_parquet(path).unwrap();
    let mut h = Fnv::new();
    let rows = table.batches.iter().map(|b| b.num_rows()).sum();
    for field in table.schema.fields() {
        let name = field.name();
        h.write(name.as_bytes());
        h.write(format!("{:?}", field.data_type()).as_bytes());
        if let Some(values) = table.f64_column(name) {
            for v in values {
                match v {
                    Some(x) => h.write(&x.to_bits().to_le_bytes()),
                    None => h.write(b"null"),
                }
            }
        } else if let Some(values) = table.string_column(name) {
            for v in values {
                h.write(v.as_bytes());
                h.write(&[0]);
            }
        } else {
            for batch in &table.batches {
                let column = batch.column_by_name(name).unwrap();
                let Some(flags) = column.as_boolean_opt() else {
                    panic!(
                        "{}: column `{name}` has type {:?}, which the golden hash does not read; teach it",
                        path.display(),
                        field.data_type()
                    );
                };
                for i in 0..flags.len() {
                    h.write(match (flags.is_valid(i), flags.value(i)) {
                        (false, _) => b"n",
                        (true, true) => b"1",
                        (true, false) => b"0",
                    });
                }
            }
        }
    }
    (h.0, rows)
}

#[test]
fn every_example_scenario_writes_the_tables_it_wrote_before() {
    let dir = repo().join("scenarios");
    let files = crate::support::example_scenarios();
    let tmp = TempDir::new("golden");
    let mut got = BTreeMap::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        // In the scenarios folder, so its relative paths (traces) resolve.
        let short = dir.join(format!(".golden-{name}-{}.yaml", std::process::id()));
        std::fs::write(&short, shortened(path)).unwrap();
        let out = tmp.join(&name);
        let result = std::panic::catch_unwind(|| {
            inferscale_ok(&[
                "run",
                short.to_str().unwrap(),
                "-q",
                "--reproducible",
                "--threads",
                "2",
                "--out",
                out.to_str().unwrap(),
            ])
        });
        let _ = std::fs::remove_file(&short);
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
        for table in TABLES {
            let file = out.join(format!("{table}.parquet"));
            if file.exists() {
                let (hash, rows) = table_hash(&file);
                got.insert(format!("{name} {table}"), format!("{hash:016x} {rows}"));
            }
        }
    }
    let text: String = got.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    let golden = repo().join(GOLDEN);
    if std::env::var_os("INFERSCALE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, format!("# scenario table fnv1a64 rows — written by INFERSCALE_BLESS=1 cargo test --release --test it golden\n{text}")).unwrap();
        return;
    }
    let expected: BTreeMap<String, String> = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{GOLDEN}: {e}; write it with INFERSCALE_BLESS=1"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (s, t, rest) = (parts.next()?, parts.next()?, parts.next()?);
            Some((format!("{s} {t}"), rest.to_owned()))
        })
        .collect();
    let mut changed = Vec::new();
    for (key, value) in &got {
        match expected.get(key) {
            Some(v) if v == value => {}
            Some(v) => changed.push(format!("{key}: was {v}, now {value}")),
            None => changed.push(format!("{key}: new table ({value})")),
        }
    }
    for key in expected.keys().filter(|k| !got.contains_key(*k)) {
        changed.push(format!("{key}: no longer written"));
    }
    assert!(
        changed.is_empty(),
        "{} of {} tables changed (a refactor must not change outputs; if this change is \
         meant, rerun with INFERSCALE_BLESS=1 and say why):\n{}",
        changed.len(),
        got.len(),
        changed.join("\n")
    );
}
