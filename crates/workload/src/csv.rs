//! The one CSV reader of the small tables the workloads read (rate series, size
//! tables): named columns, rows streamed, errors naming file and line.

use std::path::Path;

/// Calls `row(line, cells)` for every non-empty data row of `path`, with `cells` the
/// values of `columns` (by header name, trimmed, `""` where a row is short). Stops at
/// the first error, which names the file (and line, for row errors).
pub(crate) fn for_each_row(
    path: &Path,
    columns: &[&str],
    mut row: impl FnMut(usize, &[&str]) -> Result<(), String>,
) -> Result<(), String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot read `{}`: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
    let mut lines = crate::lines::Lines::new(std::io::BufReader::new(file));
    let header = match lines.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(format!("{}:1: {e}", path.display())),
        None => return Err(format!("`{}` is empty", path.display())),
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let indices = columns
        .iter()
        .map(|c| {
            names.iter().position(|n| n == c).ok_or_else(|| {
                format!(
                    "`{}` has no column `{c}`; its columns are: {}",
                    path.display(),
                    crate::lines::clip(header.trim(), 200)
                )
            })
        })
        .collect::<Result<Vec<usize>, String>>()?;
    for (n, line) in lines.enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", path.display(), n + 2))?;
        if line.trim().is_empty() {
            continue;
        }
        let all: Vec<&str> = line.split(',').map(str::trim).collect();
        let cells: Vec<&str> = indices
            .iter()
            .map(|&i| all.get(i).copied().unwrap_or(""))
            .collect();
        row(n + 2, &cells)?;
    }
    Ok(())
}
