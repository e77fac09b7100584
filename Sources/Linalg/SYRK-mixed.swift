// Gram accumulation of Float samples into a Double accumulator: the statistics pass keeps its
// running second moment in float64 while the model runs in float32.
//
// Precision choice: the batch product XᵀX is computed in float32 (sgemm/ssyrk, at the
// machine's SGEMM rate), then converted and added to C in float64. The float32 rounding is
// confined to one batch (relative error about n·2⁻²⁴ for n samples, typically much less with
// blocked summation); the float64 accumulation makes sure that error does not grow with the
// number of batches, which is what dominates a pass over millions of tokens. The alternative,
// widening X to Double and calling dsyrk, is about 2× slower and needs a Double copy of X.

/// The tile of C (`tile × tile` floats of scratch per thread) computed per BLAS call.
let mixedGramTile = 256

/// C += alpha·XᵀX with X in `Float` and C in `Double`, keeping C exactly symmetric.
///
/// XᵀX is computed tile by tile in float32 (ssyrk on diagonal tiles, sgemm off the diagonal,
/// upper triangle only), and each tile is added to C in float64; then the upper triangle is
/// copied onto the lower one. The tiles are fixed by d alone and run on `Linalg.threadCount`
/// threads, each tile one single-threaded BLAS call, so the result does not depend on the
/// number of threads. Scratch memory is one 256×256 `Float` tile per tile in flight, not d×d.
/// - Parameters:
///   - x: `n × d` in `Float`, one sample per row.
///   - c: `d × d` in `Double`, symmetric on entry (only its upper triangle is read).
///   - alpha: scale applied in `Double` to the float32 XᵀX before adding.
///   - mirror: copy the upper triangle onto the lower one afterwards. A caller that adds many
///     batches can pass `false` and call `mirrorUpperTriangle()` once at the end (the lower
///     triangle is then stale in between; only the upper one is read and written here).
/// - Precondition: `c` is `d × d`.
/// - Complexity: O(n·d²) float32 flops (n·d² for the triangle) plus O(d²) float64 adds.
public func accumulateGram(of x: Matrix<Float>, into c: inout Matrix<Double>, alpha: Double = 1, mirror: Bool = true) {
    let d = x.cols
    precondition(c.rows == d && c.cols == d,
                 "accumulateGram: c is \(c.shape), but x is \(x.shape) so XᵀX is \(d)×\(d)")
    if d == 0 || x.rows == 0 { return }
    c.elements.withUnsafeMutableBufferPointer { cp in
        addGramTiles(of: x, alpha: alpha, into: cp.baseAddress!, packed: false)
        if mirror { mirrorUpperToLower(n: d, cp.baseAddress!) }
    }
}

/// ``accumulateGram(of:into:alpha:mirror:)`` into an upper triangle stored packed, row by row
/// over `i <= j` (the order of ``Matrix/packedUpper()``): d(d+1)/2 Doubles instead of d².
/// The same tiles, products and float64 additions, so every element of the upper triangle gets
/// the same bits as in the full matrix.
/// - Precondition: `c.count == d·(d+1)/2` for `d = x.cols`.
public func accumulateGram(of x: Matrix<Float>, intoPackedUpper c: inout [Double], alpha: Double = 1) {
    let d = x.cols
    precondition(c.count == d * (d + 1) / 2,
                 "accumulateGram: a packed upper triangle of \(c.count) values, but x is \(x.shape) so XᵀX needs \(d * (d + 1) / 2)")
    if d == 0 || x.rows == 0 { return }
    c.withUnsafeMutableBufferPointer { cp in
        addGramTiles(of: x, alpha: alpha, into: cp.baseAddress!, packed: true)
    }
}

/// Where element (r, j ≥ r) of a d × d upper triangle sits: row-major (r·d + j), or packed
/// (row r holds columns r..<d, after the d + (d − 1) + … + (d − r + 1) values of the rows above).
@inline(__always)
func upperTriangleOffset(row r: Int, column j: Int, d: Int, packed: Bool) -> Int {
    packed ? r * d - r * (r - 1) / 2 + (j - r) : r * d + j
}

/// Adds alpha·XᵀX's upper triangle to `c` (row-major d × d, or packed), tile by tile.
private func addGramTiles(of x: Matrix<Float>, alpha: Double, into c: UnsafeMutablePointer<Double>, packed: Bool) {
    let d = x.cols
    let n = x.rows
    let tile = min(mixedGramTile, d)
    // The upper triangle's tiles (row tile i0, column tile j0 ≥ i0), row by row.
    var tiles: [(i0: Int, j0: Int)] = []
    for i0 in stride(from: 0, to: d, by: tile) {
        for j0 in stride(from: i0, to: d, by: tile) { tiles.append((i0, j0)) }
    }
    x.elements.withUnsafeBufferPointer { xp in
        nonisolated(unsafe) let xBase = xp.baseAddress!
        nonisolated(unsafe) let cBase = c
        // Each tile writes only its own region of C.
        Linalg.forEachBlock(tiles.count, block: 1) { t, _ in
            let (i0, j0) = tiles[t]
            let bi = min(tile, d - i0), bj = min(tile, d - j0)
            var scratch = [Float](repeating: 0, count: bi * bj)
            scratch.withUnsafeMutableBufferPointer { gp in
                let g = gp.baseAddress!
                if i0 == j0 {
                    // Diagonal tile: upper triangle of X[:, i0..<i0+bi]ᵀ X[:, i0..<i0+bi].
                    BLASKernel.syrkUpper(trans: true, n: bi, k: n, alpha: 1, a: xBase + i0, lda: d,
                                         beta: 0, c: g, ldc: bi)
                } else {
                    // Right of the diagonal: X[:, i0..<i0+bi]ᵀ X[:, j0..<j0+bj].
                    BLASKernel.gemmCall(transA: true, transB: false, m: bi, n: bj, k: n,
                                        alpha: 1, a: xBase + i0, lda: d, b: xBase + j0, ldb: d,
                                        beta: 0, c: g, ldc: bj)
                }
                for i in 0..<bi {
                    // Row i0 + i of C from column j0 on (columns at or right of the diagonal only).
                    let cRow = cBase + upperTriangleOffset(row: i0 + i, column: j0, d: d, packed: packed)
                    let gRow = g + i * bj
                    for j in (i0 == j0 ? i : 0)..<bj {
                        cRow[j] += alpha * Double(gRow[j])
                    }
                }
            }
        }
    }
}
