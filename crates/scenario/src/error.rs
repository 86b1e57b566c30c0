//! Errors that point at the place in the scenario file where the mistake was written.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// A scenario that could not be read or is not valid.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario `{}`: {source}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file was read but its content is wrong.
    #[error("{0}")]
    Invalid(Box<Invalid>),
}

/// Where a scenario is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, or 0 when unknown.
    pub line: u64,
    /// 1-based column, or 0 when unknown.
    pub column: u64,
    /// The field path, e.g. `models[0].service_time`; empty for the whole document.
    pub field: String,
    /// What is wrong and what is accepted.
    pub message: String,
    /// The offending source line, for the caret display.
    pub source_line: Option<String>,
}

impl ScenarioError {
    /// An error at `line:column` of `source`.
    pub(crate) fn at(
        file: &str,
        source: &str,
        line: u64,
        column: u64,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let source_line = (line > 0)
            .then(|| source.lines().nth((line - 1) as usize))
            .flatten()
            .map(str::to_owned);
        ScenarioError::Invalid(Box::new(Invalid {
            file: file.to_owned(),
            line,
            column,
            field: field.into(),
            message: message.into(),
            source_line,
        }))
    }

    /// The location details, if the content was wrong (not for I/O errors).
    pub fn invalid(&self) -> Option<&Invalid> {
        match self {
            ScenarioError::Invalid(inv) => Some(inv),
            ScenarioError::Read { .. } => None,
        }
    }
}

/// Characters of a source line shown on each side of the caret: a line of a
/// megabyte (an inline table on one line) is shown around the column, not whole.
const SNIPPET_RADIUS: usize = 60;

/// The part of `line` around character `column` (0-based) that the snippet shows,
/// with `…` where it was cut, and the caret's position in it.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars = line.chars().count();
    if chars <= 2 * SNIPPET_RADIUS + 20 {
        return (line.to_owned(), column);
    }
    let start = column.saturating_sub(SNIPPET_RADIUS);
    let end = (column + SNIPPET_RADIUS).min(chars);
    let mut shown: String = line.chars().skip(start).take(end - start).collect();
    let mut caret = column - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars {
        shown.push('…');
    }
    (shown, caret)
}

/// Most characters of a message shown (a message may quote a value from the file).
const MESSAGE_LIMIT: usize = 400;

impl fmt::Display for Invalid {
    /// `file:line:column: field: message`, then the source line with a caret under the
    /// column, in the style of compilers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": ")?;
        if !self.field.is_empty() {
            write!(f, "`{}`: ", self.field)?;
        }
        write!(
            f,
            "{}",
            inferscale_workload::lines::clip(&self.message, MESSAGE_LIMIT)
        )?;
        if let Some(text) = &self.source_line {
            let gutter = self.line.to_string().len();
            let (text, caret_at) = window(text, self.column.saturating_sub(1) as usize);
            let pad: String = text
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {pad}^",
                "", self.line, text, ""
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_points_at_the_column() {
        let src = "name: x\nduration: 5 parsecs\n";
        let err = ScenarioError::at("s.yaml", src, 2, 11, "duration", "bad unit");
        assert_eq!(
            err.to_string(),
            "s.yaml:2:11: `duration`: bad unit\n  |\n2 | duration: 5 parsecs\n  |           ^"
        );
    }

    /// A line of a megabyte is shown around the column, the caret still under it.
    #[test]
    fn a_long_line_is_shown_around_the_column() {
        let line = format!(
            "rate: [{}x{}]",
            "1, ".repeat(300_000),
            ", 2".repeat(300_000)
        );
        let column = line.find('x').unwrap() as u64 + 1;
        let src = format!("name: x\n{line}\n");
        let err = ScenarioError::at("s.yaml", &src, 2, column, "rate", "bad".repeat(1_000));
        let text = err.to_string();
        assert!(text.len() < 1_000, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let shown = lines[2].strip_prefix("2 | ").unwrap();
        let caret = lines[3].strip_prefix("  | ").unwrap();
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(
            shown.chars().nth(caret.chars().count() - 1),
            Some('x'),
            "{shown}\n{caret}"
        );
        assert!(lines[0].contains("… (3000 bytes in all)"));
    }

    #[test]
    fn unknown_location_prints_no_snippet() {
        let err = ScenarioError::at("s.yaml", "", 0, 0, "", "empty file");
        assert_eq!(err.to_string(), "s.yaml: empty file");
    }
}
