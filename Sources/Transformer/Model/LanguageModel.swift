import Linalg

/// What the editing code asks of a model: forward passes with hooks, the gradient of a resumed
/// pass's input, and generation. ``TransformerModel`` answers in this process; a layer-sharded
/// job's coordinator answers by running the pieces on the workers that hold the blocks, with the
/// same arithmetic, so every result is the same.
public protocol LanguageModel: Sendable {
    var config: ModelConfig { get }
    /// ``TransformerModel/forward(_:hooks:from:keepTape:)``.
    func run(_ batch: TokenBatch, hooks: Hooks, from start: (layer: Int, hidden: Matrix<Float>)?,
             keepTape: Bool) throws -> (result: ForwardResult, tape: ForwardTape?)
    /// dLoss/d(hidden state entering the first block of the taped pass) `[B·T, d]`.
    func inputGradient(_ tape: ForwardTape, dLogits: Matrix<Float>) throws -> Matrix<Float>
    /// ``TransformerModel/generate(prompts:maxNewTokens:sampling:seed:stopTokens:)``.
    func continuations(of prompts: [[Int]], maxNewTokens: Int, sampling: Sampling, seed: UInt64) throws -> [[Int]]
}

extension LanguageModel {
    public func run(_ batch: TokenBatch, hooks: Hooks = Hooks()) throws -> ForwardResult {
        try run(batch, hooks: hooks, from: nil, keepTape: false).result
    }
}

extension TransformerModel: LanguageModel {
    public func run(_ batch: TokenBatch, hooks: Hooks, from start: (layer: Int, hidden: Matrix<Float>)?,
                    keepTape: Bool) -> (result: ForwardResult, tape: ForwardTape?) {
        forward(batch, hooks: hooks, from: start, keepTape: keepTape)
    }

    public func inputGradient(_ tape: ForwardTape, dLogits: Matrix<Float>) -> Matrix<Float> {
        backward(tape, dLogits: dLogits, inputGradient: true).inputGradient!
    }

    public func continuations(of prompts: [[Int]], maxNewTokens: Int, sampling: Sampling, seed: UInt64) -> [[Int]] {
        generate(prompts: prompts, maxNewTokens: maxNewTokens, sampling: sampling, seed: seed)
    }
}
