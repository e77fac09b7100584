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
    /// Per query `[B·Tq]`, the first key of its sequence within the row (a packed batch, see
    /// ``TokenBatch/segmentStarts``); nil: key 0.
    var segmentStarts: [Int]? = nil

    var keyStride: Int { keyRowsPerSequence ?? keyLength }

    var queryWidth: Int { heads * headDim }
    var keyWidth: Int { keyValueHeads * headDim }
    var headsPerKeyValueHead: Int { heads / keyValueHeads }

    /// Columns of the fused projection `[N, H·hd + 2·KV·hd]`: q, then k, then v.
    var fusedWidth: Int { queryWidth + 2 * keyWidth }
    var keyColumn: Int { queryWidth }
    var valueColumn: Int { queryWidth + keyWidth }

    /// The keys query i of row b may attend to, ignoring padding: causal (j ≤ queryOffset + i),
    /// from its sequence's first key (``segmentStarts``) and, with a sliding window,
    /// j > queryOffset + i − slidingWindow; within `0..<keyLength`.
    @inline(__always)
    func visibleKeys(query i: Int, row b: Int) -> Range<Int> {
        let absolute = queryOffset + i
        let upper = min(absolute + 1, keyLength)
        var lower = slidingWindow.map { max(absolute - $0 + 1, 0) } ?? 0
        if let segmentStarts { lower = max(lower, segmentStarts[b * queryLength + i]) }
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
    /// backward pass reads them); otherwise one `[Tq, Tk]` scratch per task holds each head's scores.
    ///
    /// The (sequence, head) pairs run in parallel: each writes only its own `[Tq, hd]` block of
    /// `output` (and of `probabilities`) with the same calls as one after another, so the bytes
    /// do not depend on the number of threads.
    static func forward(q: StridedMatrix, k: StridedMatrix, v: StridedMatrix, keyMask: [Bool], geometry g: AttentionGeometry,
                        into output: inout Matrix<Float>, probabilities: inout [Float]?) {
        let tq = g.queryLength, tk = g.keyLength, hd = g.headDim
        precondition(keyMask.count == g.batch * g.keyStride && tk <= g.keyStride)
        precondition(g.segmentStarts.map { $0.count == g.batch * tq && g.keyStride == tk } ?? true,
                     "attention: segment starts need one entry per query and no KV cache")
        output.reshape(rows: g.batch * tq, cols: g.queryWidth)
        let keep = probabilities != nil
        if keep && probabilities!.count != g.batch * g.heads * tq * tk {
            probabilities = [Float](repeating: 0, count: g.batch * g.heads * tq * tk)
        }
        let pairs = g.batch * g.heads
        guard pairs > 0, tq > 0, hd > 0 else { return }
        guard tk > 0 else {
            // No key at all: every query outputs zeros (and has zero weights).
            for i in output.elements.indices { output.elements[i] = 0 }
            return
        }
        // Every element the pairs read: q rows of all sequences, k and v rows up to the last
        // sequence's tk-th key, each hd wide at head offsets inside the row.
        Self.checkExtent("q", q, rows: g.batch * tq, width: g.queryWidth)
        Self.checkExtent("k", k, rows: (g.batch - 1) * g.keyStride + tk, width: g.keyWidth)
        Self.checkExtent("v", v, rows: (g.batch - 1) * g.keyStride + tk, width: g.keyWidth)
        var kept: [Float] = []
        if keep { swap(&kept, &probabilities!) }
        defer { if keep { swap(&kept, &probabilities!) } }
        // Pairs per task: enough multiply-adds to be worth a hand-off.
        let chunk = max(1, (1 << 17) / max(1, tq * tk * hd))
        q.array.withUnsafeBufferPointer { qp in
            k.array.withUnsafeBufferPointer { kp in
                v.array.withUnsafeBufferPointer { vp in
                    keyMask.withUnsafeBufferPointer { mask in
                        output.elements.withUnsafeMutableBufferPointer { op in
                            kept.withUnsafeMutableBufferPointer { pp in
                                nonisolated(unsafe) let (qBase, kBase, vBase, out, probs) =
                                    (qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, op.baseAddress!, pp.baseAddress)
                                nonisolated(unsafe) let maskBuffer = mask
                                Parallel.forEachChunk(pairs, chunk: chunk) { _, range in
                                    var scratch = [Float](repeating: 0, count: keep ? 0 : tq * tk)
                                    scratch.withUnsafeMutableBufferPointer { sp in
                                        for pair in range {
                                            let b = pair / g.heads, h = pair % g.heads
                                            let kvh = h / g.headsPerKeyValueHead
                                            let scores = keep ? probs! + pair * tq * tk : sp.baseAddress!
                                            // S = scale·Q·Kᵀ [Tq, Tk]
                                            PointerBLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: g.scale,
                                                             a: qBase + q.offset + b * tq * q.ld + h * hd, lda: q.ld,
                                                             b: kBase + k.offset + b * g.keyStride * k.ld + kvh * hd, ldb: k.ld,
                                                             beta: 0, c: scores, ldc: tk)
                                            maskedSoftmax(scores, batchRow: b, keyMask: maskBuffer, geometry: g)
                                            // O = P·V [Tq, hd], into the head's columns
                                            PointerBLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: 1,
                                                             a: scores, lda: tk,
                                                             b: vBase + v.offset + b * g.keyStride * v.ld + kvh * hd, ldb: v.ld,
                                                             beta: 0, c: out + b * tq * g.queryWidth + h * hd, ldc: g.queryWidth)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Traps unless `rows` rows of `width` columns from `m.offset` (leading dimension `m.ld`) lie
    /// inside `m.array`.
    private static func checkExtent(_ name: String, _ m: StridedMatrix, rows: Int, width: Int) {
        precondition(m.offset >= 0 && width <= m.ld && (rows == 0 || m.offset + (rows - 1) * m.ld + width <= m.array.count),
                     "attention: \(name) holds \(m.array.count) values, too few for \(rows) rows of \(width) at offset \(m.offset), stride \(m.ld)")
    }

    /// Row-wise softmax of the `[Tq, Tk]` scores at `scores[base...]` over the visible keys;
    /// invisible keys get 0.
    ///
    /// Row i sees keys in `visibleKeys(query: i, row: b)` whose mask is true; the exponentials run 16
    /// lanes at a time (`VectorMath`).
    private static func maskedSoftmax(_ scores: UnsafeMutablePointer<Float>, batchRow b: Int, keyMask mask: UnsafeBufferPointer<Bool>,
                                      geometry g: AttentionGeometry) {
        let tq = g.queryLength, tk = g.keyLength
        let maskBase = b * g.keyStride
        let padded = mask[maskBase..<(maskBase + tk)].contains(false)
        for i in 0..<tq {
            let row = scores + i * tk
            let keys = g.visibleKeys(query: i, row: b)
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
        precondition(dOutput.elements.count >= g.batch * tq * g.queryWidth && dOutput.cols == g.queryWidth)
        if dqkv.count != qkv.count { dqkv = [Float](repeating: 0, count: qkv.count) }
        // Tasks are (sequence, key/value head) groups: the group's query heads run in order, the
        // first writing dk, dv and the later ones adding to them, as one after another would;
        // groups write disjoint columns, so the bytes do not depend on the number of threads.
        let groups = g.batch * g.keyValueHeads
        guard groups > 0, tq > 0, hd > 0 else { return }
        let chunk = max(1, (1 << 17) / max(1, g.headsPerKeyValueHead * tq * tk * hd))
        dOutput.elements.withUnsafeBufferPointer { dop in
            qkv.withUnsafeBufferPointer { xp in
                probabilities.withUnsafeBufferPointer { pp in
                    dqkv.withUnsafeMutableBufferPointer { dxp in
                        nonisolated(unsafe) let (dO, x, p, dx) = (dop.baseAddress!, xp.baseAddress!, pp.baseAddress!, dxp.baseAddress!)
                        Parallel.forEachChunk(groups, chunk: chunk) { _, range in
                            var scratch = [Float](repeating: 0, count: tq * tk)
                            scratch.withUnsafeMutableBufferPointer { sp in
                                let dp = sp.baseAddress!
                                for group in range {
                                    let b = group / g.keyValueHeads, kvh = group % g.keyValueHeads
                                    for j in 0..<g.headsPerKeyValueHead {
                                        let h = kvh * g.headsPerKeyValueHead + j
                                        let beta: Float = j == 0 ? 0 : 1
                                        let rowBase = b * tq * ld
                                        let qOffset = rowBase + h * hd
                                        let kOffset = rowBase + g.keyColumn + kvh * hd
                                        let vOffset = rowBase + g.valueColumn + kvh * hd
                                        let dOffset = b * tq * g.queryWidth + h * hd
                                        let pRow0 = p + (b * g.heads + h) * tq * tk
                                        // dV_bh[Tk, hd] (+)= Pᵀ · dO_bh
                                        PointerBLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: 1,
                                                         a: pRow0, lda: tk, b: dO + dOffset, ldb: g.queryWidth,
                                                         beta: beta, c: dx + vOffset, ldc: ld)
                                        // dP[Tq, Tk] = dO_bh · V_bhᵀ
                                        PointerBLAS.gemm(transA: false, transB: true, m: tq, n: tk, k: hd, alpha: 1,
                                                         a: dO + dOffset, lda: g.queryWidth, b: x + vOffset, ldb: ld,
                                                         beta: 0, c: dp, ldc: tk)
                                        // dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place in dp
                                        for i in 0..<tq {
                                            let dRow = dp + i * tk, pRow = pRow0 + i * tk
                                            let dot = VectorMath.dot(dRow, pRow, count: tk)
                                            var c = 0
                                            while c < tk {
                                                let pc = VectorMath.load(pRow, c, tk)
                                                VectorMath.store(pc * (VectorMath.load(dRow, c, tk) - dot), dRow, c, tk)
                                                c += VectorMath.lanes
                                            }
                                        }
                                        // dQ_bh[Tq, hd] = scale · dS · K_bh
                                        PointerBLAS.gemm(transA: false, transB: false, m: tq, n: hd, k: tk, alpha: g.scale,
                                                         a: dp, lda: tk, b: x + kOffset, ldb: ld,
                                                         beta: 0, c: dx + qOffset, ldc: ld)
                                        // dK_bh[Tk, hd] (+)= scale · dSᵀ · Q_bh
                                        PointerBLAS.gemm(transA: true, transB: false, m: tk, n: hd, k: tq, alpha: g.scale,
                                                         a: dp, lda: tk, b: x + qOffset, ldb: ld,
                                                         beta: beta, c: dx + kOffset, ldc: ld)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
