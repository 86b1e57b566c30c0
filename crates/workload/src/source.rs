//! Where one workload entry's requests come from — a synthetic process with its size
//! distributions, or a replayed trace — and the request stream it generates.

use std::path::PathBuf;

use inferscale_engine::{RngStreams, SimRng, SimTime};

use crate::{
    ArrivalProcess, EmpiricalPairs, Replay, ReplayOptions, Request, Segment, TokenDist,
    TraceFormat, WindowSummary,
};

/// How a synthetic request's token counts are drawn.
#[derive(Clone, Debug)]
pub enum Sizes {
    /// Input and output independently.
    Independent {
        /// Prompt tokens.
        input: TokenDist,
        /// Output tokens.
        output: TokenDist,
    },
    /// (input, output) rows drawn whole.
    Joint(EmpiricalPairs),
    /// Prompts that share system prompts (inference-perf's `shared_prefix`): request
    /// `i` sends prompt `i mod P` of a table drawn once per stream.
    SharedPrefix(crate::SharedPrefix),
    /// Multi-turn conversations: each arrival starts one, later turns follow the
    /// previous one's end by a think time ([`crate::Conversations`]).
    Conversation(Box<crate::Conversations>),
}

impl Sizes {
    /// Draws one request's (prompt, output) tokens (a shared-prefix workload's come
    /// from its table instead: see [`Requests`]).
    pub fn sample(&self, rng: &mut SimRng) -> (u32, u32) {
        match self {
            Sizes::Independent { input, output } => (input.sample(rng), output.sample(rng)),
            Sizes::Joint(pairs) => pairs.sample(rng),
            Sizes::SharedPrefix(shape) => (
                shape.system_tokens + shape.question.sample(rng),
                shape.output.sample(rng),
            ),
            Sizes::Conversation(shape) => (
                shape.system_tokens + shape.input.sample(rng),
                shape.output.sample(rng),
            ),
        }
    }
}

/// Synthetic requests or a replayed trace.
#[derive(Clone, Debug)]
pub enum RequestSource {
    /// Arrivals from a process, sizes from distributions or a table.
    Synthetic {
        /// When requests arrive.
        arrivals: ArrivalProcess,
        /// Prompt and output tokens per request.
        sizes: Sizes,
    },
    /// A trace file, already checked to read cleanly.
    Trace {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: TraceFormat,
        /// Window, speed-up, rate scale, loop, model filter.
        options: ReplayOptions,
        /// What the window holds.
        window: WindowSummary,
    },
}

impl RequestSource {
    /// Mean requests per second over the first `horizon_s` seconds.
    pub fn mean_rate_over(&self, horizon_s: f64) -> f64 {
        match self {
            RequestSource::Synthetic { arrivals, .. } => arrivals.mean_rate_over(horizon_s),
            RequestSource::Trace {
                options, window, ..
            } => window.replay_rate(options),
        }
    }

    /// The arrival process whose expected rate an oracle may read; `None` for a
    /// trace, whose rate is not known ahead.
    pub fn arrival_process(&self) -> Option<&ArrivalProcess> {
        match self {
            RequestSource::Synthetic { arrivals, .. } => Some(arrivals),
            RequestSource::Trace { .. } => None,
        }
    }

    /// The requests of workload entry `entry` that arrive up to `horizon`, generated
    /// lazily from the named streams `arrivals/<entry>` and `tokens/<entry>` (or
    /// `trace/<entry>` for a trace's thinning), so adding an entry never changes
    /// another's requests.
    pub fn requests(&self, entry: usize, streams: &RngStreams, horizon: SimTime) -> Requests {
        let inner = match self {
            RequestSource::Synthetic { arrivals, sizes } => {
                let mut token_rng = streams.stream(&format!("tokens/{entry}"));
                let shared = match sizes {
                    Sizes::SharedPrefix(shape) => Some(shape.table(&mut token_rng, entry as u64)),
                    Sizes::Independent { .. } | Sizes::Joint(_) | Sizes::Conversation(_) => None,
                };
                let conversations = match sizes {
                    Sizes::Conversation(shape) => {
                        Some(shape.state(streams.stream(&format!("think/{entry}")), entry as u64))
                    }
                    _ => None,
                };
                Inner::Synthetic {
                    arrivals: arrivals.clone(),
                    sizes: sizes.clone(),
                    arrival_rng: streams.stream(&format!("arrivals/{entry}")),
                    token_rng,
                    shared,
                    conversations,
                    now: SimTime::ZERO,
                }
            }
            RequestSource::Trace {
                path,
                format,
                options,
                window,
            } => Inner::Trace(Replay::new(
                path,
                *format,
                options,
                window,
                streams.stream(&format!("trace/{entry}")),
            )),
        };
        Requests {
            inner,
            horizon,
            done: false,
            entry,
            count: 0,
            segments: Vec::new(),
            continues: None,
        }
    }
}

/// A stream of requests in arrival order, as the cluster reads it: each request, and
/// what its prompt is made of where the stream knows ([`Segment`]s, for prefix
/// caching).
pub trait Arrivals: Send {
    /// The next request, or `None` when the stream has ended.
    fn next_request(&mut self) -> Option<Request>;

    /// The segments of the prompt of the request [`Arrivals::next_request`] returned
    /// last, covering its prompt; empty when the stream does not know (nothing is
    /// shared). Valid until the next call.
    fn segments(&self) -> &[Segment] {
        &[]
    }

    /// The content the output of `request` will be, where the stream knows (a
    /// conversation's answer, which its next turn's prompt repeats): a replica names
    /// the blocks its decode fills by it, so the next turn finds them.
    fn answer(&self, _request: &Request) -> Option<Segment> {
        None
    }

    /// Whether the stream wants to hear how its requests end ([`Arrivals::ended`]): a
    /// closed loop, such as conversations whose next turn follows the last.
    fn follows_ends(&self) -> bool {
        false
    }

    /// Its request `request` ended at `at`, having generated `output` tokens
    /// (`None`: dropped, refused or timed out). Returns a request this makes due
    /// (due at or after `at`), whose prompt [`Arrivals::segments`] then gives.
    fn ended(&mut self, _request: &Request, _at: SimTime, _output: Option<u32>) -> Option<Request> {
        None
    }
}

/// Any iterator of requests as an [`Arrivals`] whose prompts share nothing.
pub struct PlainArrivals<I>(pub I);

impl<I: Iterator<Item = Request> + Send> Arrivals for PlainArrivals<I> {
    fn next_request(&mut self) -> Option<Request> {
        self.0.next()
    }
}

/// The request stream of one [`RequestSource`], in arrival order.
pub struct Requests {
    inner: Inner,
    horizon: SimTime,
    done: bool,
    /// The workload entry, and how many requests it has produced (their ids).
    entry: usize,
    count: u64,
    /// The last request's prompt segments (a trace's listed blocks).
    segments: Vec<Segment>,
    /// The content of the last trace request's conversation, whose output continues
    /// it.
    continues: Option<u64>,
}

impl Arrivals for Requests {
    fn next_request(&mut self) -> Option<Request> {
        self.next()
    }

    fn segments(&self) -> &[Segment] {
        &self.segments
    }

    fn answer(&self, request: &Request) -> Option<Segment> {
        match &self.inner {
            Inner::Synthetic {
                conversations: Some(c),
                ..
            } => Some(c.answer(request)),
            Inner::Synthetic {
                shared: Some(table),
                ..
            } => table.answer(request),
            // A trace conversation's output continues its text.
            Inner::Trace(_) => self.continues.map(|content| Segment {
                content,
                tokens: request.output,
            }),
            Inner::Synthetic { .. } => None,
        }
    }

    fn follows_ends(&self) -> bool {
        match &self.inner {
            Inner::Synthetic {
                conversations: Some(_),
                ..
            } => true,
            Inner::Synthetic {
                shared: Some(table),
                ..
            } => table.sessions.is_some(),
            _ => false,
        }
    }

    fn ended(&mut self, request: &Request, at: SimTime, output: Option<u32>) -> Option<Request> {
        match &mut self.inner {
            Inner::Synthetic {
                conversations: Some(c),
                ..
            } => c.ended(self.entry, request, at, output, &mut self.segments),
            Inner::Synthetic {
                shared: Some(table),
                ..
            } => table.session_ended(self.entry, request, at, output, &mut self.segments),
            _ => None,
        }
    }
}

// One per stream, made once: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Synthetic {
        arrivals: ArrivalProcess,
        sizes: Sizes,
        arrival_rng: SimRng,
        token_rng: SimRng,
        /// A shared-prefix workload's prompt table.
        shared: Option<crate::SharedPrompts>,
        /// A conversation workload's conversations in progress.
        conversations: Option<crate::ConversationState>,
        now: SimTime,
    },
    Trace(Replay),
}

impl Iterator for Requests {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        if self.done {
            return None;
        }
        // Multi-turn shared prompts: a request whose user is busy waits for it (the
        // stream hands it over when the user's request in flight ends).
        if let Inner::Synthetic {
            arrivals,
            arrival_rng,
            shared: Some(table),
            now,
            ..
        } = &mut self.inner
            && table.sessions.is_some()
        {
            loop {
                let Some(t) = arrivals.next_after(*now, arrival_rng) else {
                    self.done = true;
                    return None;
                };
                *now = t;
                if t > self.horizon {
                    self.done = true;
                    return None;
                }
                let seq = self.count;
                self.count += 1;
                if let Some(r) = table.session_request(self.entry, seq, t, &mut self.segments) {
                    return Some(r);
                }
            }
        }
        let request = match &mut self.inner {
            Inner::Synthetic {
                arrivals,
                sizes,
                arrival_rng,
                token_rng,
                shared,
                conversations,
                now,
            } => {
                *now = arrivals.next_after(*now, arrival_rng)?;
                if let Some(c) = conversations {
                    c.start(self.entry, *now, token_rng, &mut self.segments)
                } else {
                    let (prompt, output) = match shared {
                        Some(table) => table.request(self.count, &mut self.segments),
                        None => sizes.sample(token_rng),
                    };
                    Request::new(Request::id_of(self.entry, self.count), *now, prompt, output)
                }
            }
            Inner::Trace(replay) => {
                let r = replay.next()?;
                let id = Request::id_of(self.entry, self.count);
                self.segments.clear();
                self.continues = None;
                let salt = replay.copy_salt();
                match r.shared_text {
                    Some(crate::SharedText::Conversation(c)) => {
                        let content = crate::content_id(crate::ContentKind::TraceText, salt, c);
                        self.segments.push(Segment {
                            content,
                            tokens: r.input_tokens,
                        });
                        self.continues = Some(content);
                    }
                    Some(crate::SharedText::Group { group, tokens }) => {
                        self.segments.push(Segment {
                            content: crate::content_id(crate::ContentKind::TraceGroup, salt, group),
                            tokens,
                        });
                        self.segments.push(Segment {
                            content: crate::content_id(crate::ContentKind::Unique, salt, id),
                            tokens: r.input_tokens - tokens,
                        });
                    }
                    None => {}
                }
                if !r.prefix_blocks.is_empty() {
                    crate::prompt::trace_segments(
                        &r.prefix_blocks,
                        crate::MOONCAKE_BLOCK_TOKENS,
                        r.input_tokens,
                        replay.copy_salt(),
                        id,
                        &mut self.segments,
                    );
                }
                Request::new(
                    id,
                    SimTime::from_secs_f64(r.time_s),
                    r.input_tokens,
                    r.output_tokens.max(1),
                )
            }
        };
        if request.arrival > self.horizon {
            self.done = true;
            return None;
        }
        self.count += 1;
        Some(request)
    }
}
