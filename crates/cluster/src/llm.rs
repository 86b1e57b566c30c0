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

    /// FLOPs of the dense (matrix-multiply) part of one token's forward pass: two per
    /// weight, the standard 2·N estimate.
    pub fn dense_flops_per_token(&self) -> f64 {
        2.0 * self.params
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
        };
        assert_eq!(m.head_dim(), 128.0);
        assert_eq!(m.kv_bytes_per_token(), 327_680.0);
        assert_eq!(m.weight_bytes(), 137.96e9);
        // One token attending to 1000 others: 4 · 80 · 8192 · 1000.
        assert_eq!(m.attention_flops(1000.0), 2.62144e9);
    }
}
