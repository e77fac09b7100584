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

    /// Independent passes, results in order. A pipeline sends them all before collecting, so
    /// that its stages work on several at once; each result is the one ``run(_:hooks:from:keepTape:)``
    /// gives for that pass alone.
    func runAll(_ passes: [PassInput]) throws -> [(result: ForwardResult, tape: ForwardTape?)]
    /// ``inputGradient(_:dLogits:)`` of several taped passes, in order (sent together likewise).
    func inputGradients(_ items: [(tape: ForwardTape, dLogits: Matrix<Float>)]) throws -> [Matrix<Float>]
    /// A taped pass whose backward pass will not come: wherever its tape is kept, it is freed.
    func discard(_ tape: ForwardTape)
    /// How many independent taped passes a caller should have in flight at once (1 in one
    /// process; 2 in a pipeline of several stages, which the placement's memory model allows for
    /// when each is at most half its activation micro-batch).
    var passesInFlight: Int { get }
}

/// One forward pass of ``LanguageModel/runAll(_:)``.
public struct PassInput: Sendable {
    public var batch: TokenBatch
    public var hooks: Hooks
    /// Resume at `layer` with `hidden` `[B·T, d]` (nil: from the embeddings).
    public var start: (layer: Int, hidden: Matrix<Float>)?
    public var keepTape: Bool

    public init(batch: TokenBatch, hooks: Hooks, start: (layer: Int, hidden: Matrix<Float>)? = nil, keepTape: Bool = false) {
        self.batch = batch
        self.hooks = hooks
        self.start = start
        self.keepTape = keepTape
    }
}

extension LanguageModel {
    public func run(_ batch: TokenBatch, hooks: Hooks = Hooks()) throws -> ForwardResult {
        try run(batch, hooks: hooks, from: nil, keepTape: false).result
    }

    public func runAll(_ passes: [PassInput]) throws -> [(result: ForwardResult, tape: ForwardTape?)] {
        try passes.map { try run($0.batch, hooks: $0.hooks, from: $0.start, keepTape: $0.keepTape) }
    }

    public func inputGradients(_ items: [(tape: ForwardTape, dLogits: Matrix<Float>)]) throws -> [Matrix<Float>] {
        try items.map { try inputGradient($0.tape, dLogits: $0.dLogits) }
    }

    public func discard(_ tape: ForwardTape) {}

    public var passesInFlight: Int { 1 }
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
