import Foundation
import Linalg

/// What a block's forward pass keeps for its backward pass.
struct BlockTape {
    /// x `[N, d]`: the block input.
    var input: Matrix<Float>
    var norm1Output: Matrix<Float>
    var norm1Cache: NormCache
    /// q `[N, H·hd]`, k and v `[N, KV·hd]`, after the rotary embedding.
    var q: [Float], k: [Float], v: [Float]
    /// `[B, H, T, T]`.
    var probabilities: [Float]
    /// Attention heads before the output projection `[N, H·hd]`.
    var attended: Matrix<Float>
    /// x + attention (input of norm2); unused by GPT-J.
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
    var key: Matrix<Float>
    var mlpOutput: Matrix<Float>
}

/// One decoder block, forward and backward side by side, for every family:
/// GPT-2 / Llama / Qwen2 / Mistral (sequential: x + attn(norm1 x), then + mlp(norm2 ·)) and
/// GPT-J (parallel: x + attn(norm1 x) + mlp(norm1 x)).
struct DecoderBlock {
    let config: ModelConfig
    let rotary: RotaryEmbedding?

    var normalization: Normalization { Normalization(kind: config.normalization) }

    func geometry(_ batch: TokenBatch) -> AttentionGeometry {
        AttentionGeometry(batch: batch.batchSize, queryLength: batch.length, keyLength: batch.length,
                          heads: config.headCount, keyValueHeads: config.keyValueHeadCount,
                          headDim: config.headDimension, scale: 1 / Float(config.headDimension).squareRoot(),
                          slidingWindow: config.slidingWindow, queryOffset: 0)
    }

    // MARK: Attention

    /// q, k, v projections `[N, H·hd]`, `[N, KV·hd]`, `[N, KV·hd]`, rotated.
    func projectQKV(_ h: Matrix<Float>, _ w: AttentionWeights, positions: [Int]) -> (q: [Float], k: [Float], v: [Float]) {
        var q: [Float], k: [Float], v: [Float]
        if let fused = w.fusedQKV {
            let qkv = fused.forward(h)  // [N, 3d]
            (q, k, v) = Self.split(qkv, widths: [config.headCount * config.headDimension,
                                                 config.keyValueHeadCount * config.headDimension,
                                                 config.keyValueHeadCount * config.headDimension])
        } else {
            q = w.query!.forward(h).elements
            k = w.key!.forward(h).elements
            v = w.value!.forward(h).elements
        }
        if let rotary {
            rotary.apply(to: &q, rows: h.rows, heads: config.headCount, headDim: config.headDimension, positions: positions)
            rotary.apply(to: &k, rows: h.rows, heads: config.keyValueHeadCount, headDim: config.headDimension, positions: positions)
        }
        return (q, k, v)
    }

    /// Splits the columns of `m` into contiguous pieces of the given widths.
    static func split(_ m: Matrix<Float>, widths: [Int]) -> ([Float], [Float], [Float]) {
        precondition(widths.count == 3 && widths.reduce(0, +) == m.cols)
        var parts = widths.map { [Float](repeating: 0, count: m.rows * $0) }
        m.elements.withUnsafeBufferPointer { src in
            for p in 0..<3 {
                let offset = widths[..<p].reduce(0, +), w = widths[p]
                parts[p].withUnsafeMutableBufferPointer { dst in
                    for r in 0..<m.rows {
                        for c in 0..<w { dst[r * w + c] = src[r * m.cols + offset + c] }
                    }
                }
            }
        }
        return (parts[0], parts[1], parts[2])
    }

    /// The inverse of `split`.
    static func concatenate(_ parts: [[Float]], rows: Int, widths: [Int]) -> Matrix<Float> {
        let total = widths.reduce(0, +)
        var m = Matrix<Float>(rows: rows, cols: total, repeating: 0)
        m.elements.withUnsafeMutableBufferPointer { dst in
            var offset = 0
            for (part, w) in zip(parts, widths) {
                part.withUnsafeBufferPointer { src in
                    for r in 0..<rows {
                        for c in 0..<w { dst[r * total + offset + c] = src[r * w + c] }
                    }
                }
                offset += w
            }
        }
        return m
    }

    // MARK: MLP

    /// Up (and gate) projections, the activation, the key; then the down projection.
    func mlpForward(_ h: Matrix<Float>, _ w: MLPWeights) -> (up: Matrix<Float>, gate: Matrix<Float>?, key: Matrix<Float>, output: Matrix<Float>) {
        let up = w.up.forward(h)
        var gate: Matrix<Float>? = nil
        let key: Matrix<Float>
        if let gateWeights = w.gate {
            let g = gateWeights.forward(h)
            var k = config.activation.forward(g)  // silu(gate)
            k.elements.withUnsafeMutableBufferPointer { ks in
                up.elements.withUnsafeBufferPointer { us in
                    for i in ks.indices { ks[i] *= us[i] }
                }
            }
            gate = g
            key = k
        } else {
            key = config.activation.forward(up)
        }
        return (up, gate, key, w.down.forward(key))
    }

    /// dH from dMLPOutput; accumulates into `gradients.mlp` when non-nil.
    func mlpBackward(input h: Matrix<Float>, tape: BlockTape, weights w: MLPWeights, gradOutput dy: Matrix<Float>,
                     gradients: inout BlockWeights?) -> Matrix<Float> {
        let dKey = w.down.inputGradient(dy)
        if gradients != nil { w.down.accumulateParameterGradients(input: tape.key, gradOutput: dy, into: &gradients!.mlp.down) }
        var dh: Matrix<Float>
        if let gateWeights = w.gate, let g = tape.gate {
            // key = silu(g) ⊙ u
            var dGate = dKey, dUp = dKey
            let activation = config.activation
            dGate.elements.withUnsafeMutableBufferPointer { dg in
                dUp.elements.withUnsafeMutableBufferPointer { du in
                    g.elements.withUnsafeBufferPointer { gs in
                        tape.up.elements.withUnsafeBufferPointer { us in
                            for i in dg.indices {
                                dg[i] *= us[i] * activation.derivative(gs[i])
                                du[i] *= activation.value(gs[i])
                            }
                        }
                    }
                }
            }
            dh = gateWeights.inputGradient(dGate)
            dh += w.up.inputGradient(dUp)
            if gradients != nil {
                gateWeights.accumulateParameterGradients(input: h, gradOutput: dGate, into: &gradients!.mlp.gate!)
                w.up.accumulateParameterGradients(input: h, gradOutput: dUp, into: &gradients!.mlp.up)
            }
        } else {
            let dUp = config.activation.backward(input: tape.up, gradOutput: dKey)
            dh = w.up.inputGradient(dUp)
            if gradients != nil { w.up.accumulateParameterGradients(input: h, gradOutput: dUp, into: &gradients!.mlp.up) }
        }
        return dh
    }

    // MARK: Block

    /// - Parameters:
    ///   - x: `[N, d]` block input.
    ///   - mlpAdditions: added to the MLP output (before the residual add).
    /// - Returns: the block output `[N, d]`, the key and MLP output, and the tape when `keepTape`.
    func forward(_ x: Matrix<Float>, _ w: BlockWeights, batch: TokenBatch, mlpAdditions: [Addition],
                 keepTape: Bool) -> (output: Matrix<Float>, activations: BlockActivations, tape: BlockTape?) {
        let (h1, c1) = normalization.forward(x, w.norm1)
        let (q, k, v) = projectQKV(h1, w.attention, positions: batch.positions)
        let g = geometry(batch)
        let (attended, probabilities) = ScaledDotProductAttention.forward(
            q: q, k: k, v: v, keyMask: batch.mask, geometry: g, keepProbabilities: keepTape)
        let attentionOutput = w.attention.output.forward(attended)

        var middle: Matrix<Float>? = nil
        var h2: Matrix<Float>? = nil
        var c2: NormCache? = nil
        let mlpInput: Matrix<Float>
        if config.parallelResidual {
            mlpInput = h1
        } else {
            middle = x + attentionOutput
            (h2, c2) = normalization.forward(middle!, w.norm2!)
            mlpInput = h2!
        }
        var (up, gate, key, mlpOutput) = mlpForward(mlpInput, w.mlp)
        for addition in mlpAdditions { Self.add(addition, to: &mlpOutput) }
        let output = config.parallelResidual ? x + attentionOutput + mlpOutput : middle! + mlpOutput
        let tape = keepTape ? BlockTape(
            input: x, norm1Output: h1, norm1Cache: c1, q: q, k: k, v: v, probabilities: probabilities,
            attended: attended, middle: middle, norm2Output: h2, norm2Cache: c2, up: up, gate: gate, key: key) : nil
        return (output, BlockActivations(key: key, mlpOutput: mlpOutput), tape)
    }

    /// dX from dOutput; accumulates parameter gradients when `gradients` is non-nil.
    func backward(tape: BlockTape, weights w: BlockWeights, batch: TokenBatch, gradOutput dOut: Matrix<Float>,
                  gradients: inout BlockWeights?) -> Matrix<Float> {
        var dx: Matrix<Float>
        var dh1: Matrix<Float>
        if config.parallelResidual {
            dx = dOut
            dh1 = mlpBackward(input: tape.norm1Output, tape: tape, weights: w.mlp, gradOutput: dOut, gradients: &gradients)
            dh1 += attentionBackward(tape: tape, weights: w.attention, batch: batch, gradOutput: dOut, gradients: &gradients)
        } else {
            let dh2 = mlpBackward(input: tape.norm2Output!, tape: tape, weights: w.mlp, gradOutput: dOut, gradients: &gradients)
            var dNorm2: NormWeights? = gradients?.norm2
            let dMiddle = dOut + normalization.backward(input: tape.middle!, cache: tape.norm2Cache!, weights: w.norm2!,
                                                        gradOutput: dh2, gradients: &dNorm2)
            if gradients != nil { gradients!.norm2 = dNorm2 }
            dx = dMiddle
            dh1 = attentionBackward(tape: tape, weights: w.attention, batch: batch, gradOutput: dMiddle, gradients: &gradients)
        }
        var dNorm1: NormWeights? = gradients?.norm1
        dx += normalization.backward(input: tape.input, cache: tape.norm1Cache, weights: w.norm1,
                                     gradOutput: dh1, gradients: &dNorm1)
        if gradients != nil { gradients!.norm1 = dNorm1! }
        return dx
    }

    /// dH1 (gradient of the norm1 output) from the gradient of the attention output.
    private func attentionBackward(tape: BlockTape, weights w: AttentionWeights, batch: TokenBatch,
                                   gradOutput dy: Matrix<Float>, gradients: inout BlockWeights?) -> Matrix<Float> {
        let dAttended = w.output.inputGradient(dy)
        if gradients != nil {
            w.output.accumulateParameterGradients(input: tape.attended, gradOutput: dy, into: &gradients!.attention.output)
        }
        var (dq, dk, dv) = ScaledDotProductAttention.backward(
            dOutput: dAttended, q: tape.q, k: tape.k, v: tape.v, probabilities: tape.probabilities, geometry: geometry(batch))
        let rows = dy.rows
        if let rotary {
            rotary.apply(to: &dq, rows: rows, heads: config.headCount, headDim: config.headDimension,
                         positions: batch.positions, inverse: true)
            rotary.apply(to: &dk, rows: rows, heads: config.keyValueHeadCount, headDim: config.headDimension,
                         positions: batch.positions, inverse: true)
        }
        let qWidth = config.headCount * config.headDimension, kvWidth = config.keyValueHeadCount * config.headDimension
        let x = tape.norm1Output
        var dh: Matrix<Float>
        if let fused = w.fusedQKV {
            let dqkv = Self.concatenate([dq, dk, dv], rows: rows, widths: [qWidth, kvWidth, kvWidth])
            dh = fused.inputGradient(dqkv)
            if gradients != nil { fused.accumulateParameterGradients(input: x, gradOutput: dqkv, into: &gradients!.attention.fusedQKV!) }
        } else {
            let dQ = Matrix(rows: rows, cols: qWidth, elements: dq)
            let dK = Matrix(rows: rows, cols: kvWidth, elements: dk)
            let dV = Matrix(rows: rows, cols: kvWidth, elements: dv)
            dh = w.query!.inputGradient(dQ)
            dh += w.key!.inputGradient(dK)
            dh += w.value!.inputGradient(dV)
            if gradients != nil {
                w.query!.accumulateParameterGradients(input: x, gradOutput: dQ, into: &gradients!.attention.query!)
                w.key!.accumulateParameterGradients(input: x, gradOutput: dK, into: &gradients!.attention.key!)
                w.value!.accumulateParameterGradients(input: x, gradOutput: dV, into: &gradients!.attention.value!)
            }
        }
        return dh
    }

    static func add(_ addition: Addition, to m: inout Matrix<Float>) {
        precondition(addition.vector.count == m.cols, "addition width \(addition.vector.count) != \(m.cols)")
        precondition(addition.row >= 0 && addition.row < m.rows, "addition row \(addition.row) outside the batch")
        let base = addition.row * m.cols
        for c in 0..<m.cols { m.elements[base + c] += addition.vector[c] }
    }
}
