import Linalg

/// The projections of one attention layer.
public struct AttentionWeights: Sendable {
    /// GPT-2's fused `c_attn` (`[d, 3d]`, Conv1D); nil for the other families.
    public var fusedQKV: Linear?
    public var query: Linear?
    public var key: Linear?
    public var value: Linear?
    /// `c_proj` / `out_proj` / `o_proj`.
    public var output: Linear
}

/// The projections of one MLP.
public struct MLPWeights: Sendable {
    /// `c_fc` / `fc_in` / `up_proj`.
    public var up: Linear
    /// `gate_proj` of the gated SiLU MLP (Llama family); nil otherwise.
    public var gate: Linear?
    /// `c_proj` / `fc_out` / `down_proj`: the module AlphaEdit rewrites. Its input is the key.
    public var down: Linear
}

/// The weights of one decoder block.
public struct BlockWeights: Sendable {
    /// `ln_1` / `input_layernorm`.
    public var norm1: NormWeights
    /// `ln_2` / `post_attention_layernorm`; nil for GPT-J (one norm feeds attention and MLP).
    public var norm2: NormWeights?
    public var attention: AttentionWeights
    public var mlp: MLPWeights
}

/// Every parameter of a decoder-only model, each tensor in its checkpoint layout.
/// The same type holds gradients.
public struct ModelWeights: Sendable {
    /// `[V, d]`: `wte` / `embed_tokens`.
    public var tokenEmbedding: Matrix<Float>
    /// `[P, d]`: GPT-2's `wpe`; nil for rotary models.
    public var positionEmbedding: Matrix<Float>?
    public var blocks: [BlockWeights]
    /// `ln_f` / `norm`.
    public var finalNorm: NormWeights
    /// `lm_head`; nil when tied to `tokenEmbedding`.
    public var lmHead: Linear?

    /// A zero copy of the same shapes (gradient accumulator).
    public func zeros() -> ModelWeights {
        func zero(_ m: Matrix<Float>) -> Matrix<Float> { Parallel.zeros(rows: m.rows, cols: m.cols) }
        return ModelWeights(
            tokenEmbedding: zero(tokenEmbedding),
            positionEmbedding: positionEmbedding.map(zero),
            blocks: blocks.map { block in
                BlockWeights(
                    norm1: block.norm1.zeros(), norm2: block.norm2?.zeros(),
                    attention: AttentionWeights(
                        fusedQKV: block.attention.fusedQKV?.zeros(), query: block.attention.query?.zeros(),
                        key: block.attention.key?.zeros(), value: block.attention.value?.zeros(),
                        output: block.attention.output.zeros()),
                    mlp: MLPWeights(up: block.mlp.up.zeros(), gate: block.mlp.gate?.zeros(), down: block.mlp.down.zeros()))
            },
            finalNorm: finalNorm.zeros(),
            lmHead: lmHead?.zeros())
    }
}

/// One checkpoint tensor and where it lives in `ModelWeights`.
public struct ParameterBinding: Sendable {
    /// The Hugging Face tensor name, e.g. `transformer.h.0.mlp.c_proj.weight`.
    public let name: String
    /// The tensor's shape in the checkpoint (1-D for biases and norms).
    public let shape: [Int]
    public let path: WritableKeyPath<ModelWeights, Matrix<Float>> & Sendable
}
