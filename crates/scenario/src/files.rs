//! Every file a scenario reads — rate series, token columns, size tables, ServeGen
//! clients, traces — resolved against one base directory (the scenario file's) and
//! read once per [`Files`]: a sweep shares one across its points, so a hundred points
//! replaying the same trace read it once.
//!
//! The schema modules read no file: they keep paths, and the build modules ask this
//! cache for what the paths hold. Each entry is keyed by the path and every parameter
//! the read depends on, and keeps its error too, so a point that repeats a bad path
//! reports the same message without reading again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use inferscale_workload::{
    ArrivalProcess, EmpiricalPairs, RateFn, ReplayOptions, TokenDist, TraceFormat, WindowSummary,
};

/// One cache of parsed file contents, keyed per kind of read.
#[derive(Default)]
struct Cache {
    rate_series: HashMap<String, Result<RateFn, String>>,
    token_columns: HashMap<String, Result<TokenDist, String>>,
    size_pairs: HashMap<String, Result<EmpiricalPairs, String>>,
    servegen: HashMap<String, Result<ArrivalProcess, String>>,
    trace_windows: HashMap<String, Result<Option<WindowSummary>, String>>,
    engine_profiles: HashMap<String, Result<crate::catalog::EngineEntry, String>>,
    /// How many reads missed the cache (each read a file or a directory).
    reads: usize,
}

/// The files one scenario, or every point of one sweep, reads (see the module docs).
pub(crate) struct Files {
    base: PathBuf,
    cache: Mutex<Cache>,
}

/// `map[key]`, computed by `read` on a miss (counted in `reads`).
fn memo<T: Clone>(
    map: &mut HashMap<String, Result<T, String>>,
    reads: &mut usize,
    key: String,
    read: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    map.entry(key)
        .or_insert_with(|| {
            *reads += 1;
            read()
        })
        .clone()
}

impl Files {
    /// Files relative to `base`, the scenario file's directory.
    pub(crate) fn new(base: &Path) -> Self {
        Files {
            base: base.to_owned(),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The directory relative paths resolve against.
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    /// `path` resolved against the base directory (an absolute path stays as it is).
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        self.base.join(path)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves a cache of complete entries only.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many files (or directories) were read so far: cache misses.
    #[cfg(test)]
    pub(crate) fn reads(&self) -> usize {
        self.cache().reads
    }

    /// A rate series (see [`inferscale_workload::read_rate_series`]).
    pub(crate) fn rate_series(
        &self,
        path: &Path,
        column: &str,
        interval_s: f64,
        per_second: bool,
        scale: f64,
    ) -> Result<RateFn, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}\0{column}\0{interval_s:?}\0{per_second}\0{scale:?}");
        let cache = &mut *self.cache();
        memo(&mut cache.rate_series, &mut cache.reads, key, || {
            inferscale_workload::read_rate_series(&path, column, interval_s, per_second, scale)
        })
    }

    /// Token counts drawn from one CSV column (see [`TokenDist::from_column`]).
    pub(crate) fn token_column(
        &self,
        path: &Path,
        column: &str,
        max: u32,
    ) -> Result<TokenDist, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}\0{column}\0{max}");
        let cache = &mut *self.cache();
        memo(&mut cache.token_columns, &mut cache.reads, key, || {
            TokenDist::from_column(&path, column, max)
        })
    }

    /// Joint (input, output) token counts (see [`EmpiricalPairs::from_csv`]).
    pub(crate) fn size_pairs(
        &self,
        path: &Path,
        input: &str,
        output: &str,
    ) -> Result<EmpiricalPairs, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}\0{input}\0{output}");
        let cache = &mut *self.cache();
        memo(&mut cache.size_pairs, &mut cache.reads, key, || {
            EmpiricalPairs::from_csv(&path, input, output)
        })
    }

    /// ServeGen client windows: one file, or every `*.csv` of a directory (each a
    /// client, their arrivals merged).
    pub(crate) fn servegen(
        &self,
        path: &Path,
        speedup: f64,
        rate_scale: f64,
    ) -> Result<ArrivalProcess, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}\0{speedup:?}\0{rate_scale:?}");
        let cache = &mut *self.cache();
        memo(&mut cache.servegen, &mut cache.reads, key, || {
            read_servegen(&path, speedup, rate_scale)
        })
    }

    /// A trace's requests in a replay window, counted by reading it through once
    /// (see [`inferscale_workload::summarize_window`]); `None` when none falls in it.
    pub(crate) fn trace_window(
        &self,
        path: &Path,
        format: TraceFormat,
        options: &ReplayOptions,
    ) -> Result<Option<WindowSummary>, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}\0{format:?}\0{options:?}");
        let cache = &mut *self.cache();
        memo(&mut cache.trace_windows, &mut cache.reads, key, || {
            inferscale_workload::summarize_window(&path, format, options).map_err(|e| e.to_string())
        })
    }
}

impl Files {
    /// A serving-stack profile file (see [`crate::catalog::read_engine_profile`]).
    pub(crate) fn engine_profile(
        &self,
        path: &Path,
    ) -> Result<crate::catalog::EngineEntry, String> {
        let path = self.resolve(path);
        let key = format!("{path:?}");
        let cache = &mut *self.cache();
        memo(&mut cache.engine_profiles, &mut cache.reads, key, || {
            crate::catalog::read_engine_profile(&path)
        })
    }
}

fn read_servegen(path: &Path, speedup: f64, rate_scale: f64) -> Result<ArrivalProcess, String> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("`{}` holds no `*.csv` client file", path.display()));
        }
        files
    } else {
        vec![path.to_owned()]
    };
    let mut clients = files
        .iter()
        .map(|f| inferscale_workload::read_servegen_client(f, speedup, rate_scale))
        .collect::<Result<Vec<_>, String>>()?;
    if clients.len() == 1 {
        Ok(clients.remove(0))
    } else {
        ArrivalProcess::superposed(clients).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_once_whatever_asks_for_it_again() {
        let dir = std::env::temp_dir().join(format!("inferscale-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rates.csv"), "count\n60\n120\n").unwrap();
        let files = Files::new(&dir);
        let a = files
            .rate_series(Path::new("rates.csv"), "count", 60.0, false, 1.0)
            .unwrap();
        let b = files
            .rate_series(Path::new("rates.csv"), "count", 60.0, false, 1.0)
            .unwrap();
        assert_eq!(files.reads(), 1);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        // Other parameters are another read (the result differs).
        let c = files
            .rate_series(Path::new("rates.csv"), "count", 60.0, false, 2.0)
            .unwrap();
        assert_eq!(files.reads(), 2);
        assert_eq!(c.at(0.0), 2.0 * a.at(0.0));
        // An error is kept too: a missing file is tried once.
        for _ in 0..3 {
            let e = files
                .rate_series(Path::new("missing.csv"), "count", 60.0, false, 1.0)
                .unwrap_err();
            assert!(e.contains("missing.csv"), "{e}");
        }
        assert_eq!(files.reads(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
