//! Request traces in their native formats, read as streams (never loaded whole).
//!
//! - **Azure LLM inference 2023** CSV: `TIMESTAMP,ContextTokens,GeneratedTokens`, the
//!   timestamp `YYYY-MM-DD HH:MM:SS.fffffff` with up to 9 fractional digits and an
//!   optional `+00:00`.
//! - **Mooncake** JSONL: `{"timestamp": ms, "input_length": n, "output_length": m,
//!   "hash_ids": [...]}` per line.
//! - **BurstGPT** CSV: `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log
//!   Type`, the timestamp in seconds.
//! - **Generic** CSV: a header naming `time_s`, `input_tokens`, `output_tokens` and
//!   optionally `model` (any order, other columns ignored); one file can hold several
//!   models' requests, and a reader keeps one model's rows.
//!
//! Times become seconds since the first request. A malformed line (bad timestamp,
//! missing column, negative or non-integer tokens, time going backwards) is an error
//! that names the file and line.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// One request of a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRequest {
    /// Seconds since the trace's first request.
    pub time_s: f64,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// The ids of its prompt's prefix blocks, in order, where the trace lists them
    /// (Mooncake's `hash_ids`: one id per 512-token block, equal ids for equal
    /// prefixes); empty otherwise. What prefix caching names the prompt's blocks by
    /// ([`trace_segments`](crate::trace_segments)).
    pub prefix_blocks: Vec<u64>,
    /// What a generic CSV row's prompt shares with other rows', where its
    /// `conversation` or `prefix_group` column says.
    pub shared_text: Option<SharedText>,
}

/// A parsed line: time, input and output tokens, whether the model filter keeps it,
/// its listed prefix blocks, what it shares by column.
type Parsed = (f64, u32, u32, bool, Vec<u64>, Option<SharedText>);

/// Mooncake's prefix block: 512 tokens.
pub const MOONCAKE_BLOCK_TOKENS: u32 = 512;

/// The trace formats understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure LLM inference 2023 CSV.
    AzureLlm,
    /// Mooncake JSONL.
    Mooncake,
    /// BurstGPT CSV.
    BurstGpt,
    /// `time_s,model,input_tokens,output_tokens` CSV.
    Generic,
}

/// Column positions of a generic CSV trace, from its header.
#[derive(Clone, Copy, Debug)]
struct GenericColumns {
    time: usize,
    input: usize,
    output: usize,
    model: Option<usize>,
    /// `conversation`: rows of one conversation are one growing text.
    conversation: Option<usize>,
    /// `prefix_group` and `prefix_tokens`: rows of a group share their first tokens.
    prefix_group: Option<(usize, usize)>,
}

/// What a generic CSV row's prompt shares with other rows' (its optional
/// `conversation` or `prefix_group` column), each id hashed from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedText {
    /// Rows of one conversation are one growing text: a row's prompt is the first
    /// `input_tokens` of it, and the earlier rows' prompts and outputs were its
    /// beginning (as when each request carries the conversation so far).
    Conversation(u64),
    /// Rows of one group share their first `tokens` tokens (a system prompt).
    Group {
        /// The group.
        group: u64,
        /// Tokens shared (at most the prompt).
        tokens: u32,
    },
}

/// A stable 64-bit id of a cell's text (FNV-1a, then mixed).
fn text_id(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    inferscale_engine::mix64(h)
}

/// A trace line that could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("cannot read trace `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Streams the requests of a trace file.
pub struct TraceReader<R: BufRead> {
    path: PathBuf,
    format: TraceFormat,
    lines: crate::lines::Lines<R>,
    line: usize,
    origin: Option<f64>,
    last: f64,
    model: Option<String>,
    columns: Option<GenericColumns>,
}

impl TraceReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path` as a trace of `format`.
    pub fn open(path: &Path, format: TraceFormat) -> Result<Self, TraceError> {
        let file = std::fs::File::open(path).map_err(|source| TraceError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::new(path, format, std::io::BufReader::new(file)))
    }
}

impl<R: BufRead> TraceReader<R> {
    /// Reads a trace of `format` from `reader`; `path` names it in errors.
    pub fn new(path: &Path, format: TraceFormat, reader: R) -> Self {
        TraceReader {
            path: path.to_owned(),
            format,
            lines: crate::lines::Lines::new(reader),
            line: 0,
            origin: None,
            last: f64::NEG_INFINITY,
            model: None,
            columns: None,
        }
    }

    /// Keeps only the rows whose `model` column (BurstGPT's `Model`, the generic
    /// format's `model`) equals `model`; times stay relative to the file's first row.
    pub fn only_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Whether the row's model cell passes the filter.
    fn wanted(&self, cell: Option<&str>) -> Result<bool, TraceError> {
        match (&self.model, cell) {
            (None, _) => Ok(true),
            (Some(want), Some(have)) => Ok(want == have),
            (Some(want), None) => Err(self.malformed(format!(
                "the trace has no model column to select `{want}` by"
            ))),
        }
    }

    /// An error at the current line; what it quotes of the line is clipped.
    fn malformed(&self, message: impl Into<String>) -> TraceError {
        TraceError::Malformed {
            path: self.path.clone(),
            line: self.line,
            message: crate::lines::clip(&message.into(), 300),
        }
    }

    /// The row's (time, input, output, kept by the model filter), or `None` for a header.
    /// One line as (time in seconds, input tokens, output tokens, whether its model is
    /// wanted, prefix block ids), or `None` for a header.
    #[allow(clippy::type_complexity)]
    fn parse(&mut self, text: &str) -> Result<Option<Parsed>, TraceError> {
        match self.format {
            TraceFormat::Generic => {
                let cells: Vec<&str> = text.trim().split(',').map(str::trim).collect();
                if self.line == 1 {
                    let find = |name: &str| cells.iter().position(|c| *c == name);
                    let (Some(time), Some(input), Some(output)) =
                        (find("time_s"), find("input_tokens"), find("output_tokens"))
                    else {
                        return Err(self.malformed(format!(
                            "expected a header with `time_s`, `input_tokens`, `output_tokens` (and optionally `model`), found `{}`",
                            text.trim()
                        )));
                    };
                    let prefix_group = match (find("prefix_group"), find("prefix_tokens")) {
                        (Some(g), Some(t)) => Some((g, t)),
                        (None, None) => None,
                        _ => {
                            return Err(self.malformed(
                                "`prefix_group` and `prefix_tokens` go together: the group, and how many of its rows' first tokens it shares",
                            ));
                        }
                    };
                    let conversation = find("conversation");
                    if conversation.is_some() && prefix_group.is_some() {
                        return Err(self.malformed(
                            "give `conversation` or `prefix_group`, not both: a conversation's rows already share their text",
                        ));
                    }
                    self.columns = Some(GenericColumns {
                        time,
                        input,
                        output,
                        model: find("model"),
                        conversation,
                        prefix_group,
                    });
                    return Ok(None);
                }
                let Some(c) = self.columns else {
                    return Err(self.malformed("no header"));
                };
                let needed = c
                    .time
                    .max(c.input)
                    .max(c.output)
                    .max(c.model.unwrap_or(0))
                    .max(c.conversation.unwrap_or(0))
                    .max(c.prefix_group.map_or(0, |(g, t)| g.max(t)))
                    + 1;
                if cells.len() < needed {
                    return Err(self.malformed(format!(
                        "expected at least {needed} columns, found {}",
                        cells.len()
                    )));
                }
                let t = self.seconds(cells[c.time], "time_s")?;
                let keep = self.wanted(c.model.map(|m| cells[m]))?;
                let input = self.tokens(cells[c.input], "input_tokens")?;
                // An empty cell: the row shares nothing.
                let shared = if let Some(k) = c.conversation.filter(|&k| !cells[k].is_empty()) {
                    Some(SharedText::Conversation(text_id(cells[k])))
                } else if let Some((g, k)) = c.prefix_group.filter(|&(g, _)| !cells[g].is_empty()) {
                    Some(SharedText::Group {
                        group: text_id(cells[g]),
                        tokens: self.tokens(cells[k], "prefix_tokens")?.min(input),
                    })
                } else {
                    None
                };
                Ok(Some((
                    t,
                    input,
                    self.tokens(cells[c.output], "output_tokens")?,
                    keep,
                    Vec::new(),
                    shared,
                )))
            }
            TraceFormat::AzureLlm => {
                if self.line == 1 {
                    let header: Vec<&str> = text.trim().split(',').map(str::trim).collect();
                    if header != ["TIMESTAMP", "ContextTokens", "GeneratedTokens"] {
                        return Err(self.malformed(format!(
                            "expected the header `TIMESTAMP,ContextTokens,GeneratedTokens`, found `{}`",
                            text.trim()
                        )));
                    }
                    return Ok(None);
                }
                let cells: Vec<&str> = text.trim().split(',').collect();
                let [time, input, output] = cells.as_slice() else {
                    return Err(
                        self.malformed(format!("expected 3 columns, found {}", cells.len()))
                    );
                };
                let t = parse_timestamp(time).map_err(|m| self.malformed(m))?;
                Ok(Some((
                    t,
                    self.tokens(input, "ContextTokens")?,
                    self.tokens(output, "GeneratedTokens")?,
                    self.wanted(None)?,
                    Vec::new(),
                    None,
                )))
            }
            TraceFormat::BurstGpt => {
                let cells: Vec<&str> = text.trim().split(',').map(str::trim).collect();
                if self.line == 1 {
                    if cells.first() != Some(&"Timestamp")
                        || cells.get(2) != Some(&"Request tokens")
                    {
                        return Err(self.malformed(format!(
                            "expected the BurstGPT header `Timestamp,Model,Request tokens,Response tokens,...`, found `{}`",
                            text.trim()
                        )));
                    }
                    return Ok(None);
                }
                if cells.len() < 4 {
                    return Err(self.malformed(format!(
                        "expected at least 4 columns, found {}",
                        cells.len()
                    )));
                }
                let t = self.seconds(cells[0], "Timestamp")?;
                Ok(Some((
                    t,
                    self.tokens(cells[2], "Request tokens")?,
                    self.tokens(cells[3], "Response tokens")?,
                    self.wanted(Some(cells[1]))?,
                    Vec::new(),
                    None,
                )))
            }
            TraceFormat::Mooncake => {
                let object = text.trim();
                if !(object.starts_with('{') && object.ends_with('}')) {
                    return Err(self.malformed(
                        "a Mooncake line is one JSON object, `{...}`; this one is cut short or is not one",
                    ));
                }
                let field = |name: &str| -> Result<&str, TraceError> {
                    let key = format!("\"{name}\"");
                    let at = text
                        .find(&key)
                        .ok_or_else(|| self.malformed(format!("no `{name}` field")))?;
                    let rest = text[at + key.len()..].trim_start();
                    let rest = rest
                        .strip_prefix(':')
                        .ok_or_else(|| self.malformed(format!("no value for `{name}`")))?;
                    let rest = rest.trim_start();
                    let end = rest.find([',', '}']).unwrap_or(rest.len());
                    Ok(rest[..end].trim())
                };
                let ms: f64 = field("timestamp")?
                    .parse()
                    .map_err(|_| self.malformed("`timestamp` is not a number of milliseconds"))?;
                if !ms.is_finite() || ms < 0.0 {
                    return Err(self.malformed("`timestamp` must be zero or more milliseconds"));
                }
                let input = self.tokens(field("input_length")?, "input_length")?;
                let output = self.tokens(field("output_length")?, "output_length")?;
                let blocks = self.hash_ids(text)?;
                Ok(Some((
                    ms / 1e3,
                    input,
                    output,
                    self.wanted(None)?,
                    blocks,
                    None,
                )))
            }
        }
    }

    /// A Mooncake line's `hash_ids` (a JSON array of whole numbers), empty when the
    /// line has none.
    fn hash_ids(&self, text: &str) -> Result<Vec<u64>, TraceError> {
        let key = "\"hash_ids\"";
        let Some(at) = text.find(key) else {
            return Ok(Vec::new());
        };
        let rest = text[at + key.len()..].trim_start();
        let list = rest
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('['))
            .and_then(|r| r.split_once(']'))
            .map(|(inside, _)| inside)
            .ok_or_else(|| self.malformed("`hash_ids` must be a list of block ids, `[...]`"))?;
        list.split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse::<u64>().map_err(|_| {
                    self.malformed(format!(
                        "`hash_ids` must hold whole numbers, got `{}`",
                        crate::lines::clip(id, 40)
                    ))
                })
            })
            .collect()
    }

    fn seconds(&self, text: &str, column: &str) -> Result<f64, TraceError> {
        text.parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                self.malformed(format!(
                    "`{column}` must be a time in seconds, 0 or more, got `{text}`"
                ))
            })
    }

    fn tokens(&self, text: &str, column: &str) -> Result<u32, TraceError> {
        text.trim().parse::<u32>().map_err(|_| {
            self.malformed(format!(
                "`{column}` must be a whole number of tokens, 0 or more, got `{}`",
                text.trim()
            ))
        })
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<TraceRequest, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = match self.lines.next()? {
                Ok(t) => t,
                Err(crate::lines::LineError::Io(source)) => {
                    return Some(Err(TraceError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
                Err(e) => {
                    self.line += 1;
                    return Some(Err(self.malformed(e.to_string())));
                }
            };
            self.line += 1;
            if text.trim().is_empty() {
                continue;
            }
            let (t, input, output, keep, prefix_blocks, shared_text) = match self.parse(&text) {
                Ok(Some(row)) => row,
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            };
            if t < self.last {
                return Some(Err(self.malformed(format!(
                    "time goes backwards ({t:.6} s after {:.6} s); traces must be sorted",
                    self.last
                ))));
            }
            self.last = t;
            let origin = *self.origin.get_or_insert(t);
            if !keep {
                continue;
            }
            return Some(Ok(TraceRequest {
                time_s: t - origin,
                input_tokens: input,
                output_tokens: output,
                prefix_blocks,
                shared_text,
            }));
        }
    }
}

/// Seconds since 1970 of `YYYY-MM-DD HH:MM:SS[.fffffffff][+00:00]` (UTC).
fn parse_timestamp(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let text = text
        .strip_suffix("+00:00")
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text);
    let bad = || format!("`{text}` is not a timestamp like `2023-11-16 18:15:46.6805900`");
    let (date, time) = text.split_once([' ', 'T']).ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let [y, m, day] = d.as_slice() else {
        return Err(bad());
    };
    let (y, m, day): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        day.parse().map_err(|_| bad())?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<&str> = hms.split(':').collect();
    let [h, min, s] = t.as_slice() else {
        return Err(bad());
    };
    let (h, min, s): (i64, i64, i64) = (
        h.parse().map_err(|_| bad())?,
        min.parse().map_err(|_| bad())?,
        s.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return Err(bad());
    }
    if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    let days = days_from_civil(y, m, day);
    Ok((days * 86_400 + h * 3600 + min * 60 + s) as f64 + nanos as f64 * 1e-9)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: TraceFormat, text: &str) -> Vec<Result<TraceRequest, String>> {
        TraceReader::new(Path::new("t"), format, text.as_bytes())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn timestamps_parse_to_the_nanosecond() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let a = parse_timestamp("2023-11-16 18:15:46.6805900").unwrap();
        let b = parse_timestamp("2023-11-16 18:15:50.9951690+00:00").unwrap();
        assert!((b - a - 4.314579).abs() < 1e-6);
        assert_eq!(
            parse_timestamp("2023-11-16 00:00:00").unwrap(),
            1_700_092_800.0
        );
    }

    #[test]
    fn azure_rows_become_relative_requests() {
        let rows = read(
            TraceFormat::AzureLlm,
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n",
        );
        let r: Vec<TraceRequest> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            (r[0].time_s, r[0].input_tokens, r[0].output_tokens),
            (0.0, 374, 44)
        );
        assert!((r[1].time_s - 4.314579).abs() < 1e-6);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let cases = [
            (
                TraceFormat::AzureLlm,
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n2023-11-16 25:00:00,1,2\n",
                "t:3: `2023-11-16 25:00:00` is not a timestamp",
            ),
            (
                TraceFormat::AzureLlm,
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1\n",
                "t:2: expected 3 columns, found 2",
            ),
            (
                TraceFormat::AzureLlm,
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-5,2\n",
                "t:2: `ContextTokens` must be a whole number",
            ),
            (
                TraceFormat::AzureLlm,
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n2023-11-16 18:15:45,1,2\n",
                "t:3: time goes backwards",
            ),
            (
                TraceFormat::AzureLlm,
                "time,in,out\n",
                "t:1: expected the header",
            ),
            (
                TraceFormat::Mooncake,
                "{\"timestamp\": 0, \"input_length\": 5}\n",
                "t:1: no `output_length` field",
            ),
            (
                TraceFormat::Mooncake,
                "{\"timestamp\": \"x\", \"input_length\": 5, \"output_length\": 3}\n",
                "t:1: `timestamp` is not a number",
            ),
            // A line cut short is not read as a shorter output.
            (
                TraceFormat::Mooncake,
                "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2}\n{\"timestamp\": 102000, \"input_length\": 4743, \"output_length\": 5",
                "t:2: a Mooncake line is one JSON object",
            ),
        ];
        for (format, text, want) in cases {
            let rows = read(format, text);
            let err = rows.into_iter().find_map(Result::err).unwrap_or_default();
            assert!(err.starts_with(want), "{want}\n got: {err}");
        }
    }

    /// A UTF-8 byte-order mark (what spreadsheet programs write first) is accepted in
    /// every format.
    #[test]
    fn a_byte_order_mark_is_accepted_everywhere() {
        let cases = [
            (
                TraceFormat::AzureLlm,
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n",
            ),
            (
                TraceFormat::Generic,
                "time_s,input_tokens,output_tokens\n0.5,1,2\n",
            ),
            (
                TraceFormat::BurstGpt,
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,1,2,3,Conversation log\n",
            ),
            (
                TraceFormat::Mooncake,
                "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2}\n",
            ),
        ];
        for (format, text) in cases {
            let rows = read(format, &format!("\u{feff}{text}"));
            let r: Vec<TraceRequest> = rows.into_iter().map(Result::unwrap).collect();
            assert_eq!(r.len(), 1, "{format:?}");
            assert_eq!(
                (r[0].input_tokens, r[0].output_tokens),
                (1, 2),
                "{format:?}"
            );
        }
    }

    /// An error quotes at most a short excerpt of a line, however long it is.
    #[test]
    fn errors_quote_a_clipped_line() {
        let header = format!("time,{}\n", "x".repeat(500_000));
        let err = read(TraceFormat::AzureLlm, &header)
            .into_iter()
            .find_map(Result::err)
            .unwrap();
        assert!(err.len() < 500, "{} bytes", err.len());
    }

    #[test]
    fn burstgpt_rows_in_seconds() {
        let rows = read(
            TraceFormat::BurstGpt,
            "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,0,1087,API log\n",
        );
        let r: Vec<TraceRequest> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            r[0],
            TraceRequest {
                time_s: 0.0,
                input_tokens: 472,
                output_tokens: 18,
                prefix_blocks: vec![],
                shared_text: None,
            }
        );
        assert_eq!(
            r[1],
            TraceRequest {
                time_s: 40.0,
                input_tokens: 1087,
                output_tokens: 0,
                prefix_blocks: vec![],
                shared_text: None,
            }
        );
        let bad = read(
            TraceFormat::BurstGpt,
            "Timestamp,Model,Request tokens,Response tokens\nsoon,ChatGPT,1,1\n",
        );
        let err = bad.into_iter().find_map(Result::err).unwrap();
        assert!(
            err.starts_with("t:2: `Timestamp` must be a time in seconds, 0 or more, got `soon`"),
            "{err}"
        );
    }

    #[test]
    fn mooncake_lines_in_milliseconds() {
        let rows = read(
            TraceFormat::Mooncake,
            "{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1]}\n{\"timestamp\": 3000, \"input_length\": 7, \"output_length\": 9, \"hash_ids\": []}\n",
        );
        let r: Vec<TraceRequest> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(r[0].prefix_blocks, [0, 1]);
        assert_eq!(
            r[1],
            TraceRequest {
                time_s: 3.0,
                input_tokens: 7,
                output_tokens: 9,
                prefix_blocks: vec![],
                shared_text: None,
            }
        );
    }

    #[test]
    fn generic_csv_keeps_one_models_rows() {
        let text = "input_tokens,time_s,model,output_tokens,tenant\n10,1.5,a,1,x\n20,2.0,b,2,y\n30,4.0,a,3,z\n";
        let all: Vec<TraceRequest> = read(TraceFormat::Generic, text)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[2],
            TraceRequest {
                time_s: 2.5,
                input_tokens: 30,
                output_tokens: 3,
                prefix_blocks: vec![],
                shared_text: None,
            }
        );
        let only_a: Vec<TraceRequest> =
            TraceReader::new(Path::new("t"), TraceFormat::Generic, text.as_bytes())
                .only_model("a")
                .map(Result::unwrap)
                .collect();
        let times: Vec<f64> = only_a.iter().map(|r| r.time_s).collect();
        assert_eq!(
            times,
            [0.0, 2.5],
            "times stay relative to the file's first row"
        );
        for (text, want) in [
            (
                "t,input_tokens,output_tokens\n",
                "t:1: expected a header with `time_s`",
            ),
            (
                "time_s,input_tokens,output_tokens\n1,2\n",
                "t:2: expected at least 3 columns",
            ),
            (
                "time_s,input_tokens,output_tokens\n-1,2,3\n",
                "t:2: `time_s` must be a time in seconds",
            ),
            (
                "time_s,input_tokens,output_tokens\n1,2,x\n",
                "t:2: `output_tokens` must be a whole number",
            ),
        ] {
            let err = read(TraceFormat::Generic, text)
                .into_iter()
                .find_map(Result::err)
                .unwrap_or_default();
            assert!(err.starts_with(want), "{want}\n got: {err}");
        }
        let err = TraceReader::new(
            Path::new("t"),
            TraceFormat::AzureLlm,
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n".as_bytes(),
        )
        .only_model("a")
        .find_map(Result::err)
        .unwrap()
        .to_string();
        assert!(err.contains("no model column to select `a` by"), "{err}");
    }

    #[test]
    fn mooncake_hash_ids_are_kept_and_checked() {
        let rows = read(
            TraceFormat::Mooncake,
            "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [46, 47]}\n{\"timestamp\": 1, \"input_length\": 9, \"output_length\": 5}\n{\"timestamp\": 2, \"input_length\": 9, \"output_length\": 5, \"hash_ids\": [1, x]}\n{\"timestamp\": 3, \"input_length\": 9, \"output_length\": 5, \"hash_ids\": 4}\n",
        );
        assert_eq!(rows[0].as_ref().unwrap().prefix_blocks, [46, 47]);
        assert!(rows[1].as_ref().unwrap().prefix_blocks.is_empty());
        let e2 = rows[2].as_ref().unwrap_err();
        assert!(
            e2.contains("t:3") && e2.contains("whole numbers, got `x`"),
            "{e2}"
        );
        let e3 = rows[3].as_ref().unwrap_err();
        assert!(
            e3.contains("t:4") && e3.contains("list of block ids"),
            "{e3}"
        );
    }
}
