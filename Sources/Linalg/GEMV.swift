// Matrix-vector products on `Matrix` (BLAS level 2, row-major).

/// op(a)·x as a new array.
/// - Parameters:
///   - a: `m × n`.
///   - x: `n` values (`m` when `transposeA`).
///   - transposeA: use aᵀ in place of a.
/// - Returns: `m` values (`n` when `transposeA`).
/// - Precondition: `x.count` matches op(a)'s column count.
/// - Complexity: O(m·n).
public func matvec<S: LinalgScalar>(_ a: Matrix<S>, _ x: [S], transposeA: Bool = false) -> [S] {
    var y = [S](repeating: 0, count: transposeA ? a.cols : a.rows)
    gemv(a: a, transposeA: transposeA, x: x, into: &y)
    return y
}

/// y = alpha·op(a)·x + beta·y, in place (BLAS gemv).
///
/// With beta = 0 the old contents of `y` are not read.
/// - Parameters:
///   - a: `m × n`.
///   - x: `n` values (`m` when `transposeA`).
///   - y: `m` values (`n` when `transposeA`), updated in place.
/// - Precondition: lengths match op(a).
/// - Complexity: O(m·n).
public func gemv<S: LinalgScalar>(
    alpha: S = 1, a: Matrix<S>, transposeA: Bool = false, x: [S],
    beta: S = 0, into y: inout [S]
) {
    let (inputCount, outputCount) = transposeA ? (a.rows, a.cols) : (a.cols, a.rows)
    precondition(x.count == inputCount,
                 "gemv: x has \(x.count) values, but op(a) is \(outputCount)×\(inputCount)\(transposeA ? " (a transposed)" : "")")
    precondition(y.count == outputCount,
                 "gemv: y has \(y.count) values, but op(a) is \(outputCount)×\(inputCount)\(transposeA ? " (a transposed)" : "")")
    if outputCount == 0 { return }
    if inputCount == 0 {
        y.withUnsafeMutableBufferPointer { yp in
            for i in 0..<yp.count { yp[i] = beta == 0 ? 0 : beta * yp[i] }
        }
        return
    }
    a.elements.withUnsafeBufferPointer { ap in
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                BLASKernel.gemv(transA: transposeA, m: a.rows, n: a.cols, alpha: alpha,
                                a: ap.baseAddress!, lda: a.cols, x: xp.baseAddress!, incx: 1,
                                beta: beta, y: yp.baseAddress!, incy: 1)
            }
        }
    }
}
