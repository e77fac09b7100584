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
}

/// Everything a backward pass needs from its forward pass.
public struct ForwardTape: Sendable {
    let batch: TokenBatch
    /// Tapes of the blocks that ran, from `firstBlock`.
    let blocks: [BlockTapeBox]
    let firstBlock: Int
    /// Input of the final norm `[N, d]` and its statistics.
    let finalNormInput: Matrix<Float>
    let finalNormCache: NormCache
    let finalNormOutput: Matrix<Float>
    /// The rows projected onto the vocabulary (`Hooks.logitRows`), or nil for all.
    let logitRows: [Int]?
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
                        precondition(p < config.maxPositions, "position \(p) beyond the model's \(config.maxPositions)")
                        for c in 0..<d { hs[r * d + c] += table[p * d + c] }
                    }
                }
            }
        }
        return h
    }

    /// Runs the model on a batch.
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
            hidden = embed(batch)
            for replacement in hooks.replacements(at: .embeddings) { DecoderBlock.replace(replacement, in: &hidden) }
            if hooks.capture.contains(.embeddings) { captured[.embeddings] = hidden }
        }
        let lastBlock = min(hooks.stopAfterBlock ?? (config.layerCount - 1), config.layerCount - 1)
        let runner = block
        var tapes: [BlockTapeBox] = []
        var workspace = BlockWorkspace()
        var next = Matrix<Float>.empty
        if firstBlock <= lastBlock {
            for l in firstBlock...lastBlock {
                let (activations, tape) = runner.forward(
                    hidden, weights.blocks[l], batch: batch, hooks: hooks.block(l), keepTape: keepTape,
                    workspace: &workspace, output: &next)
                if keepTape {
                    hidden = take(&next)            // the next tape keeps it as its input
                } else {
                    swap(&hidden, &next)            // the old input becomes the next output buffer
                }
                for addition in hooks.additions(at: .blockOutput(l)) { DecoderBlock.add(addition, to: &hidden) }
                for replacement in hooks.replacements(at: .blockOutput(l)) { DecoderBlock.replace(replacement, in: &hidden) }
                if let tape { tapes.append(BlockTapeBox(tape)) }
                if hooks.capture.contains(.mlpDownInput(l)) { captured[.mlpDownInput(l)] = activations.key }
                if hooks.capture.contains(.mlpOutput(l)) { captured[.mlpOutput(l)] = activations.mlpOutput }
                if hooks.capture.contains(.attentionOutput(l)) { captured[.attentionOutput(l)] = activations.attentionOutput }
                if hooks.capture.contains(.blockOutput(l)) { captured[.blockOutput(l)] = hidden }
            }
        }
        if lastBlock < config.layerCount - 1 {
            return (ForwardResult(logits: nil, captured: captured), nil)
        }
        let (normalized, normCache) = Normalization(kind: config.normalization).forward(hidden, weights.finalNorm)
        if hooks.capture.contains(.finalNorm) { captured[.finalNorm] = normalized }
        let projected = hooks.logitRows.map { Self.gather(normalized, rows: $0) } ?? normalized
        let logits = project(projected)
        let tape = keepTape ? ForwardTape(batch: batch, blocks: tapes, firstBlock: firstBlock, finalNormInput: hidden,
                                          finalNormCache: normCache, finalNormOutput: projected, logitRows: hooks.logitRows) : nil
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
