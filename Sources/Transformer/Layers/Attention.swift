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

    /// Columns of the fused projection `[N, H·hd + 2·KV·hd]`: q, then k, then v.
    var fusedWidth: Int { queryWidth + 2 * keyWidth }
    var keyColumn: Int { queryWidth }
    var valueColumn: Int { queryWidth + keyWidth }

    /// The keys query i of a sequence may attend to, ignoring padding: causal (j ≤ queryOffset + i)
    /// and, with a sliding window, j > queryOffset + i − slidingWindow; within `0..<keyLength`.
    @inline(__always)
    func visibleKeys(query i: Int) -> Range<Int> {
        let absolute = queryOffset + i
        let upper = min(absolute + 1, keyLength)
        let lower = slidingWindow.map { max(absolute - $0 + 1, 0) } ?? 0
        return lower < upper ? lower..<upper : 0..<0
    }
}

/// A row-major matrix inside an array: element (r, c) at `array[offset + r·ld + c]`. Attention
/// reads q, k and v as column blocks of the fused projection `[N, H·hd + 2·KV·hd]`, or k and v
/// from a KV cache, without copying them out.
struct StridedMatrix {
    var array: [Float]
    var offset: Int
    var ld: Int
}

/// Causal multi-head (and grouped-query) attention on projected q, k, v.
///
/// Layouts, row-major: q `[B·Tq, H·hd]`, k and v `[B·Tk, KV·hd]` (each a `StridedMatrix`),
/// output `[B·Tq, H·hd]`, probabilities `[B, H, Tq, Tk]`. Query head h reads key/value head
/// h / (H / KV). Padded keys (`keyMask` false) get zero weight; a query that sees no key outputs
/// zeros. Per (sequence, head): two GEMMs and a vectorised softmax.
enum ScaledDotProductAttention {
    /// Writes the attended values into `output` (reshaped to `[B·Tq, H·hd]`, storage reused) and,
    /// when `probabilities` is non-nil, the softmax weights `[B, H, Tq, Tk]` into it (the
    /// backward pass reads them); otherwise one `[Tq, Tk]` scratch holds each head's scores.
    static func forward(q: StridedMatrix, k: StridedMatrix, v: StridedMatrix, keyMask: [Bool], geometry g: AttentionGeometry,
                        into output: inout Matrix<Float>, probabilities: inout [Float]?) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim
        precondition(keyMask.count == g.batch * g.keyStride && tk <= g.keyStride)
        output.reshape(rows: g.batch * tq, cols: g.queryWidth)
        let keep = probabilities != nil
        if keep && probabilities!.count != g.batch * g.heads * tq * tk {
            probabilities = [Float](repeating: 0, count: g.batch * g.heads * tq * tk)
        }
        var scratch = [Float](repeating: 0, count: keep ? 0 : tq * tk)
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let kvh = h / g.headsPerKeyValueHead
                let base = keep ? (b * g.heads + h) * tq * tk : 0
                let qOffset = q.offset + b * tq * q.ld + h * hd
                let kOffset = k.offset + b * g.keyStride * k.ld + kvh * hd
                let vOffset = v.offset + b * g.keyStride * v.ld + kvh * hd
                let outOffset = b * tq * g.queryWidth + h * hd
                if keep {
                    scoresAndValues(q: q, qOffset: qOffset, k: k, kOffset: kOffset, v: v, vOffset: vOffset,
                                    scores: &probabilities!, base: base, output: &output.elements, outOffset: outOffset,
                                    batchRow: b, keyMask: keyMask, geometry: g)
                } else {
                    scoresAndValues(q: q, qOffset: qOffset, k: k, kOffset: kOffset, v: v, vOffset: vOffset,
                                    scores: &scratch, base: 0, output: &output.elements, outOffset: outOffset,
                                    batchRow: b, keyMask: keyMask, geometry: g)
                }
            }
        }
    }

    /// One (sequence, head): S = scale·Q·Kᵀ `[Tq, Tk]` at `scores[base...]`, P = softmax(S) in
    /// place, O = P·V `[Tq, hd]` into the head's columns of `output`.
    @inline(__always)
    private static func scoresAndValues(q: StridedMatrix, qOffset: Int, k: StridedMatrix, kOffset: Int,
                                        v: StridedMatrix, vOffset: Int, scores: inout [Float], base: Int,
                                        output: inout [Float], outOffset: Int, batchRow b: Int, keyMask: [Bool],
                                        geometry g: AttentionGeometry) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim
        BLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: g.scale,
                  a: q.array, aOffset: qOffset, lda: q.ld,
                  b: k.array, bOffset: kOffset, ldb: k.ld,
                  beta: 0, c: &scores, cOffset: base, ldc: tk)
        maskedSoftmax(&scores, base: base, batchRow: b, keyMask: keyMask, geometry: g)
        BLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: 1,
                  a: scores, aOffset: base, lda: tk,
                  b: v.array, bOffset: vOffset, ldb: v.ld,
                  beta: 0, c: &output, cOffset: outOffset, ldc: g.queryWidth)
    }

    /// Row-wise softmax of the `[Tq, Tk]` scores at `scores[base...]` over the visible keys;
    /// invisible keys get 0.
    ///
    /// Row i sees keys in `visibleKeys(query: i)` whose mask is true; the exponentials run 16
    /// lanes at a time (`VectorMath`).
    private static func maskedSoftmax(_ scores: inout [Float], base: Int, batchRow b: Int, keyMask: [Bool], geometry g: AttentionGeometry) {
        let tq = g.queryLength, tk = g.keyLength
        let maskBase = b * g.keyStride
        let padded = keyMask[maskBase..<(maskBase + tk)].contains(false)
        precondition(base >= 0 && base + tq * tk <= scores.count)
        scores.withUnsafeMutableBufferPointer { s in
            keyMask.withUnsafeBufferPointer { mask in
                for i in 0..<tq {
                    let row = s.baseAddress! + base + i * tk
                    let keys = g.visibleKeys(query: i)
                    if padded {
                        for j in keys where !mask[maskBase + j] { row[j] = -.infinity }
                    }
                    let maximum = keys.isEmpty ? -.infinity : VectorMath.maximum(row + keys.lowerBound, count: keys.count)
                    guard maximum > -Float.infinity else {
                        for j in 0..<tk { row[j] = 0 }
                        continue
                    }
                    for j in 0..<keys.lowerBound { row[j] = 0 }
                    for j in keys.upperBound..<tk { row[j] = 0 }
                    // e^(−∞ − max) is exactly 0 in `VectorMath.exp`, so padded keys drop out.
                    let sum = VectorMath.exponentiate(row + keys.lowerBound, count: keys.count, shift: maximum)
                    VectorMath.scale(row + keys.lowerBound, count: keys.count, by: 1 / sum)
                }
            }
        }
    }

    /// Gradients of q, k and v from the gradient of the output, on whole sequences (no KV cache).
    /// - Parameters:
    ///   - dOutput: `[B·T, H·hd]`.
    ///   - qkv: the forward's fused projection `[B·T, H·hd + 2·KV·hd]` (q, k, v column blocks).
    ///   - probabilities: the forward softmax weights `[B, H, T, T]`.
    ///   - dqkv: receives dq, dk, dv in the same fused layout; every element is overwritten
    ///     (the first head of a key/value group writes dk, dv, later heads add to them).
    static func backward(dOutput: Matrix<Float>, qkv: [Float], probabilities: [Float], geometry g: AttentionGeometry,
                         into dqkv: inout [Float]) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim, ld = g.fusedWidth
        precondition(g.keyStride == tk && tq == tk, "backward runs on whole sequences, without a KV cache")
        precondition(qkv.count == g.batch * tq * ld && probabilities.count == g.batch * g.heads * tq * tk)
        if dqkv.count != qkv.count { dqkv = [Float](repeating: 0, count: qkv.count) }
        var dp = [Float](repeating: 0, count: tq * tk)
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let kvh = h / g.headsPerKeyValueHead
                let beta: Float = h % g.headsPerKeyValueHead == 0 ? 0 : 1
                let rowBase = b * tq * ld
                let qOffset = rowBase + h * hd
                let kOffset = rowBase + g.keyColumn + kvh * hd
                let vOffset = rowBase + g.valueColumn + kvh * hd
                let dOffset = b * tq * g.queryWidth + h * hd
                let pBase = (b * g.heads + h) * tq * tk
                // dV_bh[Tk, hd] (+)= Pᵀ · dO_bh
                BLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: 1,
                          a: probabilities, aOffset: pBase, lda: tk,
                          b: dOutput.elements, bOffset: dOffset, ldb: g.queryWidth,
                          beta: beta, c: &dqkv, cOffset: vOffset, ldc: ld)
                // dP[Tq, Tk] = dO_bh · V_bhᵀ
                BLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: 1,
                          a: dOutput.elements, aOffset: dOffset, lda: g.queryWidth,
                          b: qkv, bOffset: vOffset, ldb: ld,
                          beta: 0, c: &dp, cOffset: 0, ldc: tk)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place in dp
                dp.withUnsafeMutableBufferPointer { ds in
                    probabilities.withUnsafeBufferPointer { ps in
                        for i in 0..<tq {
                            let dRow = ds.baseAddress! + i * tk, pRow = ps.baseAddress! + pBase + i * tk
                            let dot = VectorMath.dot(dRow, pRow, count: tk)
                            var j = 0
                            while j < tk {
                                let pj = VectorMath.load(pRow, j, tk)
                                VectorMath.store(pj * (VectorMath.load(dRow, j, tk) - dot), dRow, j, tk)
                                j += VectorMath.lanes
                            }
                        }
                    }
                }
                // dQ_bh[Tq, hd] = scale · dS · K_bh
                BLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: g.scale,
                          a: dp, aOffset: 0, lda: tk,
                          b: qkv, bOffset: kOffset, ldb: ld,
                          beta: 0, c: &dqkv, cOffset: qOffset, ldc: ld)
                // dK_bh[Tk, hd] (+)= scale · dSᵀ · Q_bh
                BLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: g.scale,
                          a: dp, aOffset: 0, lda: tk,
                          b: qkv, bOffset: qOffset, ldb: ld,
                          beta: beta, c: &dqkv, cOffset: kOffset, ldc: ld)
            }
        }
    }
}
