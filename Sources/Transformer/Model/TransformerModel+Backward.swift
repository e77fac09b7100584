import Linalg

/// What a backward pass returns.
public struct BackwardResult: Sendable {
    /// dLoss/d(output of block l) `[B·T, d]` for the layers asked for. The gradient of a vector
    /// added at a block output (or at the MLP output of the same block) at row r is row r of it.
    public var blockOutputGradients: [Int: Matrix<Float>]
    /// dLoss/d(hidden state entering the first block the forward pass ran), when asked for: with a
    /// forward pass resumed at block l + 1, the gradient of a vector added at block l's output.
    public var inputGradient: Matrix<Float>?
    /// Parameter gradients, when asked for.
    public var parameterGradients: ModelWeights?
}

extension TransformerModel {
    /// Back-propagates dLoss/dLogits through the blocks recorded in `tape`.
    /// - Parameters:
    ///   - dLogits: `[B·T, V]`, or `[R, V]` for the rows of `Hooks.logitRows`.
    ///   - blockOutputs: layers whose output gradients to return; the pass stops below the lowest
    ///     of them unless `parameterGradients` asks for everything.
    ///   - inputGradient: back-propagate through every recorded block and return the gradient of
    ///     the hidden state that entered the first.
    ///   - parameterGradients: accumulate and return gradients of every parameter.
    public func backward(_ tape: ForwardTape, dLogits: Matrix<Float>, blockOutputs: Set<Int> = [],
                         inputGradient: Bool = false, parameterGradients: Bool = false) -> BackwardResult {
        precondition(tape.remoteID == nil, "a pipeline's tape goes back through its pipeline")
        var gradients: ModelWeights? = parameterGradients ? weights.zeros() : nil
        var dHidden = backwardHead(tape.headTape!, dLogits: dLogits, gradients: &gradients)

        var outputs: [Int: Matrix<Float>] = [:]
        let throughAll = parameterGradients || inputGradient
        let lowest = throughAll ? tape.firstBlock - 1 : (blockOutputs.min() ?? config.layerCount)
        let runner = block
        var workspace = BlockGradientWorkspace()
        var l = tape.firstBlock + tape.blocks.count - 1
        while l >= tape.firstBlock {
            if blockOutputs.contains(l) { outputs[l] = dHidden }
            if l <= lowest { break }
            var blockGradients: BlockWeights? = nil
            if gradients != nil {
                // Move the block's accumulator out so that it is updated in place, not copied.
                blockGradients = gradients!.blocks[l]
                gradients!.blocks[l] = BlockWeights.placeholder
            }
            runner.backward(tape: tape.blocks[l - tape.firstBlock].tape, weights: weights.blocks[l],
                            batch: tape.batch, gradient: &dHidden, gradients: &blockGradients, workspace: &workspace)
            if let blockGradients { gradients!.blocks[l] = blockGradients }
            l -= 1
        }
        if gradients != nil && tape.firstBlock == 0 {
            accumulateEmbeddingGradients(tape.batch, dHidden: dHidden, into: &gradients!)
        }
        return BackwardResult(blockOutputGradients: outputs, inputGradient: throughAll ? dHidden : nil,
                              parameterGradients: gradients)
    }

    /// Scatter-adds dHidden `[B·T, d]` into the token (and position) embedding gradients.
    private func accumulateEmbeddingGradients(_ batch: TokenBatch, dHidden: Matrix<Float>, into g: inout ModelWeights) {
        let d = config.hiddenSize
        dHidden.elements.withUnsafeBufferPointer { src in
            g.tokenEmbedding.elements.withUnsafeMutableBufferPointer { dst in
                for r in 0..<batch.tokenCount {
                    let id = batch.ids[r]
                    precondition(id >= 0 && id < config.vocabularySize, "token id \(id) outside the vocabulary")
                    addRow(src.baseAddress! + r * d, into: dst.baseAddress! + id * d, count: d)
                }
            }
            if g.positionEmbedding != nil {
                g.positionEmbedding!.elements.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<batch.tokenCount {
                        let p = batch.positions[r]
                        precondition(p >= 0 && p < config.maxPositions, "position \(p) outside the model's positions")
                        addRow(src.baseAddress! + r * d, into: dst.baseAddress! + p * d, count: d)
                    }
                }
            }
        }
    }

    /// dst[c] += src[c] for c in 0..<count.
    @inline(__always)
    private func addRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        var c = 0
        while c < count {
            VectorMath.store(VectorMath.load(dst, c, count) + VectorMath.load(src, c, count), dst, c, count)
            c += VectorMath.lanes
        }
    }
}

extension BlockWeights {
    /// An empty stand-in used while a block's gradients are moved out for in-place updates.
    static var placeholder: BlockWeights {
        let empty = Matrix<Float>(rows: 0, cols: 0, repeating: 0)
        let linear = Linear(weight: empty, bias: nil, layout: .outIn)
        return BlockWeights(norm1: NormWeights(weight: empty, bias: nil), norm2: nil,
                            attention: AttentionWeights(fusedQKV: nil, query: nil, key: nil, value: nil, output: linear),
                            mlp: MLPWeights(up: linear, gate: nil, down: linear))
    }
}
