import Linalg
import Transformer

/// What the metrics need from a language model: logits of a padded batch, top-k sampling, and the
/// longest sequence it accepts. `TransformerModel` conforms; tests use small fakes.
public protocol EvaluatedModel: Sendable {
    /// The vocabulary logits of every position of `batch`: `[B·T, V]`, row `batch.row(b, t)`.
    func logits(_ batch: TokenBatch) -> Matrix<Float>
    /// Continues each prompt by `maxNewTokens` tokens sampled from the `topK` most likely ones
    /// (no stop token: the official `generate_fast` runs to its length). Same seed, same tokens.
    func sampleContinuations(prompts: [[Int]], maxNewTokens: Int, topK: Int, seed: UInt64) -> [[Int]]
    /// The longest sequence the model can read (learned position tables), nil when unlimited.
    var positionLimit: Int? { get }
}

extension TransformerModel: EvaluatedModel {
    public func logits(_ batch: TokenBatch) -> Matrix<Float> {
        forward(batch).result.logits!
    }

    public func sampleContinuations(prompts: [[Int]], maxNewTokens: Int, topK: Int, seed: UInt64) -> [[Int]] {
        generate(prompts: prompts, maxNewTokens: maxNewTokens, sampling: .topK(topK), seed: seed)
    }

    public var positionLimit: Int? { config.positionEncoding == .learned ? config.maxPositions : nil }
}
