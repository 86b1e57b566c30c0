//! Trace replay with the options scaling studies need: a time window, speed-up, rate
//! scaling (superposition of shifted copies, thinning for the fraction) and looping,
//! all streamed from the file.
//!
//! The window `[start, end)` of trace time is the *segment*, of length `L` (`end −
//! start`, or up to one mean gap past the last request when `end` is open). A replay at
//! rate scale `s` plays `n = ⌈s⌉` copies of the segment; copy `j` is shifted by `j·L/n`
//! and wrapped around inside the segment, so the copies stay in the same span of time
//! and the load stays where the trace put it; the last copy keeps each request with
//! probability `s − (n − 1)`. A scale below 1 is thinning of the one copy. Looping
//! replays the segment again after `L`, for ever (the simulation's horizon ends it).
//! Replay time is segment time divided by the speed-up.

use std::path::{Path, PathBuf};

use inferscale_engine::SimRng;

use crate::{TraceError, TraceFormat, TraceReader, TraceRequest};

/// How to replay a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayOptions {
    /// Trace time (seconds since its first request) where replay starts.
    pub start_s: f64,
    /// Trace time where it stops (`f64::INFINITY`: the end of the trace).
    pub end_s: f64,
    /// Replay this many times faster.
    pub speedup: f64,
    /// Multiply the request rate by this (above 1: superposed shifted copies; below 1:
    /// thinning).
    pub rate_scale: f64,
    /// Replay the window again and again.
    pub looped: bool,
    /// Keep only this model's rows (formats with a model column).
    pub model: Option<String>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            start_s: 0.0,
            end_s: f64::INFINITY,
            speedup: 1.0,
            rate_scale: 1.0,
            looped: false,
            model: None,
        }
    }
}

/// What a read-through of a trace's window found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowSummary {
    /// Requests in the window.
    pub requests: u64,
    /// Trace time of the first and the last of them.
    pub first_s: f64,
    /// See `first_s`.
    pub last_s: f64,
    /// Length of the segment replayed (and the loop period), in trace seconds.
    pub segment_s: f64,
}

impl WindowSummary {
    /// Mean requests per second of replay time under `options`.
    pub fn replay_rate(&self, options: &ReplayOptions) -> f64 {
        self.requests as f64 * options.rate_scale * options.speedup / self.segment_s
    }
}

/// Reads the window of a trace through once: every row is checked (the first bad one
/// is the error) and the window's requests are counted. `None` when it holds none.
pub fn summarize_window(
    path: &Path,
    format: TraceFormat,
    options: &ReplayOptions,
) -> Result<Option<WindowSummary>, TraceError> {
    let (mut requests, mut first, mut last) = (0u64, f64::NAN, f64::NAN);
    for request in open(path, format, options)? {
        let t = request?.time_s;
        if t >= options.start_s && t < options.end_s {
            requests += 1;
            if first.is_nan() {
                first = t;
            }
            last = t;
        }
    }
    if requests == 0 {
        return Ok(None);
    }
    let segment_s = if options.end_s.is_finite() {
        options.end_s - options.start_s
    } else {
        // One mean gap past the last request, so a loop does not stack two requests.
        let gap = if requests > 1 {
            (last - first) / (requests - 1) as f64
        } else {
            1.0
        };
        last - options.start_s + gap
    };
    Ok(Some(WindowSummary {
        requests,
        first_s: first,
        last_s: last,
        segment_s: segment_s.max(1e-9),
    }))
}

fn open(
    path: &Path,
    format: TraceFormat,
    options: &ReplayOptions,
) -> Result<TraceReader<std::io::BufReader<std::fs::File>>, TraceError> {
    let reader = TraceReader::open(path, format)?;
    Ok(match &options.model {
        Some(m) => reader.only_model(m.clone()),
        None => reader,
    })
}

/// A replayed trace: requests with `time_s` in replay time, in order. The trace was
/// checked by [`summarize_window`]; should a read fail now (the file changed on disk),
/// the stream ends there.
pub struct Replay {
    copies: Vec<CopyStream>,
    heads: Vec<Option<TraceRequest>>,
    /// Probability that the last copy keeps a request.
    last_keep: f64,
    rng: SimRng,
    speedup: f64,
    /// Which copy and pass the last request came from (0 for the first copy's first
    /// pass): what tells repeated copies' prompts apart ([`Replay::copy_salt`]).
    last_salt: u64,
}

impl Replay {
    /// The copy and pass (`copy << 32 | pass`) of the request returned last. A faster
    /// replay and a looped one repeat the trace's prompts; salting their content by
    /// this treats each copy's users as other users, so a copy never hits in the cache
    /// on the prompts of another (the first copy's first pass is 0: the trace as it
    /// is).
    pub fn copy_salt(&self) -> u64 {
        self.last_salt
    }

    /// Replays `path` under `options`, with `window` from [`summarize_window`] and `rng`
    /// the stream that thins.
    pub fn new(
        path: &Path,
        format: TraceFormat,
        options: &ReplayOptions,
        window: &WindowSummary,
        rng: SimRng,
    ) -> Self {
        let n = options.rate_scale.ceil().max(1.0) as usize;
        let copies: Vec<CopyStream> = (0..n)
            .map(|j| CopyStream {
                path: path.to_owned(),
                format,
                options: options.clone(),
                segment_s: window.segment_s,
                offset_s: j as f64 * window.segment_s / n as f64,
                pass: 0,
                phase: 0,
                reader: None,
            })
            .collect();
        Replay {
            heads: vec![None; copies.len()],
            copies,
            last_keep: (options.rate_scale - (n - 1) as f64).clamp(0.0, 1.0),
            rng,
            speedup: options.speedup,
            last_salt: 0,
        }
    }
}

impl Iterator for Replay {
    type Item = TraceRequest;

    fn next(&mut self) -> Option<TraceRequest> {
        let last = self.copies.len() - 1;
        loop {
            for (head, copy) in self.heads.iter_mut().zip(&mut self.copies) {
                if head.is_none() {
                    *head = copy.next();
                }
            }
            let (j, _) = self
                .heads
                .iter()
                .enumerate()
                .filter_map(|(j, h)| h.as_ref().map(|h| (j, h.time_s)))
                .min_by(|a, b| a.1.total_cmp(&b.1))?;
            let mut request = self.heads[j].take()?;
            if j == last && self.last_keep < 1.0 {
                let u = (rand::Rng::next_u64(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64;
                if u >= self.last_keep {
                    continue;
                }
            }
            request.time_s /= self.speedup;
            self.last_salt = (j as u64) << 32 | self.copies[j].pass;
            return Some(request);
        }
    }
}

/// One shifted copy of the segment, looped or not; times in segment time.
struct CopyStream {
    path: PathBuf,
    format: TraceFormat,
    options: ReplayOptions,
    segment_s: f64,
    offset_s: f64,
    pass: u64,
    /// 0: the wrapped tail `[L − offset, L)`, played first; 1: the head `[0, L − offset)`;
    /// 2: finished.
    phase: u8,
    reader: Option<TraceReader<std::io::BufReader<std::fs::File>>>,
}

impl CopyStream {
    fn next(&mut self) -> Option<TraceRequest> {
        let split = self.segment_s - self.offset_s;
        while self.phase < 2 {
            if self.reader.is_none() {
                self.reader = Some(open(&self.path, self.format, &self.options).ok()?);
            }
            let reader = self.reader.as_mut()?;
            let (from, to) = if self.phase == 0 {
                (split, self.segment_s)
            } else {
                (0.0, split)
            };
            let found = loop {
                match reader.next() {
                    Some(Ok(r)) => {
                        let tau = r.time_s - self.options.start_s;
                        if r.time_s >= self.options.end_s || tau >= to {
                            break None;
                        }
                        if tau >= from {
                            break Some((r, tau));
                        }
                    }
                    Some(Err(_)) | None => break None,
                }
            };
            if let Some((mut r, tau)) = found {
                let base = self.pass as f64 * self.segment_s;
                r.time_s = if self.phase == 0 {
                    base + tau - split
                } else {
                    base + tau + self.offset_s
                };
                return Some(r);
            }
            // This phase is over: on to the next phase, pass, or the end.
            self.reader = None;
            if self.phase == 0 {
                self.phase = 1;
            } else if self.options.looped {
                self.phase = 0;
                self.pass += 1;
            } else {
                self.phase = 2;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    fn trace(name: &str, rows: &[(f64, u32)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("inferscale-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let mut text = String::from("time_s,model,input_tokens,output_tokens\n");
        for (t, n) in rows {
            text.push_str(&format!("{t},m,{n},1\n"));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn replay(path: &Path, options: ReplayOptions) -> Vec<(f64, u32)> {
        let window = summarize_window(path, TraceFormat::Generic, &options)
            .unwrap()
            .unwrap();
        Replay::new(
            path,
            TraceFormat::Generic,
            &options,
            &window,
            RngStreams::new(1, 0).stream("trace"),
        )
        .take(1000)
        .map(|r| (r.time_s, r.input_tokens))
        .collect()
    }

    #[test]
    fn window_speedup_and_loop() {
        let path = trace("a.csv", &[(0.0, 1), (1.0, 2), (2.0, 3), (3.0, 4)]);
        let opts = ReplayOptions {
            start_s: 1.0,
            end_s: 3.0,
            speedup: 2.0,
            ..ReplayOptions::default()
        };
        assert_eq!(replay(&path, opts.clone()), [(0.0, 2), (0.5, 3)]);
        let looped: Vec<(f64, u32)> = replay(
            &path,
            ReplayOptions {
                looped: true,
                ..opts
            },
        )
        .into_iter()
        .take(5)
        .collect();
        assert_eq!(looped, [(0.0, 2), (0.5, 3), (1.0, 2), (1.5, 3), (2.0, 2)]);
        // Open end: the segment is one mean gap past the last request.
        let open: Vec<f64> = replay(
            &path,
            ReplayOptions {
                looped: true,
                ..ReplayOptions::default()
            },
        )
        .into_iter()
        .take(6)
        .map(|r| r.0)
        .collect();
        assert_eq!(open, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn superposed_copies_are_shifted_and_wrapped() {
        let path = trace("b.csv", &[(0.0, 1), (1.0, 2), (2.0, 3), (3.0, 4)]);
        let got = replay(
            &path,
            ReplayOptions {
                end_s: 4.0,
                rate_scale: 2.0,
                ..ReplayOptions::default()
            },
        );
        // Copy 1 is shifted by 2 s and wraps: rows at 2, 3 play at 0, 1; rows 0, 1 at 2, 3.
        assert_eq!(
            got,
            [
                (0.0, 1),
                (0.0, 3),
                (1.0, 2),
                (1.0, 4),
                (2.0, 3),
                (2.0, 1),
                (3.0, 4),
                (3.0, 2)
            ]
        );
    }

    /// A fractional scale keeps the right share: 10,000 rows at scale 1.3 should give
    /// 13,000 ± 3σ (σ = √(10⁴·0.3·0.7) ≈ 46).
    #[test]
    fn fractional_scale_thins_the_last_copy() {
        let rows: Vec<(f64, u32)> = (0..10_000).map(|i| (i as f64 * 0.01, 1)).collect();
        let path = trace("c.csv", &rows);
        let options = ReplayOptions {
            rate_scale: 1.3,
            ..ReplayOptions::default()
        };
        let window = summarize_window(&path, TraceFormat::Generic, &options)
            .unwrap()
            .unwrap();
        let got = Replay::new(
            &path,
            TraceFormat::Generic,
            &options,
            &window,
            RngStreams::new(1, 0).stream("trace"),
        )
        .count();
        assert!((12_862..=13_138).contains(&got), "{got}");
        assert!((window.replay_rate(&options) - 130.0).abs() < 0.1);
        let thinned = ReplayOptions {
            rate_scale: 0.25,
            ..ReplayOptions::default()
        };
        let kept = Replay::new(
            &path,
            TraceFormat::Generic,
            &thinned,
            &window,
            RngStreams::new(1, 0).stream("trace"),
        )
        .count();
        assert!((2_370..=2_630).contains(&kept), "{kept}");
    }
}
