//! Measured per-batch iteration times against the roofline: a CSV in the layout of
//! Splitwise's `perf_model.csv` (static batches: one prefill of `batch_size` prompts of
//! `prompt_size` tokens, then `token_size` decode iterations), each row one
//! repetition.
//!
//! A configuration's measured times are the medians over its repetitions. The
//! simulated prefill is one iteration over every prompt token of the batch; the
//! simulated decode time is the mean of the `token_size − 1` decode iterations, the
//! j-th attending to `prompt_size + j` tokens per request, as `token_time` averages
//! them. Models are found in the catalog by their name with the dashes dropped
//! (`llama2-70b` is `llama-2-70b`), hardware by its catalog name; a row of a model
//! or hardware the catalog lacks is listed, not checked.

use std::collections::BTreeMap;
use std::path::Path;

use inferscale_cluster::{AcceleratorSpec, BatchWork, Efficiency, LlmSpec, Roofline};

/// Columns a table must have.
const REQUIRED: [&str; 8] = [
    "model",
    "hardware",
    "tensor_parallel",
    "prompt_size",
    "batch_size",
    "token_size",
    "prompt_time",
    "token_time",
];

/// Columns Splitwise's table also has, read and not used (power, end-to-end time).
const KNOWN_UNUSED: [&str; 3] = ["peak_power", "average_power", "e2e_time"];

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct IterationTableError {
    /// The file.
    pub file: String,
    /// Line (1 = the header).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One configuration of a table: what was measured, medians over repetitions.
#[derive(Clone, Debug)]
pub struct IterationCase {
    /// The table's model name.
    pub model: String,
    /// The table's hardware name.
    pub hardware: String,
    /// Tensor-parallel accelerators.
    pub tp: u32,
    /// Prompt tokens per request.
    pub prompt: u32,
    /// Requests in the batch.
    pub batch: u32,
    /// Tokens generated per request.
    pub tokens: u32,
    /// Repetitions measured.
    pub repetitions: usize,
    /// Median prefill time of the batch, seconds.
    pub prefill_s: f64,
    /// Median time per decode iteration, seconds.
    pub decode_s: f64,
}

/// A table read: its configurations whose model and hardware the catalog has (with
/// both), and the others with why (a name, once each).
pub struct IterationTable {
    /// Checkable configurations, ordered by model, hardware, TP, prompt, batch, tokens.
    pub cases: Vec<(IterationCase, LlmSpec, AcceleratorSpec)>,
    /// What was passed over, and why.
    pub skipped: Vec<String>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The catalog model a table's model name means: the entry whose name, dashes
/// dropped, equals it with dashes dropped (case ignored).
fn catalog_model(name: &str) -> Option<LlmSpec> {
    let key = |s: &str| s.replace(['-', '_', '.'], "").to_lowercase();
    inferscale_scenario::catalog::models()
        .ok()?
        .into_iter()
        .find(|m| key(&m.name) == key(name))
        .map(|m| m.spec())
}

/// Reads a table (see the module docs).
pub fn read(path: &Path) -> Result<IterationTable, IterationTableError> {
    let file = path.display().to_string();
    let fail = |line: usize, message: String| IterationTableError {
        file: file.clone(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(0, format!("cannot read: {e}")))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| fail(1, "empty file; expected a header".into()))?
        .split(',')
        .map(str::trim)
        .collect();
    for name in &header {
        if !REQUIRED.contains(name) && !KNOWN_UNUSED.contains(name) {
            return Err(fail(
                1,
                format!(
                    "unknown column `{name}`; the columns are {} (and, not used, {})",
                    REQUIRED.join(", "),
                    KNOWN_UNUSED.join(", ")
                ),
            ));
        }
    }
    let mut at = BTreeMap::new();
    for name in REQUIRED {
        let i = header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| fail(1, format!("no `{name}` column")))?;
        at.insert(name, i);
    }
    type Key = (String, String, u32, u32, u32, u32);
    let mut groups: BTreeMap<Key, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let line_no = n + 2;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err(fail(
                line_no,
                format!(
                    "{} cells where the header has {}",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        let cell = |name: &str| cells[at[name]];
        let count = |name: &str| -> Result<u32, IterationTableError> {
            cell(name)
                .parse::<u32>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    fail(
                        line_no,
                        format!(
                            "`{name}`: expected a positive whole number, got `{}`",
                            cell(name)
                        ),
                    )
                })
        };
        let millis = |name: &str| -> Result<f64, IterationTableError> {
            cell(name)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(|v| v / 1e3)
                .ok_or_else(|| {
                    fail(
                        line_no,
                        format!(
                            "`{name}`: expected a positive time in ms, got `{}`",
                            cell(name)
                        ),
                    )
                })
        };
        let key = (
            cell("model").to_owned(),
            cell("hardware").to_owned(),
            count("tensor_parallel")?,
            count("prompt_size")?,
            count("batch_size")?,
            count("token_size")?,
        );
        let (prefill, decode) = (millis("prompt_time")?, millis("token_time")?);
        let group = groups.entry(key).or_default();
        group.0.push(prefill);
        group.1.push(decode);
    }
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for ((model, hardware, tp, prompt, batch, tokens), (mut p, mut d)) in groups {
        let Some(spec) = catalog_model(&model) else {
            let why = format!("model `{model}`: not in the model catalog");
            if !skipped.contains(&why) {
                skipped.push(why);
            }
            continue;
        };
        let Some(node) = inferscale_scenario::catalog::node_type(&hardware) else {
            let why = format!("hardware `{hardware}`: not in the hardware catalog");
            if !skipped.contains(&why) {
                skipped.push(why);
            }
            continue;
        };
        let case = IterationCase {
            model,
            hardware,
            tp,
            prompt,
            batch,
            tokens,
            repetitions: p.len(),
            prefill_s: median(&mut p),
            decode_s: median(&mut d),
        };
        cases.push((case, spec, node.accelerator.clone()));
    }
    Ok(IterationTable { cases, skipped })
}

/// What the roofline predicts for one configuration: (prefill, mean decode
/// iteration), seconds.
pub fn simulate(
    case: &IterationCase,
    model: &LlmSpec,
    accelerator: &AcceleratorSpec,
    efficiency: Efficiency,
) -> (f64, f64) {
    let r = Roofline::new(model.clone(), accelerator.clone(), case.tp, efficiency);
    let (b, p) = (f64::from(case.batch), f64::from(case.prompt));
    let prefill = r.iteration_time(&BatchWork {
        prefill_tokens: b * p,
        prefill_attention_pairs: b * BatchWork::prefill_pairs(p, 0.0),
        ..BatchWork::default()
    });
    let steps = case.tokens.saturating_sub(1).max(1);
    let decode = (1..=steps)
        .map(|j| {
            r.iteration_time(&BatchWork {
                decode_requests: b,
                decode_context_tokens: b * (p + f64::from(j)),
                ..BatchWork::default()
            })
        })
        .sum::<f64>()
        / f64::from(steps);
    (prefill, decode)
}

/// One configuration compared.
#[derive(Clone, Debug)]
pub struct IterationCheck {
    /// The configuration and its measurements.
    pub case: IterationCase,
    /// Simulated prefill, seconds.
    pub prefill_s: f64,
    /// Simulated mean decode iteration, seconds.
    pub decode_s: f64,
}

impl IterationCheck {
    /// (simulated − measured) / measured of the prefill and of the decode.
    pub fn errors(&self) -> (f64, f64) {
        (
            self.prefill_s / self.case.prefill_s - 1.0,
            self.decode_s / self.case.decode_s - 1.0,
        )
    }
}

/// Every configuration of `table` under `efficiency`.
pub fn check(table: &IterationTable, efficiency: Efficiency) -> Vec<IterationCheck> {
    table
        .cases
        .iter()
        .map(|(case, model, accelerator)| {
            let (prefill_s, decode_s) = simulate(case, model, accelerator, efficiency);
            IterationCheck {
                case: case.clone(),
                prefill_s,
                decode_s,
            }
        })
        .collect()
}

/// The fit objective on a table: the mean absolute ln(simulated / measured) over
/// every configuration's prefill and decode — least absolute deviations, so that a
/// repetition gone wrong (Splitwise's table holds a 32,768-token prefill faster than
/// the GPUs' peak FLOP/s allows) moves the fit no more than any other point.
pub fn objective(checks: &[IterationCheck]) -> f64 {
    if checks.is_empty() {
        return 0.0;
    }
    let sum: f64 = checks
        .iter()
        .map(|c| {
            (c.prefill_s / c.case.prefill_s).ln().abs() + (c.decode_s / c.case.decode_s).ln().abs()
        })
        .sum();
    sum / (2 * checks.len()) as f64
}

/// Median and worst absolute relative error of the prefills and of the decodes.
pub fn summary(checks: &[IterationCheck]) -> [(f64, f64); 2] {
    let stat = |pick: &dyn Fn(&IterationCheck) -> f64| {
        let mut v: Vec<f64> = checks.iter().map(|c| pick(c).abs()).collect();
        if v.is_empty() {
            return (0.0, 0.0);
        }
        let worst = v.iter().copied().fold(0.0, f64::max);
        (median(&mut v), worst)
    };
    [stat(&|c| c.errors().0), stat(&|c| c.errors().1)]
}

/// One TP of a trend: (tp, measured ratio, simulated ratio).
pub type TpRatio = (u32, f64, f64);

/// The decode time's trend in tensor parallelism, measured and simulated: for each
/// model, hardware and (prompt, batch, tokens) measured at more than one TP, the
/// decode time at each TP over that at the smallest. A flat measured trend (ratios
/// near 1) the roofline's division by TP would miss.
pub fn tp_trends(checks: &[IterationCheck]) -> Vec<(String, Vec<TpRatio>)> {
    let mut groups: BTreeMap<String, Vec<&IterationCheck>> = BTreeMap::new();
    for c in checks {
        let k = &c.case;
        groups
            .entry(format!(
                "{} {} prompt {} batch {} tokens {}",
                k.model, k.hardware, k.prompt, k.batch, k.tokens
            ))
            .or_default()
            .push(c);
    }
    groups
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(name, mut v)| {
            v.sort_by_key(|c| c.case.tp);
            let (m0, s0) = (v[0].case.decode_s, v[0].decode_s);
            let ratios = v
                .iter()
                .map(|c| (c.case.tp, c.case.decode_s / m0, c.decode_s / s0))
                .collect();
            (name, ratios)
        })
        .collect()
}

/// The report on a table: one line per configuration, then the medians and the TP
/// trends of the batch-1 decodes.
pub fn format_report(file: &str, checks: &[IterationCheck], skipped: &[String]) -> String {
    let mut out = format!(
        "\n{file}: iteration times in ms, measured (median of repetitions) / simulated (error)\n\n"
    );
    out.push_str(&format!(
        "{:<12} {:<10} {:>3} {:>6} {:>5} {:>6} {:>28} {:>24}\n",
        "model", "hardware", "tp", "prompt", "batch", "tokens", "prefill", "decode iteration"
    ));
    for c in checks {
        let (ep, ed) = c.errors();
        let k = &c.case;
        out.push_str(&format!(
            "{:<12} {:<10} {:>3} {:>6} {:>5} {:>6} {:>28} {:>24}\n",
            k.model,
            k.hardware,
            k.tp,
            k.prompt,
            k.batch,
            k.tokens,
            format!(
                "{:.1} / {:.1} ({:+.0}%)",
                1e3 * k.prefill_s,
                1e3 * c.prefill_s,
                100.0 * ep
            ),
            format!(
                "{:.1} / {:.1} ({:+.0}%)",
                1e3 * k.decode_s,
                1e3 * c.decode_s,
                100.0 * ed
            ),
        ));
    }
    let [(pm, pw), (dm, dw)] = summary(checks);
    out.push_str(&format!(
        "\nAbsolute relative error over {} configurations: prefill median {:.1}% (worst {:.0}%), decode iteration median {:.1}% (worst {:.0}%)\n",
        checks.len(),
        100.0 * pm,
        100.0 * pw,
        100.0 * dm,
        100.0 * dw
    ));
    out.push_str(&format!(
        "fit objective: mean |ln(simulated/measured)| over prefill and decode: {:.4}\n",
        objective(checks)
    ));
    let trends: Vec<_> = tp_trends(checks)
        .into_iter()
        .filter(|(name, _)| name.contains("batch 1 "))
        .collect();
    if !trends.is_empty() {
        out.push_str("\nDecode time against the smallest TP (batch 1), measured / simulated:\n");
        for (name, ratios) in trends {
            let cells: Vec<String> = ratios
                .iter()
                .map(|(tp, m, s)| format!("TP{tp} {m:.2}/{s:.2}"))
                .collect();
            out.push_str(&format!("  {name}: {}\n", cells.join("  ")));
        }
    }
    for why in skipped {
        out.push_str(&format!("not checked: {why}\n"));
    }
    out
}
