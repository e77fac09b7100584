// General linear systems by LU factorisation with partial pivoting (LAPACK getrf/getrs).
//
// Layout: a row-major A is, read column-major, Aᵀ. LAPACK factors that Aᵀ and getrs then solves
// with trans = 'T', i.e. (Aᵀ)ᵀ·X = A·X = B, so A is never transposed in memory; only B and X
// (n × nrhs) are.

/// Solves A·X = B for X by LU factorisation with partial pivoting. A need not be symmetric.
///
/// After factorising, the reciprocal condition number of A is estimated (gecon, O(n²), beside
/// the right-hand sides' solves); a matrix singular to working precision is reported rather than
/// solved.
/// - Parameters:
///   - a: `n × n` (consumed: its storage holds the factors, so pass its last use to save a copy).
///   - b: `n × nrhs` right-hand sides (one per column).
/// - Returns: X, `n × nrhs`.
/// - Throws: ``LinalgError/notSquare(operation:shape:)``,
///   ``LinalgError/shapeMismatch(operation:lhs:rhs:)``,
///   ``LinalgError/nonFiniteInput(operation:)``,
///   ``LinalgError/singularMatrix(operation:pivot:)`` (an exactly zero pivot),
///   ``LinalgError/illConditioned(operation:reciprocalCondition:)`` (rcond below machine epsilon).
/// - Complexity: O(n³ + n²·nrhs) (about (2/3)n³ + 2n²·nrhs flops; the n²·nrhs part threaded
///   over column blocks of B).
public func solve<S: LinalgScalar>(_ a: consuming Matrix<S>, _ b: Matrix<S>) throws(LinalgError) -> Matrix<S> {
    let operation = "solve"
    guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
    guard b.rows == a.rows else { throw .shapeMismatch(operation: operation, lhs: a.shape, rhs: b.shape) }
    guard a.isFinite, b.isFinite else { throw .nonFiniteInput(operation: operation) }
    let n = a.rows
    let nrhs = b.cols
    if n == 0 || nrhs == 0 { return Matrix(rows: n, cols: nrhs) }

    var lu = a.elements                         // A's storage becomes the factors' (no copy when
    a = Matrix(rows: 0, cols: 0)                // the caller passes its last use of A)
    var pivots = [Int32](repeating: 0, count: n)
    let norm = try factorLU(n: n, lu: &lu, pivots: &pivots, operation: operation)

    var solution = b.transposed().elements      // column-major n × nrhs
    // The right-hand sides in column blocks of a size fixed by the shape, one single-threaded
    // getrs each, spread over Linalg's threads beside the condition estimate (one thread): all
    // only read the factors. A matrix the estimate rejects is reported, whatever getrs gave.
    let block = rightHandSideBlock(n: n, nrhs: nrhs)
    let blocks = (nrhs + block - 1) / block
    let failure = LockedValue<Int32>(0)
    let condition = LockedValue(ConditionEstimate())
    lu.withUnsafeBufferPointer { lup in
        pivots.withUnsafeBufferPointer { pp in
            solution.withUnsafeMutableBufferPointer { bp in
                nonisolated(unsafe) let (luBase, pivotBase, bBase) = (lup.baseAddress!, pp.baseAddress!, bp.baseAddress!)
                let task = { (task: Int) in          // 0: the estimate; 1…blocks: a block of columns
                    guard task > 0 else {
                        condition.withLock { $0.estimate(n: n, lu: luBase, oneNorm: norm) }
                        return
                    }
                    let columns = ((task - 1) * block)..<min(nrhs, task * block)
                    let info = LAPACKKernel.getrs(transpose: true, n: n, nrhs: columns.count, lu: luBase,
                                                  ipiv: pivotBase, b: bBase + columns.lowerBound * n)
                    if info != 0 { failure.withLock { if $0 == 0 { $0 = info } } }
                }
                if n >= 256 {
                    Linalg.forEachBlock(blocks + 1, block: 1) { t, _ in task(t) }
                } else {
                    for t in 0...blocks { task(t) }
                }
            }
        }
    }
    try condition.withLock { $0 }.check(S.self, operation: operation)
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
    let norm = try factorLU(n: n, lu: &lu, pivots: &pivots, operation: operation)
    var condition = ConditionEstimate()
    lu.withUnsafeBufferPointer { condition.estimate(n: n, lu: $0.baseAddress!, oneNorm: norm) }
    try condition.check(S.self, operation: operation)
    let info = lu.withUnsafeMutableBufferPointer { lup in
        pivots.withUnsafeBufferPointer { pp in
            LAPACKKernel.getri(n: n, lu: lup.baseAddress!, ipiv: pp.baseAddress!)
        }
    }
    if info < 0 { throw lapackFailure(info, routine: "\(operation) (getri)") }
    if info > 0 { throw .singularMatrix(operation: operation, pivot: Int(info) - 1) }
    return Matrix(rows: n, cols: n, elements: lu)
}

/// Factors the column-major n×n `lu` in place (getrf) and rejects exactly singular matrices.
/// - Returns: the 1-norm of the matrix before factoring (for ``ConditionEstimate``).
private func factorLU<S: LinalgScalar>(
    n: Int, lu: inout [S], pivots: inout [Int32], operation: String
) throws(LinalgError) -> Double {
    let (info, norm) = lu.withUnsafeMutableBufferPointer { lup in
        pivots.withUnsafeMutableBufferPointer { pp in
            let norm = LAPACKKernel.oneNorm(n: n, a: lup.baseAddress!)
            return (LAPACKKernel.getrf(n: n, a: lup.baseAddress!, ipiv: pp.baseAddress!), norm)
        }
    }
    if info < 0 { throw lapackFailure(info, routine: "\(operation) (getrf)") }
    if info > 0 { throw .singularMatrix(operation: operation, pivot: Int(info) - 1) }
    return norm
}

/// The reciprocal condition number of a matrix from its getrf factors (gecon, one thread), and
/// the rejection of a matrix singular to working precision.
private struct ConditionEstimate {
    private var info: Int32 = 0
    private var rcond = 0.0

    mutating func estimate<S: LinalgScalar>(n: Int, lu: UnsafePointer<S>, oneNorm: Double) {
        info = LAPACKKernel.gecon(n: n, lu: lu, oneNorm: oneNorm, rcond: &rcond)
    }

    func check<S: LinalgScalar>(_: S.Type, operation: String) throws(LinalgError) {
        if info < 0 { throw lapackFailure(info, routine: "\(operation) (gecon)") }
        if !(rcond >= Double(S.ulpOfOne)) {
            throw .illConditioned(operation: operation, reciprocalCondition: rcond)
        }
    }
}
