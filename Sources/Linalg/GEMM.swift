// Matrix-matrix products on `Matrix` (BLAS level 3, row-major).

/// op(a)·op(b): the product of `a` (or aᵀ) and `b` (or bᵀ) as a new matrix.
///
/// With op(a) of shape m×k and op(b) of shape k×n, the result is m×n.
/// - Parameters:
///   - a: the left factor, `m × k` (or `k × m` when `transposeA`).
///   - b: the right factor, `k × n` (or `n × k` when `transposeB`).
///   - transposeA: use aᵀ in place of a (no copy is made).
///   - transposeB: use bᵀ in place of b (no copy is made).
/// - Returns: the `m × n` product.
/// - Precondition: the inner dimensions agree.
/// - Complexity: O(m·n·k) (2·m·n·k flops), multithreaded by OpenBLAS.
public func matmul<S: LinalgScalar>(
    _ a: Matrix<S>, _ b: Matrix<S>, transposeA: Bool = false, transposeB: Bool = false
) -> Matrix<S> {
    let (m, k) = transposeA ? (a.cols, a.rows) : (a.rows, a.cols)
    let (kb, n) = transposeB ? (b.cols, b.rows) : (b.rows, b.cols)
    precondition(k == kb, "matmul: inner dimensions differ: op(a) is \(m)×\(k), op(b) is \(kb)×\(n)\(transposeNote(transposeA, transposeB))")
    let count = m * n
    let product = [S](unsafeUninitializedCapacity: count) { buffer, initialized in
        if k == 0 {
            buffer.initialize(repeating: 0)
        } else if count > 0 {
            a.elements.withUnsafeBufferPointer { ap in
                b.elements.withUnsafeBufferPointer { bp in
                    BLASKernel.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                                    alpha: 1, a: ap.baseAddress!, lda: max(1, a.cols),
                                    b: bp.baseAddress!, ldb: max(1, b.cols),
                                    beta: 0, c: buffer.baseAddress!, ldc: max(1, n))
                }
            }
        }
        initialized = count
    }
    return Matrix(rows: m, cols: n, elements: product)
}

/// C = alpha·op(a)·op(b) + beta·C, in place (BLAS gemm).
///
/// With beta = 0 the old contents of `c` are not read (NaNs there do not propagate).
/// - Parameters:
///   - alpha: scale of the product.
///   - a: `m × k` (or `k × m` when `transposeA`).
///   - b: `k × n` (or `n × k` when `transposeB`).
///   - beta: scale of the old `c`.
///   - c: `m × n`, updated in place (not copied when uniquely referenced; if `c` shares its
///     storage with `a` or `b`, Swift copies it first and the result is still correct).
/// - Precondition: shapes agree.
/// - Complexity: O(m·n·k) (2·m·n·k flops).
public func gemm<S: LinalgScalar>(
    alpha: S = 1, a: Matrix<S>, transposeA: Bool = false,
    b: Matrix<S>, transposeB: Bool = false,
    beta: S = 0, into c: inout Matrix<S>
) {
    let (m, k) = transposeA ? (a.cols, a.rows) : (a.rows, a.cols)
    let (kb, n) = transposeB ? (b.cols, b.rows) : (b.rows, b.cols)
    precondition(k == kb, "gemm: inner dimensions differ: op(a) is \(m)×\(k), op(b) is \(kb)×\(n)\(transposeNote(transposeA, transposeB))")
    precondition(c.rows == m && c.cols == n, "gemm: c is \(c.shape), but op(a)·op(b) is \(m)×\(n)")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 {
            c.elements.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            c.scale(by: beta)
        }
        return
    }
    a.elements.withUnsafeBufferPointer { ap in
        b.elements.withUnsafeBufferPointer { bp in
            c.elements.withUnsafeMutableBufferPointer { cp in
                BLASKernel.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                                alpha: alpha, a: ap.baseAddress!, lda: max(1, a.cols),
                                b: bp.baseAddress!, ldb: max(1, b.cols),
                                beta: beta, c: cp.baseAddress!, ldc: n)
            }
        }
    }
}

func transposeNote(_ transposeA: Bool, _ transposeB: Bool) -> String {
    switch (transposeA, transposeB) {
    case (false, false): ""
    case (true, false): " (a transposed)"
    case (false, true): " (b transposed)"
    case (true, true): " (a and b transposed)"
    }
}
