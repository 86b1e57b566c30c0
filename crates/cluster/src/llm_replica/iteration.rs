//! The scheduler's iterations: which requests an iteration admits, prefills, decodes
//! or preempts, how long it takes, and what finishing it records.

use std::cmp::Reverse;

use inferscale_engine::{SimDuration, SimTime};

use super::{Delivery, Iteration, LlmReplica};
use crate::outcomes::Outcomes;
use crate::perf::BatchWork;

impl LlmReplica {
    /// Chooses and starts the next iteration and returns its duration, or `None` when
    /// there is nothing to do (or an iteration is already in progress).
    pub fn start_iteration(&mut self, now: SimTime, out: &mut Outcomes) -> Option<SimDuration> {
        if self.is_busy() {
            return None;
        }
        let next = self.start_next(now, out);
        if next.is_none() {
            // No step follows: what the last one computed is sent at once.
            self.deliver(now, out);
        }
        next
    }

    #[inline(always)]
    fn start_next(&mut self, now: SimTime, out: &mut Outcomes) -> Option<SimDuration> {
        if !self.deadlines.is_empty() {
            self.abort_expired(now, out);
        }
        if self.config.chunked_prefill {
            return self.start_mixed_iteration(now, out);
        }
        // 1. Admit waiting requests for a prefill iteration.
        let mut tokens_budget = self.config.max_batched_tokens;
        let mut work = BatchWork::default();
        self.admitted.clear();
        while let Some(&id) = self.waiting.front() {
            if self.drop_if_timed_out(id, now, out) {
                continue;
            }
            let slot = self.slots[id];
            let new_tokens = slot.request.prompt + slot.generated;
            if new_tokens > self.config.max_batched_tokens {
                // A preempted request whose recompute outgrew the token budget can never
                // be scheduled again: refuse it rather than stall the queue.
                self.waiting.pop_front();
                out.record_reject(&slot.request, now);
                self.free_slot(id);
                continue;
            }
            // A full batch admits nothing: checked before the cache is looked up.
            if self.running.len() + self.admitted.len() >= self.config.max_batch as usize {
                break;
            }
            // A cached prefix is neither computed nor budgeted (vLLM v1 schedules
            // only a request's uncomputed tokens); it is attention context.
            let plan = self.prompt_blocks(id, new_tokens);
            let cached = plan.hit as u32 * self.config.block_size;
            let compute = new_tokens - cached;
            if compute > tokens_budget
                || self.kv_free() < plan.needed_free + self.config.watermark_blocks
            {
                break;
            }
            self.waiting.pop_front();
            tokens_budget -= compute;
            self.count_admission(now, plan, new_tokens);
            self.take_prompt_blocks(id, plan);
            let n = f64::from(compute);
            work.prefill_tokens += n;
            work.prefill_attention_pairs += BatchWork::prefill_pairs(n, f64::from(cached));
            self.admitted.push(id);
        }
        if !self.admitted.is_empty() {
            if out.logs_requests() {
                for &id in &self.admitted {
                    out.record_scheduled(&self.slots[id].request, now);
                }
            }
            for &id in &self.admitted {
                let seq = self.next_admit_seq;
                self.next_admit_seq += 1;
                self.slots[id].admit_seq = seq;
                self.running.insert(seq, id);
            }
            self.iteration = Iteration::Prefill;
            self.stats.prefill_iterations += 1;
            return Some(self.begin(now, &work));
        }
        // 2. Otherwise decode every running request.
        if self.decoding == 0 {
            self.iteration = Iteration::Idle;
            return None;
        }
        let phase = (self.decode_counter % u64::from(self.config.block_size)) as usize;
        while self.phase_counts[phase] > self.kv_free() {
            if !self.preempt_latest(now) {
                debug_assert_eq!(self.decoding, 0, "decoding requests but none running");
                break;
            }
            if self.decoding == 0 {
                self.iteration = Iteration::Idle;
                return self.start_iteration(now, out);
            }
        }
        self.take_growth(self.phase_counts[phase]);
        work.decode_requests = self.decoding as f64;
        work.decode_context_tokens = (self.decode_context + self.decoding) as f64;
        self.stats.decode_batch_sum += self.decoding;
        self.stats.decode_iterations += 1;
        self.iteration = Iteration::Decode;
        Some(self.begin(now, &work))
    }

    /// Chunked mode: decode everything running, then fill the token budget with
    /// prompt chunks.
    pub(super) fn start_mixed_iteration(
        &mut self,
        now: SimTime,
        out: &mut Outcomes,
    ) -> Option<SimDuration> {
        let mut work = BatchWork::default();
        self.chunks.clear();
        // Decode part, preempting the latest admissions if the cache cannot grow.
        let phase = (self.decode_counter % u64::from(self.config.block_size)) as usize;
        while self.decoding > 0 && self.phase_counts[phase] > self.kv_free() {
            if !self.preempt_latest(now) {
                debug_assert_eq!(self.decoding, 0, "decoding requests but none running");
                break;
            }
        }
        self.iteration_decodes = self.decoding > 0;
        if self.iteration_decodes {
            self.take_growth(self.phase_counts[phase]);
            work.decode_requests = self.decoding as f64;
            work.decode_context_tokens = (self.decode_context + self.decoding) as f64;
            self.stats.decode_batch_sum += self.decoding;
            self.stats.decode_iterations += 1;
        }
        let mut budget = self
            .config
            .max_batched_tokens
            .saturating_sub(self.decoding as u32);
        // Chunks of requests already being prefilled.
        for &id in &self.prefilling {
            if budget == 0 {
                break;
            }
            let slot = &self.slots[id];
            let remaining = slot.request.prompt + slot.generated - slot.prefilled;
            let chunk = remaining.min(budget);
            budget -= chunk;
            work.prefill_tokens += f64::from(chunk);
            work.prefill_attention_pairs +=
                BatchWork::prefill_pairs(f64::from(chunk), f64::from(slot.prefilled));
            self.chunks.push((id, chunk));
        }
        // New admissions, reserving blocks for the whole prompt.
        while budget > 0 {
            let Some(&id) = self.waiting.front() else {
                break;
            };
            if self.drop_if_timed_out(id, now, out) {
                continue;
            }
            let slot = self.slots[id];
            let target = slot.request.prompt + slot.generated;
            if self.running.len() >= self.config.max_batch as usize {
                break;
            }
            let plan = self.prompt_blocks(id, target);
            let cached = plan.hit as u32 * self.config.block_size;
            if self.kv_free() < plan.needed_free + self.config.watermark_blocks {
                break;
            }
            self.waiting.pop_front();
            self.count_admission(now, plan, target);
            self.take_prompt_blocks(id, plan);
            let seq = self.next_admit_seq;
            self.next_admit_seq += 1;
            self.slots[id].admit_seq = seq;
            // The cached prefix counts as prefilled.
            self.slots[id].prefilled = cached;
            self.running.insert(seq, id);
            self.prefilling.push_back(id);
            if out.logs_requests() {
                out.record_scheduled(&slot.request, now);
            }
            let chunk = (target - cached).min(budget);
            budget -= chunk;
            work.prefill_tokens += f64::from(chunk);
            work.prefill_attention_pairs +=
                BatchWork::prefill_pairs(f64::from(chunk), f64::from(cached));
            self.chunks.push((id, chunk));
        }
        if work.is_empty() {
            self.iteration = Iteration::Idle;
            return None;
        }
        if work.prefill_tokens > 0.0 {
            self.stats.prefill_iterations += 1;
        }
        self.iteration = Iteration::Mixed;
        Some(self.begin(now, &work))
    }

    /// Chunked mode: applies the iteration's decode step and prompt chunks.
    pub(super) fn finish_mixed_iteration(&mut self, now: SimTime, out: &mut Outcomes) {
        if self.iteration_decodes {
            self.complete_decode_step(now, out);
        }
        let chunks = std::mem::take(&mut self.chunks);
        for &(id, chunk) in &chunks {
            let slot = &mut self.slots[id];
            slot.prefilled += chunk;
            if slot.prefilled < slot.request.prompt + slot.generated {
                continue;
            }
            self.prefilling.retain(|&p| p != id);
            self.first_token(id, now, out);
        }
        self.chunks = chunks;
    }

    /// A request's prefill is complete: its next token is out.
    pub(super) fn first_token(&mut self, id: usize, now: SimTime, out: &mut Outcomes) {
        let slot = &mut self.slots[id];
        if slot.first_token_at.is_none() {
            slot.first_token_at = Some(now);
            if self.config.deliver_after_next_step {
                self.undelivered.push(Delivery::First {
                    id,
                    serial: slot.serial,
                    request: slot.request,
                });
            } else {
                slot.first_visible_at = Some(now);
                out.record_first_token(&slot.request, now);
            }
        }
        slot.generated += 1;
        slot.prefilled = 0;
        if slot.generated >= slot.request.output {
            let stored = u64::from(slot.request.prompt + slot.generated - 1);
            self.finish_request(id, now, stored, out);
        } else {
            self.join_decode_set(id);
        }
    }

    /// The decode step of the finished iteration: contexts grow, finishers leave.
    pub(super) fn complete_decode_step(&mut self, now: SimTime, out: &mut Outcomes) {
        self.decode_context += self.decoding;
        self.decode_counter += 1;
        let done_step = self.decode_counter - 1;
        while let Some(&Reverse((step, id, epoch))) = self.finishes.peek() {
            if step > done_step {
                break;
            }
            self.finishes.pop();
            if self.slots[id].epoch != epoch {
                continue;
            }
            let stored = self.leave_decode_set(id);
            self.finish_request(id, now, stored, out);
        }
    }

    pub(super) fn begin(&mut self, now: SimTime, work: &BatchWork) -> SimDuration {
        self.stats.iterations += 1;
        let used = self.kv_used();
        self.stats.peak_kv_blocks = self.stats.peak_kv_blocks.max(used);
        self.stats.kv_avg.set(now, used);
        self.iteration_started = now;
        SimDuration::from_secs_f64(self.roofline.iteration_time(work))
    }

    /// Removes request `id` from the decode set (finish or preemption); returns its
    /// stored tokens.
    pub(super) fn leave_decode_set(&mut self, id: usize) -> u64 {
        let block = u64::from(self.config.block_size);
        let slot = &mut self.slots[id];
        let stored = slot.stored(self.decode_counter);
        let phase = ((slot.joined_at + block - slot.stored_at_join % block) % block) as usize;
        slot.generated += (self.decode_counter - slot.joined_at) as u32;
        slot.epoch = slot.epoch.wrapping_add(1);
        slot.decoding = false;
        self.phase_counts[phase] -= 1;
        self.decoding -= 1;
        self.decode_context -= stored;
        stored
    }

    /// Preempts the most recently admitted running request (back to the head of the
    /// queue, to be recomputed); says whether there was one.
    pub(super) fn preempt_latest(&mut self, now: SimTime) -> bool {
        let Some((_, id)) = self.running.pop_last() else {
            return false;
        };
        if self.slots[id].decoding {
            let stored = self.leave_decode_set(id);
            self.release_blocks(id, stored);
        } else {
            // Chunked mode: a request part-way through its prefill holds the blocks
            // reserved for its whole prompt.
            let slot = &mut self.slots[id];
            let target = u64::from(slot.request.prompt + slot.generated);
            slot.prefilled = 0;
            self.release_blocks(id, target);
            self.prefilling.retain(|&p| p != id);
        }
        self.waiting.push_front(id);
        self.stats.preemptions += 1;
        let used = self.kv_used();
        self.stats.kv_avg.set(now, used);
        true
    }

    pub(super) fn join_decode_set(&mut self, id: usize) {
        let block = u64::from(self.config.block_size);
        let slot = &mut self.slots[id];
        let stored = u64::from(slot.request.prompt + slot.generated - 1);
        slot.joined_at = self.decode_counter;
        slot.stored_at_join = stored;
        slot.decoding = true;
        let phase = ((slot.joined_at + block - stored % block) % block) as usize;
        let finish_step = self.decode_counter + u64::from(slot.request.output - slot.generated) - 1;
        self.phase_counts[phase] += 1;
        self.decoding += 1;
        self.decode_context += stored;
        self.finishes.push(Reverse((finish_step, id, slot.epoch)));
    }

    /// Records a completed request and frees everything it held.
    pub(super) fn finish_request(
        &mut self,
        id: usize,
        now: SimTime,
        stored: u64,
        out: &mut Outcomes,
    ) {
        let slot = self.slots[id];
        self.running.remove(&slot.admit_seq);
        if self.chains.get(id).is_some_and(|c| !c.is_empty()) {
            self.name_filled_blocks(id, stored);
        }
        self.release_blocks(id, stored);
        if self.config.deliver_after_next_step {
            self.undelivered.push(Delivery::Done {
                request: slot.request,
                first_visible: slot.first_visible_at,
            });
        } else {
            out.record_completion(&slot.request, slot.first_visible_at.unwrap_or(now), now);
        }
        self.free_slot(id);
    }

    /// Applies the effects of the iteration that ends at `now`; the caller then starts
    /// the next one.
    pub fn complete_iteration(&mut self, now: SimTime, out: &mut Outcomes) {
        // The client sees the last step's tokens as this one ends.
        self.deliver(now, out);
        self.stats.busy = self.stats.busy + (now - self.iteration_started);
        if now > self.stats_from {
            self.stats.busy_measured =
                self.stats.busy_measured + (now - self.iteration_started.max(self.stats_from));
        }
        match self.iteration {
            Iteration::Prefill => {
                let admitted = std::mem::take(&mut self.admitted);
                for &id in &admitted {
                    self.first_token(id, now, out);
                }
                self.admitted = admitted;
            }
            Iteration::Decode => self.complete_decode_step(now, out),
            Iteration::Mixed => self.finish_mixed_iteration(now, out),
            Iteration::Idle => {}
        }
        self.iteration = Iteration::Idle;
    }
}
