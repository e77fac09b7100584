import Foundation
import Linalg

/// What a block's forward pass keeps for its backward pass (N = B·T tokens).
struct BlockTape {
    /// x `[N, d]`: the block input.
    var input: Matrix<Float>
    /// norm1(x) `[N, d]` and its row statistics.
    var norm1Output: Matrix<Float>
    var norm1Cache: NormCache
    /// q, k, v side by side `[N, H·hd + 2·KV·hd]`, after the rotary embedding.
    var qkv: [Float]
    /// `[B, H, T, T]`.
    var probabilities: [Float]
    /// Attention heads before the output projection `[N, H·hd]`.
    var attended: Matrix<Float>
    /// x + attention `[N, d]` (input of norm2); unused by GPT-J.
    var middle: Matrix<Float>?
    var norm2Output: Matrix<Float>?
    var norm2Cache: NormCache?
    /// Up projection output (pre-activation) `[N, f]`.
    var up: Matrix<Float>
    /// Gate projection output `[N, f]` (gated MLPs).
    var gate: Matrix<Float>?
    /// The key: input of the down projection `[N, f]`.
    var key: Matrix<Float>
}

/// The activations a forward pass of a block may hand back.
struct BlockActivations {
    /// The key `[N, f]`.
    var key: Matrix<Float>
    /// The MLP output `[N, d]` (bias, additions and replacements included), when asked for.
    var mlpOutput: Matrix<Float>?
    /// The attention output `[N, d]` (after the output projection, replacements included), when asked for.
    var attentionOutput: Matrix<Float>?
}

/// What one block's forward pass reads and changes inside it.
struct BlockHooks {
    /// Added to the MLP output (before the residual add).
    var mlpAdditions: [Addition] = []
    /// Rows of the MLP output overwritten (after the additions).
    var mlpReplacements: [Replacement] = []
    /// Rows of the attention output overwritten.
    var attentionReplacements: [Replacement] = []
    var captureMLPOutput = false
    var captureAttentionOutput = false

    static let none = BlockHooks()

    /// The MLP output must be materialised on its own.
    var touchesMLP: Bool { captureMLPOutput || !mlpAdditions.isEmpty || !mlpReplacements.isEmpty }
    /// The attention output must be materialised on its own.
    var touchesAttention: Bool { captureAttentionOutput || !attentionReplacements.isEmpty }
}

/// The buffers a block's forward pass writes into, carried from block to block so that a pass
/// over L blocks allocates each once instead of L times (fresh pages cost a page fault each).
/// With a tape, the buffers the tape keeps move into it and the next block allocates new ones.
struct BlockWorkspace {
    /// norm1(x) `[N, d]`.
    var norm1Output = Matrix<Float>.empty
    /// q, k, v `[N, H·hd + 2·KV·hd]`.
    var qkv: [Float] = []
    /// `[N, H·hd]`.
    var attended = Matrix<Float>.empty
    /// x + attention `[N, d]`.
    var middle = Matrix<Float>.empty
    /// norm2(middle) `[N, d]`.
    var norm2Output = Matrix<Float>.empty
    /// `[N, f]` each.
    var up = Matrix<Float>.empty
    var gate = Matrix<Float>.empty
    var key = Matrix<Float>.empty
    /// `[N, d]`, only when the MLP output is captured or changed.
    var mlpOutput = Matrix<Float>.empty
    /// `[N, d]`, only when the attention output is captured or changed.
    var attentionOutput = Matrix<Float>.empty
}

/// The buffers of a block's backward pass, reused from block to block.
struct BlockGradientWorkspace {
    /// dKey `[N, f]`, turned in place into d(up) (or d(gate) for gated MLPs).
    var dKey = Matrix<Float>.empty
    /// d(up) `[N, f]` of gated MLPs.
    var dUp = Matrix<Float>.empty
    /// Gradient of the norm output feeding the MLP or the attention `[N, d]`.
    var dNormOutput = Matrix<Float>.empty
    /// `[N, H·hd]`.
    var dAttended = Matrix<Float>.empty
    /// dq, dk, dv `[N, H·hd + 2·KV·hd]`.
    var dqkv: [Float] = []
}

/// Moves a buffer out of a workspace, leaving an empty one, so that the buffer stays uniquely
/// referenced (no copy-on-write) wherever it goes.
@inline(__always)
func take(_ buffer: inout Matrix<Float>) -> Matrix<Float> {
    var moved = Matrix<Float>.empty
    swap(&moved, &buffer)
    return moved
}

@inline(__always)
func take(_ buffer: inout [Float]) -> [Float] {
    var moved: [Float] = []
    swap(&moved, &buffer)
    return moved
}

/// One decoder block, forward and backward side by side, for every family:
/// GPT-2 / Llama / Qwen2 / Mistral (sequential: x + attn(norm1 x), then + mlp(norm2 ·)) and
/// GPT-J (parallel: x + attn(norm1 x) + mlp(norm1 x)).
///
/// Shapes: N = B·T tokens, d hidden, f MLP width, H query heads, KV key/value heads, hd head width.
struct DecoderBlock {
    let config: ModelConfig
    let rotary: RotaryEmbedding?

    var normalization: Normalization { Normalization(kind: config.normalization) }

    func geometry(_ batch: TokenBatch) -> AttentionGeometry {
        AttentionGeometry(batch: batch.batchSize, queryLength: batch.length, keyLength: batch.length,
                          heads: config.headCount, keyValueHeads: config.keyValueHeadCount,
                          headDim: config.headDimension, scale: 1 / Float(config.headDimension).squareRoot(),
                          slidingWindow: config.slidingWindow, queryOffset: 0, segmentStarts: batch.segmentStarts)
    }

    /// Widths of the fused projection: q `H·hd`, k and v `KV·hd` each.
    private var qkvWidths: (query: Int, keyValue: Int, total: Int) {
        let q = config.headCount * config.headDimension, kv = config.keyValueHeadCount * config.headDimension
        return (q, kv, q + 2 * kv)
    }

    // MARK: Attention

    /// q, k, v of `h` `[N, d]` side by side in `qkv` `[N, H·hd + 2·KV·hd]`, rotated: one GEMM
    /// for GPT-2's fused `c_attn`, three strided GEMMs into the column blocks otherwise.
    func projectQKV(_ h: Matrix<Float>, _ w: AttentionWeights, positions: [Int], into qkv: inout [Float]) {
        let (qWidth, kvWidth, total) = qkvWidths
        if qkv.count != h.rows * total { qkv = [Float](repeating: 0, count: h.rows * total) }
        if let fused = w.fusedQKV {
            fused.forward(h, into: &qkv, offset: 0, ld: total)
        } else {
            w.query!.forward(h, into: &qkv, offset: 0, ld: total)
            w.key!.forward(h, into: &qkv, offset: qWidth, ld: total)
            w.value!.forward(h, into: &qkv, offset: qWidth + kvWidth, ld: total)
        }
        if let rotary {
            rotary.apply(to: &qkv, rows: h.rows, heads: config.headCount, headDim: config.headDimension,
                         positions: positions, offset: 0, ld: total)
            rotary.apply(to: &qkv, rows: h.rows, heads: config.keyValueHeadCount, headDim: config.headDimension,
                         positions: positions, offset: qWidth, ld: total)
        }
    }

    /// dH1 (gradient of the norm1 output) into `ws.dNormOutput` (added to it when `accumulate`)
    /// from the gradient of the attention output `[N, d]`.
    private func attentionBackward(tape: BlockTape, weights w: AttentionWeights, batch: TokenBatch,
                                   gradOutput dy: Matrix<Float>, gradients: inout BlockWeights?,
                                   workspace ws: inout BlockGradientWorkspace, accumulate: Bool) {
        let g = geometry(batch), rows = dy.rows, total = g.fusedWidth
        // dAttended[N, H·hd] = dY·W_oᵀ
        w.output.inputGradient(dy.elements, offset: 0, ld: dy.cols, rows: rows, into: &ws.dAttended, accumulate: false)
        if gradients != nil {
            w.output.accumulateParameterGradients(input: tape.attended, gradOutput: dy, into: &gradients!.attention.output)
        }
        // dqkv[N, H·hd + 2·KV·hd]
        ScaledDotProductAttention.backward(dOutput: ws.dAttended, qkv: tape.qkv, probabilities: tape.probabilities,
                                           geometry: g, into: &ws.dqkv)
        if let rotary {
            rotary.apply(to: &ws.dqkv, rows: rows, heads: config.headCount, headDim: config.headDimension,
                         positions: batch.positions, offset: 0, ld: total, inverse: true)
            rotary.apply(to: &ws.dqkv, rows: rows, heads: config.keyValueHeadCount, headDim: config.headDimension,
                         positions: batch.positions, offset: g.keyColumn, ld: total, inverse: true)
        }
        // dH1[N, d] (+)= dQKV·W̃_qkvᵀ
        let x = tape.norm1Output
        if let fused = w.fusedQKV {
            fused.inputGradient(ws.dqkv, offset: 0, ld: total, rows: rows, into: &ws.dNormOutput, accumulate: accumulate)
            if gradients != nil {
                fused.accumulateParameterGradients(input: x, gradOutput: ws.dqkv, offset: 0, ld: total,
                                                   into: &gradients!.attention.fusedQKV!)
            }
        } else {
            let parts: [(Linear, Int)] = [(w.query!, 0), (w.key!, g.keyColumn), (w.value!, g.valueColumn)]
            for (index, (layer, column)) in parts.enumerated() {
                layer.inputGradient(ws.dqkv, offset: column, ld: total, rows: rows, into: &ws.dNormOutput,
                                    accumulate: accumulate || index > 0)
            }
            if gradients != nil {
                w.query!.accumulateParameterGradients(input: x, gradOutput: ws.dqkv, offset: 0, ld: total,
                                                      into: &gradients!.attention.query!)
                w.key!.accumulateParameterGradients(input: x, gradOutput: ws.dqkv, offset: g.keyColumn, ld: total,
                                                    into: &gradients!.attention.key!)
                w.value!.accumulateParameterGradients(input: x, gradOutput: ws.dqkv, offset: g.valueColumn, ld: total,
                                                      into: &gradients!.attention.value!)
            }
        }
    }

    // MARK: MLP

    /// Up (and gate) projections of `h` `[N, d]` and the activation: `ws.up`, `ws.gate`, `ws.key` `[N, f]`.
    func mlpKey(_ h: Matrix<Float>, _ w: MLPWeights, workspace ws: inout BlockWorkspace) {
        w.up.forward(h, into: &ws.up)
        if let gateWeights = w.gate {
            gateWeights.forward(h, into: &ws.gate)
            config.activation.gatedForward(gate: ws.gate, up: ws.up, into: &ws.key)  // silu(gate) ⊙ up
        } else {
            config.activation.forward(ws.up, into: &ws.key)
        }
    }

    /// dH (gradient of the MLP input) into `ws.dNormOutput` (added to it when `accumulate`)
    /// from dMLPOutput `[N, d]`; accumulates into `gradients.mlp` when non-nil.
    private func mlpBackward(input h: Matrix<Float>, tape: BlockTape, weights w: MLPWeights, gradOutput dy: Matrix<Float>,
                             gradients: inout BlockWeights?, workspace ws: inout BlockGradientWorkspace, accumulate: Bool) {
        let rows = dy.rows
        // dKey[N, f] = dY·W_downᵀ
        w.down.inputGradient(dy.elements, offset: 0, ld: dy.cols, rows: rows, into: &ws.dKey, accumulate: false)
        if gradients != nil { w.down.accumulateParameterGradients(input: tape.key, gradOutput: dy, into: &gradients!.mlp.down) }
        if let gateWeights = w.gate, let g = tape.gate {
            // key = silu(g) ⊙ u: dKey becomes dGate in place, dUp beside it
            config.activation.gatedBackward(gate: g, up: tape.up, gradient: &ws.dKey, dUp: &ws.dUp)
            let f = ws.dKey.cols
            gateWeights.inputGradient(ws.dKey.elements, offset: 0, ld: f, rows: rows, into: &ws.dNormOutput, accumulate: accumulate)
            w.up.inputGradient(ws.dUp.elements, offset: 0, ld: f, rows: rows, into: &ws.dNormOutput, accumulate: true)
            if gradients != nil {
                gateWeights.accumulateParameterGradients(input: h, gradOutput: ws.dKey, into: &gradients!.mlp.gate!)
                w.up.accumulateParameterGradients(input: h, gradOutput: ws.dUp, into: &gradients!.mlp.up)
            }
        } else {
            // dUp = dKey ⊙ f'(up), in place
            config.activation.backward(input: tape.up, gradient: &ws.dKey)
            w.up.inputGradient(ws.dKey.elements, offset: 0, ld: ws.dKey.cols, rows: rows, into: &ws.dNormOutput,
                               accumulate: accumulate)
            if gradients != nil { w.up.accumulateParameterGradients(input: h, gradOutput: ws.dKey, into: &gradients!.mlp.up) }
        }
    }

    // MARK: Block

    /// - Parameters:
    ///   - x: `[N, d]` block input.
    ///   - hooks: what to read and change inside the block (MLP and attention outputs).
    ///   - workspace: the intermediates; with `keepTape` the tape takes over those it keeps.
    ///   - output: receives the block output `[N, d]` (its storage reused when the shape matches).
    /// - Returns: the key (and MLP output), and the tape when `keepTape`.
    func forward(_ x: Matrix<Float>, _ w: BlockWeights, batch: TokenBatch, hooks: BlockHooks,
                 keepTape: Bool, workspace ws: inout BlockWorkspace,
                 output: inout Matrix<Float>) -> (activations: BlockActivations, tape: BlockTape?) {
        let c1 = normalization.forward(x, w.norm1, into: &ws.norm1Output)
        projectQKV(ws.norm1Output, w.attention, positions: batch.positions, into: &ws.qkv)
        let g = geometry(batch)
        var probabilities: [Float]? = keepTape ? [] : nil
        let qkv = ws.qkv
        ScaledDotProductAttention.forward(
            q: StridedMatrix(array: qkv, offset: 0, ld: g.fusedWidth),
            k: StridedMatrix(array: qkv, offset: g.keyColumn, ld: g.fusedWidth),
            v: StridedMatrix(array: qkv, offset: g.valueColumn, ld: g.fusedWidth),
            keyMask: batch.mask, geometry: g, into: &ws.attended, probabilities: &probabilities)
        let (mlpOutput, attentionOutput, c2) = residualAndMLP(x, w, hooks: hooks, workspace: &ws, output: &output)
        guard keepTape else {
            return (BlockActivations(key: ws.key, mlpOutput: mlpOutput, attentionOutput: attentionOutput), nil)
        }
        let sequential = !config.parallelResidual
        let tape = BlockTape(
            input: x, norm1Output: take(&ws.norm1Output), norm1Cache: c1, qkv: take(&ws.qkv),
            probabilities: probabilities!, attended: take(&ws.attended),
            middle: sequential ? take(&ws.middle) : nil, norm2Output: sequential ? take(&ws.norm2Output) : nil,
            norm2Cache: c2, up: take(&ws.up), gate: w.mlp.gate == nil ? nil : take(&ws.gate), key: take(&ws.key))
        return (BlockActivations(key: tape.key, mlpOutput: mlpOutput, attentionOutput: attentionOutput), tape)
    }

    /// The rest of a block once the attention heads are in `ws.attended`: the output projection
    /// and residual add, norm2 (sequential blocks), the MLP, and its residual add into `output`.
    /// - Returns: the MLP and attention outputs when captured, and norm2's cache.
    func residualAndMLP(_ x: Matrix<Float>, _ w: BlockWeights, hooks: BlockHooks,
                        workspace ws: inout BlockWorkspace, output: inout Matrix<Float>)
        -> (mlpOutput: Matrix<Float>?, attentionOutput: Matrix<Float>?, norm2Cache: NormCache?)
    {
        var c2: NormCache? = nil
        // The residual plus the attention output: into `output` (parallel) or `ws.middle` (sequential).
        func addAttention(into sum: inout Matrix<Float>) {
            sum.assign(x)
            if hooks.touchesAttention {
                w.attention.output.forward(ws.attended, into: &ws.attentionOutput)
                for replacement in hooks.attentionReplacements { Self.replace(replacement, in: &ws.attentionOutput) }
                sum += ws.attentionOutput
            } else {
                w.attention.output.forward(ws.attended, addingInto: &sum)
            }
        }
        if config.parallelResidual {
            // output = x + attention, then + MLP(norm1 x)
            addAttention(into: &output)
            mlpKey(ws.norm1Output, w.mlp, workspace: &ws)
        } else {
            // middle = x + attention; output = middle + MLP(norm2 middle)
            addAttention(into: &ws.middle)
            c2 = normalization.forward(ws.middle, w.norm2!, into: &ws.norm2Output)
            mlpKey(ws.norm2Output, w.mlp, workspace: &ws)
            output.assign(ws.middle)
        }
        let attentionOutput = hooks.captureAttentionOutput ? ws.attentionOutput : nil
        guard hooks.touchesMLP else {
            w.mlp.down.forward(ws.key, addingInto: &output)
            return (nil, attentionOutput, c2)
        }
        w.mlp.down.forward(ws.key, into: &ws.mlpOutput)
        for addition in hooks.mlpAdditions { Self.add(addition, to: &ws.mlpOutput) }
        for replacement in hooks.mlpReplacements { Self.replace(replacement, in: &ws.mlpOutput) }
        output += ws.mlpOutput
        return (hooks.captureMLPOutput ? ws.mlpOutput : nil, attentionOutput, c2)
    }

    /// Back-propagates through the block: `gradient` holds dOutput `[N, d]` on entry and dX on
    /// return (the residual stream's gradient, updated in place); parameter gradients accumulate
    /// into `gradients` when non-nil.
    func backward(tape: BlockTape, weights w: BlockWeights, batch: TokenBatch, gradient: inout Matrix<Float>,
                  gradients: inout BlockWeights?, workspace ws: inout BlockGradientWorkspace) {
        if config.parallelResidual {
            // out = x + attn(h1) + mlp(h1): dH1 = mlpᵀ(dOut) + attnᵀ(dOut); dX = dOut + norm1ᵀ(dH1)
            mlpBackward(input: tape.norm1Output, tape: tape, weights: w.mlp, gradOutput: gradient,
                        gradients: &gradients, workspace: &ws, accumulate: false)
            attentionBackward(tape: tape, weights: w.attention, batch: batch, gradOutput: gradient,
                              gradients: &gradients, workspace: &ws, accumulate: true)
        } else {
            // out = middle + mlp(norm2 middle): dMiddle = dOut + norm2ᵀ(mlpᵀ(dOut))
            mlpBackward(input: tape.norm2Output!, tape: tape, weights: w.mlp, gradOutput: gradient,
                        gradients: &gradients, workspace: &ws, accumulate: false)
            var dNorm2: NormWeights? = gradients?.norm2
            normalization.backward(input: tape.middle!, cache: tape.norm2Cache!, weights: w.norm2!, gradOutput: ws.dNormOutput,
                                   into: &gradient, accumulate: true, gradients: &dNorm2)
            if gradients != nil { gradients!.norm2 = dNorm2 }
            // middle = x + attn(norm1 x): dH1 = attnᵀ(dMiddle)
            attentionBackward(tape: tape, weights: w.attention, batch: batch, gradOutput: gradient,
                              gradients: &gradients, workspace: &ws, accumulate: false)
        }
        // dX = dMiddle (or dOut) + norm1ᵀ(dH1)
        var dNorm1: NormWeights? = gradients?.norm1
        normalization.backward(input: tape.input, cache: tape.norm1Cache, weights: w.norm1, gradOutput: ws.dNormOutput,
                               into: &gradient, accumulate: true, gradients: &dNorm1)
        if gradients != nil { gradients!.norm1 = dNorm1! }
    }

    static func replace(_ replacement: Replacement, in m: inout Matrix<Float>) {
        precondition(replacement.vector.count == m.cols, "replacement width \(replacement.vector.count) != \(m.cols)")
        precondition(replacement.row >= 0 && replacement.row < m.rows, "replacement row \(replacement.row) outside the batch")
        let base = replacement.row * m.cols
        for c in 0..<m.cols { m.elements[base + c] = replacement.vector[c] }
    }

    static func add(_ addition: Addition, to m: inout Matrix<Float>) {
        precondition(addition.vector.count == m.cols, "addition width \(addition.vector.count) != \(m.cols)")
        precondition(addition.row >= 0 && addition.row < m.rows, "addition row \(addition.row) outside the batch")
        let base = addition.row * m.cols
        for c in 0..<m.cols { m.elements[base + c] += addition.vector[c] }
    }
}

extension Matrix where Scalar == Float {
    /// Copies `source` into this matrix, reusing its storage when the shapes match.
    mutating func assign(_ source: Matrix<Float>) {
        reshape(rows: source.rows, cols: source.cols)
        let count = source.elements.count
        elements.withUnsafeMutableBufferPointer { dst in
            source.elements.withUnsafeBufferPointer { src in
                let d = dst.baseAddress, s = src.baseAddress
                Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
                    (d! + range.lowerBound).update(from: s! + range.lowerBound, count: range.count)
                }
            }
        }
    }
}
