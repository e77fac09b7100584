// Symmetric positive definite systems by Cholesky factorisation (LAPACK potrf/potrs).
//
// Layout: the row-major upper triangle of A is, read column-major, the lower triangle of the
// same symmetric matrix; LAPACK factors that lower triangle (uplo = 'L') in place.

/// Solves A·X = B for a symmetric positive definite A by Cholesky factorisation.
///
/// Only the upper triangle of `a` (`i <= j`) is read. Twice as fast as ``solve(_:_:)`` and
/// needs no pivoting; use it for Gram matrices with a ridge term (KKᵀ + λI).
/// - Parameters:
///   - a: `n × n`, symmetric positive definite.
///   - b: `n × nrhs` right-hand sides (one per column).
/// - Returns: X, `n × nrhs`.
/// - Throws: ``LinalgError/notSquare(operation:shape:)``,
///   ``LinalgError/shapeMismatch(operation:lhs:rhs:)``,
///   ``LinalgError/nonFiniteInput(operation:)``,
///   ``LinalgError/notPositiveDefinite(operation:minor:)``.
/// - Complexity: O(n³ + n²·nrhs) (about (1/3)n³ + 2n²·nrhs flops).
public func choleskySolve<S: LinalgScalar>(_ a: Matrix<S>, _ b: Matrix<S>) throws(LinalgError) -> Matrix<S> {
    let operation = "choleskySolve"
    guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
    guard b.rows == a.rows else { throw .shapeMismatch(operation: operation, lhs: a.shape, rhs: b.shape) }
    guard a.isFinite, b.isFinite else { throw .nonFiniteInput(operation: operation) }
    let n = a.rows
    let nrhs = b.cols
    if n == 0 || nrhs == 0 { return Matrix(rows: n, cols: nrhs) }

    var factor = a.elements
    let info = factor.withUnsafeMutableBufferPointer { fp in
        LAPACKKernel.potrf(n: n, a: fp.baseAddress!)
    }
    if info < 0 { throw lapackFailure(info, routine: "\(operation) (potrf)") }
    if info > 0 { throw .notPositiveDefinite(operation: operation, minor: Int(info)) }

    var solution = b.transposed().elements      // column-major n × nrhs
    let solveInfo = factor.withUnsafeBufferPointer { fp in
        solution.withUnsafeMutableBufferPointer { bp in
            LAPACKKernel.potrs(n: n, nrhs: nrhs, factor: fp.baseAddress!, b: bp.baseAddress!)
        }
    }
    if solveInfo != 0 { throw lapackFailure(solveInfo, routine: "\(operation) (potrs)") }
    return Matrix(rows: nrhs, cols: n, elements: solution).transposed()
}
