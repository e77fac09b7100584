// General linear systems by LU factorisation with partial pivoting (LAPACK getrf/getrs).
//
// Layout: a row-major A is, read column-major, Aᵀ. LAPACK factors that Aᵀ and getrs then solves
// with trans = 'T', i.e. (Aᵀ)ᵀ·X = A·X = B, so A is never transposed in memory; only B and X
// (n × nrhs) are.

/// Solves A·X = B for X by LU factorisation with partial pivoting. A need not be symmetric.
///
/// After factorising, the reciprocal condition number of A is estimated (getcon, O(n²)); a
/// matrix singular to working precision is reported rather than solved.
/// - Parameters:
///   - a: `n × n`.
///   - b: `n × nrhs` right-hand sides (one per column).
/// - Returns: X, `n × nrhs`.
/// - Throws: ``LinalgError/notSquare(operation:shape:)``,
///   ``LinalgError/shapeMismatch(operation:lhs:rhs:)``,
///   ``LinalgError/nonFiniteInput(operation:)``,
///   ``LinalgError/singularMatrix(operation:pivot:)`` (an exactly zero pivot),
///   ``LinalgError/illConditioned(operation:reciprocalCondition:)`` (rcond below machine epsilon).
/// - Complexity: O(n³ + n²·nrhs) (about (2/3)n³ + 2n²·nrhs flops; the n²·nrhs part threaded
///   over column blocks of B).
public func solve<S: LinalgScalar>(_ a: Matrix<S>, _ b: Matrix<S>) throws(LinalgError) -> Matrix<S> {
    let operation = "solve"
    guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
    guard b.rows == a.rows else { throw .shapeMismatch(operation: operation, lhs: a.shape, rhs: b.shape) }
    guard a.isFinite, b.isFinite else { throw .nonFiniteInput(operation: operation) }
    let n = a.rows
    let nrhs = b.cols
    if n == 0 || nrhs == 0 { return Matrix(rows: n, cols: nrhs) }

    var lu = a.elements
    var pivots = [Int32](repeating: 0, count: n)
    try factorLU(n: n, lu: &lu, pivots: &pivots, operation: operation)

    var solution = b.transposed().elements      // column-major n × nrhs
    // The right-hand sides in column blocks of a size fixed by the shape, one single-threaded
    // getrs each (the factors are only read), spread over Linalg's threads.
    let block = rightHandSideBlock(n: n, nrhs: nrhs)
    let failure = LockedValue<Int32>(0)
    lu.withUnsafeBufferPointer { lup in
        pivots.withUnsafeBufferPointer { pp in
            solution.withUnsafeMutableBufferPointer { bp in
                nonisolated(unsafe) let (luBase, pivotBase, bBase) = (lup.baseAddress!, pp.baseAddress!, bp.baseAddress!)
                Linalg.forEachBlock(nrhs, block: block) { _, columns in
                    let info = LAPACKKernel.getrs(transpose: true, n: n, nrhs: columns.count, lu: luBase,
                                                  ipiv: pivotBase, b: bBase + columns.lowerBound * n)
                    if info != 0 { failure.withLock { if $0 == 0 { $0 = info } } }
                }
            }
        }
    }
    let info = failure.withLock { $0 }
    if info != 0 { throw lapackFailure(info, routine: "\(operation) (getrs)") }
    return Matrix(rows: nrhs, cols: n, elements: solution).transposed()
}

/// Right-hand sides per getrs call: all of them for small systems, else blocks of at least 64
/// columns, at most 16 blocks. A function of the shape alone, so the bytes of the solution never
/// depend on the thread count.
func rightHandSideBlock(n: Int, nrhs: Int) -> Int {
    guard n >= 256, nrhs >= 128 else { return max(nrhs, 1) }
    let wanted = (nrhs + 15) / 16
    return max(64, (wanted + 31) / 32 * 32)
}

/// The inverse A⁻¹ by LU factorisation (getrf/getri). Prefer ``solve(_:_:)`` when the inverse
/// is only multiplied by something: it is cheaper and more accurate.
/// - Parameter a: `n × n`.
/// - Returns: `n × n`.
/// - Throws: as ``solve(_:_:)``.
/// - Complexity: O(n³) (about 2n³ flops).
public func inverse<S: LinalgScalar>(_ a: Matrix<S>) throws(LinalgError) -> Matrix<S> {
    let operation = "inverse"
    guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
    guard a.isFinite else { throw .nonFiniteInput(operation: operation) }
    let n = a.rows
    if n == 0 { return a }

    // Column-major, the buffer is Aᵀ; getri turns it into (Aᵀ)⁻¹ = (A⁻¹)ᵀ, which read
    // row-major is A⁻¹.
    var lu = a.elements
    var pivots = [Int32](repeating: 0, count: n)
    try factorLU(n: n, lu: &lu, pivots: &pivots, operation: operation)
    let info = lu.withUnsafeMutableBufferPointer { lup in
        pivots.withUnsafeBufferPointer { pp in
            LAPACKKernel.getri(n: n, lu: lup.baseAddress!, ipiv: pp.baseAddress!)
        }
    }
    if info < 0 { throw lapackFailure(info, routine: "\(operation) (getri)") }
    if info > 0 { throw .singularMatrix(operation: operation, pivot: Int(info) - 1) }
    return Matrix(rows: n, cols: n, elements: lu)
}

/// Factors the column-major n×n `lu` in place (getrf) and rejects singular or numerically
/// singular matrices.
private func factorLU<S: LinalgScalar>(
    n: Int, lu: inout [S], pivots: inout [Int32], operation: String
) throws(LinalgError) {
    let (info, norm) = lu.withUnsafeMutableBufferPointer { lup in
        pivots.withUnsafeMutableBufferPointer { pp in
            let norm = LAPACKKernel.oneNorm(n: n, a: lup.baseAddress!)
            return (LAPACKKernel.getrf(n: n, a: lup.baseAddress!, ipiv: pp.baseAddress!), norm)
        }
    }
    if info < 0 { throw lapackFailure(info, routine: "\(operation) (getrf)") }
    if info > 0 { throw .singularMatrix(operation: operation, pivot: Int(info) - 1) }

    var rcond = 0.0
    let conInfo = lu.withUnsafeBufferPointer { lup in
        LAPACKKernel.gecon(n: n, lu: lup.baseAddress!, oneNorm: norm, rcond: &rcond)
    }
    if conInfo < 0 { throw lapackFailure(conInfo, routine: "\(operation) (gecon)") }
    if !(rcond >= Double(S.ulpOfOne)) {
        throw .illConditioned(operation: operation, reciprocalCondition: rcond)
    }
}
