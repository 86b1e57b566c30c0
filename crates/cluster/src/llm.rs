//! Large language models: the architecture numbers that decide how much memory a
//! replica needs and how long an iteration takes.

/// A decoder-only transformer, as described by its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmSpec {
    /// Name the scenario uses.
    pub name: String,
    /// Total parameters (weights), including embeddings.
    pub params: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden (model) dimension.
    pub hidden: u32,
    /// Attention (query) heads.
    pub heads: u32,
    /// Key/value heads (fewer than `heads` with grouped-query attention).
    pub kv_heads: u32,
    /// Feed-forward inner dimension.
    pub intermediate: u32,
    /// Vocabulary size.
    pub vocab: u32,
    /// Bytes per weight and per KV-cache element (2 for BF16/FP16, 1 for FP8/INT8).
    pub dtype_bytes: f64,
    /// Longest context (prompt + output) the model accepts, tokens.
    pub max_context: u32,
    /// Routed experts per layer of a mixture-of-experts model, each a gated FFN of
    /// `intermediate` width (Mixtral's `num_local_experts`); 1 for a dense model.
    pub experts: u32,
    /// Experts each token is routed to (Mixtral's `num_experts_per_tok`); 1 for a
    /// dense model.
    pub experts_per_token: u32,
}

impl LlmSpec {
    /// Size of one attention head.
    pub fn head_dim(&self) -> f64 {
        f64::from(self.hidden) / f64::from(self.heads)
    }

    /// Bytes of the weights.
    pub fn weight_bytes(&self) -> f64 {
        self.params * self.dtype_bytes
    }

    /// Bytes of KV cache one token occupies across all layers (keys and values).
    pub fn kv_bytes_per_token(&self) -> f64 {
        2.0 * f64::from(self.layers) * f64::from(self.kv_heads) * self.head_dim() * self.dtype_bytes
    }

    /// Whether the model routes each token to a subset of its FFN experts.
    pub fn is_moe(&self) -> bool {
        self.experts > 1
    }

    /// Parameters of one expert over all layers: a gated FFN (gate, up and down
    /// projections, 3·hidden·intermediate per layer). Zero for a dense model, whose
    /// FFN counts among the shared parameters.
    pub fn expert_params(&self) -> f64 {
        if self.is_moe() {
            3.0 * f64::from(self.layers) * f64::from(self.hidden) * f64::from(self.intermediate)
        } else {
            0.0
        }
    }

    /// Parameters every token uses: all of a dense model's; a mixture of experts'
    /// attention, embeddings, norms and router, without the experts.
    pub fn shared_params(&self) -> f64 {
        self.params - f64::from(self.experts) * self.expert_params()
    }

    /// Parameters one token's forward pass multiplies: the shared ones and its
    /// `experts_per_token` experts.
    pub fn active_params(&self) -> f64 {
        self.shared_params()
            + f64::from(self.experts_per_token.min(self.experts)) * self.expert_params()
    }

    /// Experts per layer that a batch of `tokens` tokens touches, expected, when each
    /// token picks `experts_per_token` of the `experts` uniformly (a balanced router,
    /// what load-balancing losses train towards): E·(1 − (1 − k/E)^T). One token
    /// touches k, a large batch all E. A dense model's FFN is "one expert", always
    /// touched.
    pub fn experts_touched(&self, tokens: f64) -> f64 {
        if !self.is_moe() {
            return 1.0;
        }
        let e = f64::from(self.experts);
        let k = f64::from(self.experts_per_token.min(self.experts));
        e * (1.0 - (1.0 - k / e).powf(tokens.max(1.0)))
    }

    /// Bytes of weights one iteration over `tokens` tokens reads: every shared weight
    /// and the experts the batch touches. All the weights for a dense model.
    pub fn weight_bytes_read(&self, tokens: f64) -> f64 {
        if self.is_moe() {
            (self.shared_params() + self.experts_touched(tokens) * self.expert_params())
                * self.dtype_bytes
        } else {
            self.weight_bytes()
        }
    }

    /// FLOPs of the dense (matrix-multiply) part of one token's forward pass: two per
    /// weight it multiplies, the standard 2·N estimate (N the active parameters of a
    /// mixture of experts).
    pub fn dense_flops_per_token(&self) -> f64 {
        2.0 * self.active_params()
    }

    /// Attention-score FLOPs (QKᵀ and A·V) for one query token attending to
    /// `context` earlier tokens, across all layers.
    pub fn attention_flops(&self, context: f64) -> f64 {
        4.0 * f64::from(self.layers) * f64::from(self.hidden) * context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Llama-2-70B: 80 layers, hidden 8192, 64 heads, 8 KV heads → 320 KiB of FP16 KV
    /// cache per token (2 · 80 · 8 · 128 · 2 bytes), the number vLLM and Vidur use.
    #[test]
    fn kv_bytes_of_llama2_70b() {
        let m = LlmSpec {
            name: "llama-2-70b".into(),
            params: 68.98e9,
            layers: 80,
            hidden: 8192,
            heads: 64,
            kv_heads: 8,
            intermediate: 28672,
            vocab: 32000,
            dtype_bytes: 2.0,
            max_context: 4096,
            experts: 1,
            experts_per_token: 1,
        };
        assert_eq!(m.head_dim(), 128.0);
        assert_eq!(m.kv_bytes_per_token(), 327_680.0);
        assert_eq!(m.weight_bytes(), 137.96e9);
        // One token attending to 1000 others: 4 · 80 · 8192 · 1000.
        assert_eq!(m.attention_flops(1000.0), 2.62144e9);
        // Dense: every weight is active and read.
        assert_eq!(m.active_params(), m.params);
        assert_eq!(m.weight_bytes_read(1.0), m.weight_bytes());
    }

    /// Mixtral-8x7B (config.json: 32 layers, hidden 4096, FFN 14336, 8 experts, 2 per
    /// token; 46.7 B parameters): 176 M per expert and layer, 12.9 B active per token
    /// (the model card's "12.9B active"), and the experts a batch reads go from 2 at
    /// one token to all 8.
    #[test]
    fn mixtral_active_parameters_and_experts_touched() {
        let m = LlmSpec {
            name: "mixtral-8x7b".into(),
            params: 46.70e9,
            layers: 32,
            hidden: 4096,
            heads: 32,
            kv_heads: 8,
            intermediate: 14336,
            vocab: 32000,
            dtype_bytes: 2.0,
            max_context: 32768,
            experts: 8,
            experts_per_token: 2,
        };
        assert_eq!(m.expert_params(), 3.0 * 32.0 * 4096.0 * 14336.0);
        assert!(
            (m.active_params() / 12.9e9 - 1.0).abs() < 0.01,
            "{}",
            m.active_params()
        );
        assert!((m.experts_touched(1.0) - 2.0).abs() < 1e-12);
        // Two tokens: 8 · (1 − (3/4)²) = 3.5 (each expert is missed by each token
        // with probability 3/4).
        assert!((m.experts_touched(2.0) - 3.5).abs() < 1e-12);
        assert!((m.experts_touched(256.0) - 8.0).abs() < 1e-9);
        let one = m.weight_bytes_read(1.0);
        assert!((one / (m.active_params() * 2.0) - 1.0).abs() < 1e-12);
        assert!((m.weight_bytes_read(1e4) / m.weight_bytes() - 1.0).abs() < 1e-9);
        assert_eq!(m.dense_flops_per_token(), 2.0 * m.active_params());
    }
}
