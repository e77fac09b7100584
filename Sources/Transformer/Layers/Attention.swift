import Foundation
import Linalg

/// The sizes of one scaled-dot-product attention call.
struct AttentionGeometry {
    var batch: Int
    /// Tq: queries per sequence.
    var queryLength: Int
    /// Tk: keys per sequence (past + new with a KV cache; = Tq without).
    var keyLength: Int
    var heads: Int
    var keyValueHeads: Int
    var headDim: Int
    /// Multiplies q·kᵀ (1/√headDim).
    var scale: Float
    /// Keys older than this many positions are invisible (Mistral), or nil.
    var slidingWindow: Int?
    /// Index of query 0 within the key sequence (the cached length).
    var queryOffset: Int
    /// Rows between consecutive sequences in the k/v buffers and the key mask (a KV cache's
    /// capacity); nil means `keyLength`.
    var keyRowsPerSequence: Int? = nil

    var keyStride: Int { keyRowsPerSequence ?? keyLength }

    var queryWidth: Int { heads * headDim }
    var keyWidth: Int { keyValueHeads * headDim }
    var headsPerKeyValueHead: Int { heads / keyValueHeads }

    /// Whether query i of a sequence may attend to key j of it (causal, window), ignoring padding.
    @inline(__always)
    func isVisible(query i: Int, key j: Int) -> Bool {
        let absolute = queryOffset + i
        guard j <= absolute else { return false }
        if let slidingWindow, absolute - j >= slidingWindow { return false }
        return true
    }
}

/// Causal multi-head (and grouped-query) attention on projected q, k, v.
///
/// Layouts, row-major: q `[B·Tq, H·hd]`, k and v `[B·Tk, KV·hd]`, output `[B·Tq, H·hd]`,
/// probabilities `[B, H, Tq, Tk]`. Query head h reads key/value head h / (H / KV).
/// Padded keys (`keyMask` false) get zero weight; a query that sees no key outputs zeros.
enum ScaledDotProductAttention {
    /// - Returns: the attended values and, when `keepProbabilities`, the softmax weights.
    static func forward(q: [Float], k: [Float], v: [Float], keyMask: [Bool], geometry g: AttentionGeometry,
                        keepProbabilities: Bool) -> (output: Matrix<Float>, probabilities: [Float]) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim
        precondition(q.count == g.batch * tq * g.queryWidth && k.count == g.batch * g.keyStride * g.keyWidth
                     && v.count == k.count && keyMask.count == g.batch * g.keyStride && tk <= g.keyStride)
        var output = Matrix<Float>(rows: g.batch * tq, cols: g.queryWidth, repeating: 0)
        var probabilities = [Float](repeating: 0, count: keepProbabilities ? g.batch * g.heads * tq * tk : 0)
        var scores = [Float](repeating: 0, count: tq * tk)
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let kvh = h / g.headsPerKeyValueHead
                // scores[Tq, Tk] = scale · Q_bh · K_bhᵀ
                BLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: g.scale,
                          a: q, aOffset: b * tq * g.queryWidth + h * hd, lda: g.queryWidth,
                          b: k, bOffset: b * g.keyStride * g.keyWidth + kvh * hd, ldb: g.keyWidth,
                          beta: 0, c: &scores, cOffset: 0, ldc: tk)
                maskedSoftmax(&scores, batchRow: b, keyMask: keyMask, geometry: g)
                // O_bh[Tq, hd] = P · V_bh
                BLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: 1,
                          a: scores, aOffset: 0, lda: tk,
                          b: v, bOffset: b * g.keyStride * g.keyWidth + kvh * hd, ldb: g.keyWidth,
                          beta: 0, c: &output.elements, cOffset: b * tq * g.queryWidth + h * hd, ldc: g.queryWidth)
                if keepProbabilities {
                    let base = (b * g.heads + h) * tq * tk
                    probabilities.withUnsafeMutableBufferPointer { dst in
                        scores.withUnsafeBufferPointer { src in
                            for i in 0..<(tq * tk) { dst[base + i] = src[i] }
                        }
                    }
                }
            }
        }
        return (output, probabilities)
    }

    /// Row-wise softmax of `scores` `[Tq, Tk]` over the visible keys; invisible keys get 0.
    private static func maskedSoftmax(_ scores: inout [Float], batchRow b: Int, keyMask: [Bool], geometry g: AttentionGeometry) {
        let tq = g.queryLength, tk = g.keyLength
        scores.withUnsafeMutableBufferPointer { s in
            keyMask.withUnsafeBufferPointer { mask in
                for i in 0..<tq {
                    let row = i * tk
                    var maximum = -Float.infinity
                    let maskBase = b * g.keyStride
                    for j in 0..<tk where mask[maskBase + j] && g.isVisible(query: i, key: j) {
                        maximum = max(maximum, s[row + j])
                    }
                    guard maximum > -Float.infinity else {
                        for j in 0..<tk { s[row + j] = 0 }
                        continue
                    }
                    var sum: Float = 0
                    for j in 0..<tk {
                        if mask[maskBase + j] && g.isVisible(query: i, key: j) {
                            let e = expf(s[row + j] - maximum)
                            s[row + j] = e
                            sum += e
                        } else {
                            s[row + j] = 0
                        }
                    }
                    let inv = 1 / sum
                    for j in 0..<tk { s[row + j] *= inv }
                }
            }
        }
    }

    /// Gradients of q, k and v from the gradient of the output.
    /// - Parameters:
    ///   - dOutput: `[B·Tq, H·hd]`.
    ///   - probabilities: the forward softmax weights `[B, H, Tq, Tk]`.
    /// - Returns: dq `[B·Tq, H·hd]`, dk and dv `[B·Tk, KV·hd]`.
    static func backward(dOutput: Matrix<Float>, q: [Float], k: [Float], v: [Float], probabilities: [Float],
                         geometry g: AttentionGeometry) -> (dq: [Float], dk: [Float], dv: [Float]) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim
        precondition(g.keyStride == tk, "backward runs on whole sequences, without a KV cache")
        var dq = [Float](repeating: 0, count: q.count)
        var dk = [Float](repeating: 0, count: k.count)
        var dv = [Float](repeating: 0, count: v.count)
        var dp = [Float](repeating: 0, count: tq * tk)
        var p = [Float](repeating: 0, count: tq * tk)
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let kvh = h / g.headsPerKeyValueHead
                let qOffset = b * tq * g.queryWidth + h * hd
                let kvOffset = b * tk * g.keyWidth + kvh * hd
                let pBase = (b * g.heads + h) * tq * tk
                p.withUnsafeMutableBufferPointer { dst in
                    probabilities.withUnsafeBufferPointer { src in
                        for i in 0..<(tq * tk) { dst[i] = src[pBase + i] }
                    }
                }
                // dV_bh[Tk, hd] += Pᵀ · dO_bh
                BLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: 1,
                          a: p, aOffset: 0, lda: tk,
                          b: dOutput.elements, bOffset: qOffset, ldb: g.queryWidth,
                          beta: 1, c: &dv, cOffset: kvOffset, ldc: g.keyWidth)
                // dP[Tq, Tk] = dO_bh · V_bhᵀ
                BLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: 1,
                          a: dOutput.elements, aOffset: qOffset, lda: g.queryWidth,
                          b: v, bOffset: kvOffset, ldb: g.keyWidth,
                          beta: 0, c: &dp, cOffset: 0, ldc: tk)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)), reusing dp
                dp.withUnsafeMutableBufferPointer { ds in
                    p.withUnsafeBufferPointer { ps in
                        for i in 0..<tq {
                            let row = i * tk
                            var dot: Float = 0
                            for j in 0..<tk { dot += ds[row + j] * ps[row + j] }
                            for j in 0..<tk { ds[row + j] = ps[row + j] * (ds[row + j] - dot) }
                        }
                    }
                }
                // dQ_bh[Tq, hd] = scale · dS · K_bh
                BLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: g.scale,
                          a: dp, aOffset: 0, lda: tk,
                          b: k, bOffset: kvOffset, ldb: g.keyWidth,
                          beta: 0, c: &dq, cOffset: qOffset, ldc: g.queryWidth)
                // dK_bh[Tk, hd] += scale · dSᵀ · Q_bh
                BLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: g.scale,
                          a: dp, aOffset: 0, lda: tk,
                          b: q, bOffset: qOffset, ldb: g.queryWidth,
                          beta: 1, c: &dk, cOffset: kvOffset, ldc: g.keyWidth)
            }
        }
        return (dq, dk, dv)
    }
}
