import Foundation
import Linalg

/// A decoder-only language model held in memory once, in float32.
///
/// Forward passes take a padded `TokenBatch` and `Hooks` (read activations, add vectors); a
/// forward pass with `keepTape` records what `backward` needs.
public struct TransformerModel: Sendable {
    public let config: ModelConfig
    public var weights: ModelWeights
    /// Checkpoint names of every parameter, in checkpoint order.
    public let bindings: [ParameterBinding]

    public init(config: ModelConfig, weights: ModelWeights, bindings: [ParameterBinding]) {
        self.config = config
        self.weights = weights
        self.bindings = bindings
    }

    var block: DecoderBlock {
        let rotary: RotaryEmbedding?
        switch config.positionEncoding {
        case .learned: rotary = nil
        case .rotary(let dimensions, let theta, let interleaved, let scaling):
            rotary = RotaryEmbedding(dimensions: dimensions, theta: theta, interleaved: interleaved, scaling: scaling)
        }
        return DecoderBlock(config: config, rotary: rotary)
    }

    public var moduleNames: ModuleNames { ModuleNames(config: config) }
}

/// What a forward pass returns.
public struct ForwardResult: Sendable {
    /// `[B·T, V]`, or nil when the pass stopped early.
    public var logits: Matrix<Float>?
    /// The activations asked for in `Hooks.capture`, each `[B·T, width]`.
    public var captured: [HookPoint: Matrix<Float>]

    public init(logits: Matrix<Float>?, captured: [HookPoint: Matrix<Float>]) {
        self.logits = logits
        self.captured = captured
    }
}

/// Everything a backward pass needs from its forward pass: the tapes of the blocks that ran and
/// of the head, or, for a pass run by a layer-sharded pipeline, the id its stages keep them under.
public struct ForwardTape: Sendable {
    let batch: TokenBatch
    let blockTape: BlockRangeTape?
    let headTape: HeadTape?
    /// The pass's id on the stages that ran it (nil: the tapes are here).
    public let remoteID: UInt64?

    init(blocks: BlockRangeTape, head: HeadTape) {
        batch = blocks.batch
        blockTape = blocks
        headTape = head
        remoteID = nil
    }

    /// The tape of a pass whose blocks ran elsewhere, under `id`.
    public init(remote id: UInt64, batch: TokenBatch) {
        self.batch = batch
        blockTape = nil
        headTape = nil
        remoteID = id
    }

    var blocks: [BlockTapeBox] { blockTape!.blocks }
    var firstBlock: Int { blockTape!.firstBlock }
    var finalNormInput: Matrix<Float> { headTape!.input }
    var finalNormCache: NormCache { headTape!.cache }
    var finalNormOutput: Matrix<Float> { headTape!.output }
    var logitRows: [Int]? { headTape!.logitRows }
}

/// A block tape behind a reference, so that tapes move without copying.
final class BlockTapeBox: @unchecked Sendable {
    let tape: BlockTape
    init(_ tape: BlockTape) { self.tape = tape }
}

extension TransformerModel {
    /// Token (and learned position) embeddings of the batch: `[B·T, d]`.
    public func embed(_ batch: TokenBatch) -> Matrix<Float> {
        let d = config.hiddenSize
        var h = Matrix<Float>(rows: batch.tokenCount, cols: d, repeating: 0)
        let table = weights.tokenEmbedding
        h.elements.withUnsafeMutableBufferPointer { hs in
            table.elements.withUnsafeBufferPointer { wte in
                for r in 0..<batch.tokenCount {
                    let id = batch.ids[r]
                    precondition(id >= 0 && id < config.vocabularySize, "token id \(id) outside the vocabulary of \(config.vocabularySize)")
                    for c in 0..<d { hs[r * d + c] = wte[id * d + c] }
                }
            }
        }
        if let wpe = weights.positionEmbedding {
            h.elements.withUnsafeMutableBufferPointer { hs in
                wpe.elements.withUnsafeBufferPointer { table in
                    for r in 0..<batch.tokenCount {
                        let p = batch.positions[r]
                        precondition(p >= 0 && p < config.maxPositions, "position \(p) outside the model's \(config.maxPositions)")
                        for c in 0..<d { hs[r * d + c] += table[p * d + c] }
                    }
                }
            }
        }
        return h
    }

    /// Runs the model on a batch: ``embed(_:hooks:captured:)``, ``runBlocks(_:batch:blocks:hooks:keepTape:captured:)``
    /// and ``head(_:hooks:keepTape:captured:)``, the pieces a layer-sharded pipeline runs on
    /// different hosts.
    /// - Parameters:
    ///   - hooks: activations to capture and vectors to add.
    ///   - start: resume from the output of block `start.layer − 1` given as `start.hidden` `[B·T, d]`
    ///     (the blocks below are skipped); nil to start from the embeddings.
    ///   - keepTape: record what `backward` needs.
    /// - Complexity: O(layers · (N·d·(d + f) + B·T²·d)).
    public func forward(_ batch: TokenBatch, hooks: Hooks = Hooks(),
                        from start: (layer: Int, hidden: Matrix<Float>)? = nil,
                        keepTape: Bool = false) -> (result: ForwardResult, tape: ForwardTape?) {
        var captured: [HookPoint: Matrix<Float>] = [:]
        let firstBlock = start?.layer ?? 0
        var hidden: Matrix<Float>
        if let start {
            precondition(start.hidden.rows == batch.tokenCount && start.hidden.cols == config.hiddenSize)
            hidden = start.hidden
        } else {
            hidden = embed(batch, hooks: hooks, captured: &captured)
        }
        let lastBlock = min(hooks.stopAfterBlock ?? (config.layerCount - 1), config.layerCount - 1)
        let blockTape: BlockRangeTape?
        (hidden, blockTape) = runBlocks(hidden, batch: batch, blocks: firstBlock..<max(firstBlock, lastBlock + 1), hooks: hooks,
                                        keepTape: keepTape, captured: &captured)
        if lastBlock < config.layerCount - 1 {
            return (ForwardResult(logits: nil, captured: captured), nil)
        }
        let (logits, headTape) = head(hidden, hooks: hooks, keepTape: keepTape, captured: &captured)
        let tape = keepTape ? ForwardTape(blocks: blockTape!, head: headTape!) : nil
        return (ForwardResult(logits: logits, captured: captured), tape)
    }

    /// Rows `rows` of `m`, in that order: `[R, cols]`.
    static func gather(_ m: Matrix<Float>, rows: [Int]) -> Matrix<Float> {
        var out = Matrix<Float>(rows: rows.count, cols: m.cols, repeating: 0)
        for (i, r) in rows.enumerated() {
            precondition(r >= 0 && r < m.rows, "logit row \(r) outside the batch of \(m.rows) tokens")
            for c in 0..<m.cols { out.elements[i * m.cols + c] = m.elements[r * m.cols + c] }
        }
        return out
    }

    /// The LM head: `[N, d]` → `[N, V]` (tied: h·Eᵀ).
    func project(_ h: Matrix<Float>) -> Matrix<Float> {
        if let head = weights.lmHead { return head.forward(h) }
        return tiedHead.forward(h)
    }

    /// The token embedding used as an `nn.Linear` head (`[V, d]`, y = h·Eᵀ).
    var tiedHead: Linear { Linear(weight: weights.tokenEmbedding, bias: nil, layout: .outIn) }
}
