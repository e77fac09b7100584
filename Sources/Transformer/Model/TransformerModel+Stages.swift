import Linalg

/// The tapes of a run of consecutive blocks, for their backward pass.
public struct BlockRangeTape: Sendable {
    let batch: TokenBatch
    let firstBlock: Int
    let blocks: [BlockTapeBox]

    /// The blocks that ran.
    public var range: Range<Int> { firstBlock..<(firstBlock + blocks.count) }
}

/// What the head's backward pass needs: the final norm's input `[N, d]` and statistics, and the
/// normalised rows that were projected `[R, d]`.
public struct HeadTape: Sendable {
    let input: Matrix<Float>
    let cache: NormCache
    let output: Matrix<Float>
    let logitRows: [Int]?
}

/// The pieces of a forward and backward pass, each a function of its inputs and the weights it
/// reads, so that a layer-sharded pipeline runs the very arithmetic of ``TransformerModel/forward(_:hooks:from:keepTape:)``
/// with each host holding some blocks: the first stage embeds, every stage runs its blocks, the
/// last runs the head; gradients come back the same way.
extension TransformerModel {
    /// The embeddings of `batch` with the hooks at `.embeddings` applied: `[B·T, d]`.
    public func embed(_ batch: TokenBatch, hooks: Hooks, captured: inout [HookPoint: Matrix<Float>]) -> Matrix<Float> {
        var hidden = embed(batch)
        for replacement in hooks.replacements(at: .embeddings) { DecoderBlock.replace(replacement, in: &hidden) }
        if hooks.capture.contains(.embeddings) { captured[.embeddings] = hooks.kept(hidden) }
        return hidden
    }

    /// Runs blocks `blocks` on `hidden` `[B·T, d]` (the output of block `blocks.lowerBound − 1`).
    /// - Returns: the output of the last block, and the blocks' tapes when `keepTape`.
    public func runBlocks(_ hidden: Matrix<Float>, batch: TokenBatch, blocks: Range<Int>, hooks: Hooks, keepTape: Bool,
                          captured: inout [HookPoint: Matrix<Float>]) -> (hidden: Matrix<Float>, tape: BlockRangeTape?) {
        precondition(blocks.lowerBound >= 0 && blocks.upperBound <= config.layerCount, "blocks \(blocks) outside the model")
        var hidden = hidden
        let runner = block
        var tapes: [BlockTapeBox] = []
        var workspace = BlockWorkspace()
        var next = Matrix<Float>.empty
        for l in blocks {
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
            if hooks.capture.contains(.mlpDownInput(l)) { captured[.mlpDownInput(l)] = hooks.kept(activations.key) }
            if hooks.capture.contains(.mlpOutput(l)) { captured[.mlpOutput(l)] = activations.mlpOutput.map(hooks.kept) }
            if hooks.capture.contains(.attentionOutput(l)) { captured[.attentionOutput(l)] = activations.attentionOutput.map(hooks.kept) }
            if hooks.capture.contains(.blockOutput(l)) { captured[.blockOutput(l)] = hooks.kept(hidden) }
        }
        return (hidden, keepTape ? BlockRangeTape(batch: batch, firstBlock: blocks.lowerBound, blocks: tapes) : nil)
    }

    /// The final norm and the LM head on the last block's output `[B·T, d]`.
    /// - Returns: the logits `[B·T, V]` (or `[R, V]` for `hooks.logitRows`), and the head's tape when `keepTape`.
    public func head(_ hidden: Matrix<Float>, hooks: Hooks, keepTape: Bool,
                     captured: inout [HookPoint: Matrix<Float>]) -> (logits: Matrix<Float>, tape: HeadTape?) {
        let (normalized, normCache) = Normalization(kind: config.normalization).forward(hidden, weights.finalNorm)
        if hooks.capture.contains(.finalNorm) { captured[.finalNorm] = hooks.kept(normalized) }
        let projected = hooks.logitRows.map { Self.gather(normalized, rows: $0) } ?? normalized
        let logits = project(projected)
        let tape = keepTape ? HeadTape(input: hidden, cache: normCache, output: projected, logitRows: hooks.logitRows) : nil
        return (logits, tape)
    }

    /// dLoss/d(last block output) `[B·T, d]` from dLoss/dLogits.
    public func backwardHead(_ tape: HeadTape, dLogits: Matrix<Float>) -> Matrix<Float> {
        var none: ModelWeights? = nil
        return backwardHead(tape, dLogits: dLogits, gradients: &none)
    }

    /// ``backwardHead(_:dLogits:)``, accumulating the head's and final norm's parameter gradients
    /// into `gradients` when given.
    func backwardHead(_ tape: HeadTape, dLogits: Matrix<Float>, gradients: inout ModelWeights?) -> Matrix<Float> {
        let head = weights.lmHead ?? tiedHead
        var dNormalized = head.inputGradient(dLogits)
        if let rows = tape.logitRows {
            // Scatter the projected rows' gradients back into the full batch.
            var full = Matrix<Float>(rows: tape.input.rows, cols: dNormalized.cols, repeating: 0)
            for (i, r) in rows.enumerated() {
                for c in 0..<full.cols { full.elements[r * full.cols + c] += dNormalized.elements[i * full.cols + c] }
            }
            dNormalized = full
        }
        if gradients != nil {
            if weights.lmHead != nil {
                head.accumulateParameterGradients(input: tape.output, gradOutput: dLogits, into: &gradients!.lmHead!)
            } else {
                var tied = Linear(weight: gradients!.tokenEmbedding, bias: nil, layout: .outIn)
                gradients!.tokenEmbedding = Matrix(rows: 0, cols: 0, repeating: 0)
                head.accumulateParameterGradients(input: tape.output, gradOutput: dLogits, into: &tied)
                gradients!.tokenEmbedding = tied.weight
            }
        }
        var dFinalNorm: NormWeights? = gradients?.finalNorm
        let dHidden = Normalization(kind: config.normalization).backward(input: tape.input, cache: tape.cache,
                                                                         weights: weights.finalNorm, gradOutput: dNormalized,
                                                                         gradients: &dFinalNorm)
        if gradients != nil { gradients!.finalNorm = dFinalNorm! }
        return dHidden
    }

    /// Back-propagates dLoss/d(output of the tape's last block) `[B·T, d]` through its blocks.
    /// - Returns: dLoss/d(input of its first block).
    public func backwardBlocks(_ tape: BlockRangeTape, gradient: Matrix<Float>) -> Matrix<Float> {
        var dHidden = gradient
        let runner = block
        var workspace = BlockGradientWorkspace()
        var none: BlockWeights? = nil
        for l in tape.range.reversed() {
            runner.backward(tape: tape.blocks[l - tape.firstBlock].tape, weights: weights.blocks[l],
                            batch: tape.batch, gradient: &dHidden, gradients: &none, workspace: &workspace)
        }
        return dHidden
    }
}
