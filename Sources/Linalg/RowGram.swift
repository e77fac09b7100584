// V·Vᵀ, the Gram matrix of the rows of V: the projector's last product (P = U0·U0ᵀ or
// I − U1·U1ᵀ), in the precision of V or rounded to Float as it is made.

/// V·Vᵀ, the Gram matrix of the rows of V, exactly symmetric (`c[i, j] == c[j, i]` bit for bit).
///
/// The upper triangle is computed in row blocks (one single-threaded BLAS gemm per block, block
/// sizes fixed by the shape, spread over ``Linalg/threadCount`` threads) and mirrored.
/// - Parameter v: `n × k`.
/// - Returns: `n × n`.
/// - Complexity: about n²·k multiply-adds (the triangle and the diagonal blocks).
public func rowGram<S: LinalgScalar>(of v: Matrix<S>) -> Matrix<S> {
    let n = v.rows, k = v.cols
    var c = Matrix<S>(rows: n, cols: n)
    if n == 0 || k == 0 { return c }
    v.elements.withUnsafeBufferPointer { vp in
        c.elements.withUnsafeMutableBufferPointer { cp in
            nonisolated(unsafe) let (vBase, cBase) = (vp.baseAddress!, cp.baseAddress!)
            Linalg.forEachBlock(n, block: rowGramBlock(n: n, k: k)) { _, rows in
                // C[rows, rows.lowerBound...] = V[rows]·V[rows.lowerBound...]ᵀ (the square
                // diagonal block included; its lower part is overwritten by the mirror).
                let start = rows.lowerBound
                BLASKernel.gemmCall(transA: false, transB: true, m: rows.count, n: n - start, k: k, alpha: 1,
                                    a: vBase + start * k, lda: k, b: vBase + start * k, ldb: k,
                                    beta: 0, c: cBase + start * n + start, ldc: n)
            }
            mirrorUpperToLower(n: n, cBase)
        }
    }
    return c
}

/// `Matrix<Float>(rowGram(of: v))`, or with `complement` `Matrix<Float>(I − rowGram(of: v))`,
/// bit for bit, without the `n × n` Double: each row block's products (the same gemm calls as
/// ``rowGram(of:)``) go to a Double panel of that block's rows and are rounded from there.
/// For n = 4096 this holds 64 MiB of Float and a 4 MiB panel per thread instead of 128 MiB of
/// Double beside the result.
/// - Parameter v: `n × k`.
/// - Returns: `n × n`, exactly symmetric.
public func rowGramRounded(of v: Matrix<Double>, complement: Bool = false) -> Matrix<Float> {
    let n = v.rows, k = v.cols
    if n == 0 || k == 0 { return complement ? .identity(n) : Matrix<Float>(rows: n, cols: n) }
    var c = Matrix<Float>(rows: n, cols: n)
    v.elements.withUnsafeBufferPointer { vp in
        c.elements.withUnsafeMutableBufferPointer { cp in
            nonisolated(unsafe) let (vBase, cBase) = (vp.baseAddress!, cp.baseAddress!)
            Linalg.forEachBlock(n, block: rowGramBlock(n: n, k: k)) { _, rows in
                // panel = V[rows]·V[rows.lowerBound...]ᵀ: rows.count × width, row-major.
                let start = rows.lowerBound, width = n - start
                var panel = [Double](repeating: 0, count: rows.count * width)
                panel.withUnsafeMutableBufferPointer { pp in
                    BLASKernel.gemmCall(transA: false, transB: true, m: rows.count, n: width, k: k, alpha: 1,
                                        a: vBase + start * k, lda: k, b: vBase + start * k, ldb: k,
                                        beta: 0, c: pp.baseAddress!, ldc: width)
                    // The upper triangle (the mirror fills the rest); the complement as rowGram's
                    // callers form it in Double: −x, and 1 + (−x) on the diagonal.
                    for (r, i) in rows.enumerated() {
                        let from = r * width - start, to = i * n   // panel[r, j − start], c[i, j] at from + j, to + j
                        if complement {
                            cBase[to + i] = Float(1 + -pp[from + i])
                            for j in (i + 1)..<n { cBase[to + j] = Float(-pp[from + j]) }
                        } else {
                            for j in i..<n { cBase[to + j] = Float(pp[from + j]) }
                        }
                    }
                }
            }
            mirrorUpperToLower(n: n, cBase)
        }
    }
    return c
}

/// Rows per block of ``rowGram(of:)`` and ``rowGramRounded(of:complement:)``: all of them for
/// small products, else about n/32 (a multiple of 16, at least 64). Fixed by the shape, so the
/// bytes do not depend on the thread count.
func rowGramBlock(n: Int, k: Int) -> Int {
    let work = n.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: k).partialValue
    return (work >= ProductSplit.minimumWork && n >= 256) ? max(64, ((n + 31) / 32 + 15) / 16 * 16) : n
}
