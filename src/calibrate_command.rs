//! `inferscale calibrate`: the command's two modes over the library's
//! [`inferscale::calibrate`] — `--check` (the report for one profile) and `--fit`
//! (a profile's free terms fitted, the profile written, then its report).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use inferscale::calibrate::{self, fit, iterations};
use inferscale::report::{Provenance, write_parquet_atomic};
use inferscale::scenario::catalog::{self, EngineEntry};
use inferscale::scenario::experiment::REPLAY_ENGINE;
use inferscale::sweep_run::Refused;

/// What the command line asked for.
pub struct CalibrateArgs<'a> {
    /// `--fit` rather than `--check`.
    pub fit: bool,
    /// The positional arguments: an optional profile first, then experiment folders
    /// (or directories of them) and iteration tables (`*.csv`).
    pub inputs: &'a [PathBuf],
    /// `--out`: the report as Parquet.
    pub out: Option<&'a Path>,
    /// `--write-scenarios`.
    pub write_scenarios: Option<&'a Path>,
    /// `--serving` lines.
    pub serving: &'a str,
    /// `--from`: the fit's starting profile.
    pub from: Option<&'a str>,
    /// `--free`: the fit's free terms.
    pub free: &'a [String],
    /// `--profile-out`: where the fitted profile goes.
    pub profile_out: Option<&'a Path>,
    /// `--name`: the fitted profile's name.
    pub name: Option<&'a str>,
}

/// A profile named on the command line: a catalog entry or a file.
fn profile_of(name: &str) -> anyhow::Result<(EngineEntry, String)> {
    if catalog::is_profile_file(name) {
        let path =
            std::fs::canonicalize(name).with_context(|| format!("the serving profile `{name}`"))?;
        let entry = catalog::read_engine_profile(&path).map_err(Refused)?;
        Ok((entry, path.display().to_string()))
    } else {
        let entry = catalog::engine(name).ok_or_else(|| {
            let names: Vec<String> = catalog::engines()
                .map(|all| all.into_iter().map(|e| e.name).collect())
                .unwrap_or_default();
            Refused(format!(
                "`{name}` is neither a profile file (`*.yaml`) nor a serving stack of the catalog ({})",
                names.join(", ")
            ))
        })?;
        Ok((entry, name.to_owned()))
    }
}

/// Splits the positional inputs: the profile (if the first names one), experiment
/// folders, iteration tables.
fn split_inputs(
    inputs: &[PathBuf],
) -> anyhow::Result<(Option<String>, Vec<PathBuf>, Vec<PathBuf>)> {
    let mut rest = inputs;
    let mut profile = None;
    if let Some(first) = inputs.first() {
        let text = first.to_string_lossy();
        if !first.is_dir() && (catalog::is_profile_file(&text) || catalog::engine(&text).is_some())
        {
            profile = Some(text.into_owned());
            rest = &inputs[1..];
        }
    }
    let (mut dirs, mut tables) = (Vec::new(), Vec::new());
    for input in rest {
        if input.extension().is_some_and(|e| e == "csv") {
            tables.push(input.clone());
        } else if input.is_dir() {
            dirs.push(input.clone());
        } else {
            return Err(Refused(format!(
                "`{}` is neither an experiment folder (or a directory of them) nor an iteration table (`*.csv`)",
                input.display()
            ))
            .into());
        }
    }
    if dirs.is_empty() && tables.is_empty() {
        return Err(Refused(
            "nothing to calibrate on: name experiment folders or iteration tables".into(),
        )
        .into());
    }
    Ok((profile, dirs, tables))
}

fn read_tables(paths: &[PathBuf]) -> anyhow::Result<Vec<iterations::IterationTable>> {
    paths
        .iter()
        .map(|p| iterations::read(p).map_err(|e| Refused(e.to_string()).into()))
        .collect()
}

/// Runs the command.
pub fn run(args: &CalibrateArgs) -> anyhow::Result<()> {
    let (named, dirs, table_paths) = split_inputs(args.inputs)?;
    let tables = read_tables(&table_paths)?;
    let (profile, engine) = if args.fit {
        if named.is_some() {
            return Err(Refused(
                "--fit starts from `--from PROFILE`; the first input names a profile".into(),
            )
            .into());
        }
        let (start, _) = profile_of(args.from.unwrap_or(REPLAY_ENGINE))?;
        let free: Vec<fit::Term> = if args.free.is_empty() {
            fit::default_terms(!dirs.is_empty(), !tables.is_empty())
                .into_iter()
                .map(|n| fit::term(n).expect("a default term is a term"))
                .collect()
        } else {
            args.free
                .iter()
                .map(|n| fit::term(n.trim()).map_err(Refused))
                .collect::<Result<_, _>>()?
        };
        let Some(out) = args.profile_out else {
            return Err(
                Refused("--fit needs --profile-out FILE (the fitted profile)".into()).into(),
            );
        };
        let names: Vec<&str> = free.iter().map(|t| t.name).collect();
        eprintln!(
            "fitting {} from `{}` on {} experiment input(s) and {} iteration table(s)",
            names.join(", "),
            start.name,
            dirs.len(),
            tables.len()
        );
        let mut experiments = Vec::new();
        for dir in &dirs {
            experiments.extend(calibrate::read_all(dir).map_err(|e| Refused(e.to_string()))?);
        }
        let m = fit::Measurements {
            experiments: &experiments,
            tables: &tables,
        };
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let fitted = fit::fit(&start, &free, &m, |n, objective| {
            if terminal {
                eprint!("\r  evaluation {n:>3}: objective {objective:.5}");
            }
        })
        .map_err(|e| Refused(e.to_string()))?;
        if terminal {
            eprintln!();
        }
        eprintln!(
            "objective {:.5} (from {:.5}) after {} evaluations",
            fitted.objective, fitted.start_objective, fitted.evaluations
        );
        let mut profile = fitted.profile;
        profile.name = args
            .name
            .map(str::to_owned)
            .or_else(|| out.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "fitted".into());
        let inputs: Vec<String> = args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let tied = if names.contains(&"memory") && !names.contains(&"kv_memory") {
            " (kv_memory following memory)"
        } else {
            ""
        };
        profile.description = format!("{} with {} refitted{tied}", start.name, names.join(", "));
        profile.fitted_on = format!(
            "{} by `inferscale calibrate --fit` ({}): compass search from `{}` over {}; objective {:.5} (from {:.5}) after {} evaluations",
            inputs.join(", "),
            inferscale::version_string(),
            start.name,
            names.join(", "),
            fitted.objective,
            fitted.start_objective,
            fitted.evaluations
        );
        write_atomic(out, &fit::profile_yaml(&profile))?;
        eprintln!("wrote {}", out.display());
        let engine = std::fs::canonicalize(out)?.display().to_string();
        (profile, engine)
    } else {
        let name = named.as_deref().unwrap_or(REPLAY_ENGINE);
        profile_of(name)?
    };
    let serving = if args.serving.is_empty() {
        format!("engine: {engine}")
    } else {
        format!("engine: {engine}\n{}", args.serving)
    };
    report(&dirs, &serving, args.out, args.write_scenarios)?;
    for (path, table) in table_paths.iter().zip(&tables) {
        let checks = iterations::check(table, profile.efficiency());
        print!(
            "{}",
            iterations::format_report(&path.display().to_string(), &checks, &table.skipped)
        );
    }
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("yaml.partial");
    std::fs::write(&tmp, text).with_context(|| format!("writing `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing `{}`", path.display()))
}

/// The experiments' report on standard output, the table and the replay scenarios
/// where asked.
fn report(
    dirs: &[PathBuf],
    serving: &str,
    out: Option<&Path>,
    scenarios: Option<&Path>,
) -> anyhow::Result<()> {
    if dirs.is_empty() {
        return Ok(());
    }
    let mut experiments = Vec::new();
    for dir in dirs {
        experiments.extend(calibrate::read_all(dir).map_err(|e| Refused(e.to_string()))?);
    }
    let (checks, skipped) =
        calibrate::check_experiments(&experiments, serving).map_err(|e| Refused(e.to_string()))?;
    if let Some(into) = scenarios {
        std::fs::create_dir_all(into).with_context(|| format!("creating `{}`", into.display()))?;
        for e in &experiments {
            if let Ok(text) = e.replay_scenario(serving) {
                let path = into.join(format!("{}.yaml", e.name));
                std::fs::write(&path, text)
                    .with_context(|| format!("writing `{}`", path.display()))?;
            }
        }
    }
    print!("{}", calibrate::format_report(&checks, &skipped));
    if let Some(path) = out {
        let batch = inferscale::report::calibration_batch(&calibrate::rows(&checks));
        let provenance = Provenance {
            version: inferscale::version_string(),
            ..Provenance::default()
        };
        write_parquet_atomic(path, &batch, &provenance)
            .with_context(|| format!("writing `{}`", path.display()))?;
    }
    Ok(())
}
