// Eigendecomposition of real symmetric matrices by LAPACK dsyevd (divide and conquer), always
// in Double. (LAPACKE_ssyevd is avoided on purpose: its workspace query returns the size as a
// Float, which cannot represent 1 + 6n + 2n² exactly once n >= 4096, and the call then fails.
// Here the Double query result is read directly and checked against LAPACK's documented
// minimum.)

/// The eigenvalues and eigenvectors of a real symmetric matrix, computed in `Double`.
///
/// `a` is read through its upper triangle (`i <= j`); the lower triangle is assumed to mirror
/// it. A `Float` matrix is widened to `Double` first.
/// - Parameter a: `n × n`, symmetric.
/// - Returns: `values`, the n eigenvalues in ascending order, and `vectors`, `n × n` with
///   orthonormal columns: column j is the eigenvector of `values[j]`, so
///   `a · vectors == vectors · diag(values)` up to rounding. (Each column's sign is arbitrary.)
/// - Throws: ``LinalgError/notSquare(operation:shape:)``,
///   ``LinalgError/nonFiniteInput(operation:)``, ``LinalgError/eigenDidNotConverge(info:)``,
///   ``LinalgError/problemTooLarge(routine:detail:)`` (n beyond about 32 000).
/// - Complexity: O(n³), about 9n³ flops; memory about 4n² doubles (copy, workspace, result).
public func symmetricEigen<S: LinalgScalar>(
    _ a: Matrix<S>
) throws(LinalgError) -> (values: [Double], vectors: Matrix<Double>) {
    let n = try checkedEigenInput(a, operation: "symmetricEigen")
    if n == 0 { return ([], Matrix<Double>(rows: 0, cols: 0)) }
    var storage = Matrix<Double>(a).elements
    let values = try runDSYEVD(vectors: true, n: n, storage: &storage)
    // dsyevd left eigenvector j in column j of a column-major array, i.e. contiguous at
    // storage[j*n ..< (j+1)*n]: read row-major, that is Vᵀ. Transpose to get V.
    let transposedVectors = Matrix<Double>(rows: n, cols: n, elements: storage)
    return (values, transposedVectors.transposed())
}

/// The eigenvalues of a real symmetric matrix, ascending, computed in `Double` (no vectors:
/// cheaper than ``symmetricEigen(_:)``).
/// - Parameter a: `n × n`, symmetric (upper triangle read).
/// - Returns: n eigenvalues in ascending order.
/// - Throws: as ``symmetricEigen(_:)``.
/// - Complexity: O(n³), about (4/3)n³ flops.
public func symmetricEigenvalues<S: LinalgScalar>(_ a: Matrix<S>) throws(LinalgError) -> [Double] {
    let n = try checkedEigenInput(a, operation: "symmetricEigenvalues")
    if n == 0 { return [] }
    var storage = Matrix<Double>(a).elements
    return try runDSYEVD(vectors: false, n: n, storage: &storage)
}

private func checkedEigenInput<S: LinalgScalar>(_ a: Matrix<S>, operation: String) throws(LinalgError) -> Int {
    guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
    guard a.isFinite else { throw .nonFiniteInput(operation: operation) }
    return a.rows
}

/// Runs dsyevd on the n×n `storage` (symmetric, so row- and column-major agree), querying the
/// workspace first. Returns the ascending eigenvalues; with `vectors`, `storage` then holds
/// the eigenvectors column-major.
private func runDSYEVD(vectors: Bool, n: Int, storage: inout [Double]) throws(LinalgError) -> [Double] {
    let routine = "symmetricEigen (dsyevd, n = \(n))"
    var values = [Double](repeating: 0, count: n)

    // Workspace query: lwork = liwork = -1; LAPACK writes the optimal sizes to work[0] (a
    // Double, exact for any realistic size) and iwork[0].
    var queriedWork = [Double](repeating: 0, count: 1)
    var queriedIWork = [Int32](repeating: 0, count: 1)
    let queryInfo = storage.withUnsafeMutableBufferPointer { ap in
        values.withUnsafeMutableBufferPointer { wp in
            queriedWork.withUnsafeMutableBufferPointer { work in
                queriedIWork.withUnsafeMutableBufferPointer { iwork in
                    LAPACKKernel.dsyevd(vectors: vectors, n: n, a: ap.baseAddress!, w: wp.baseAddress!,
                                        work: work.baseAddress!, lwork: -1, iwork: iwork.baseAddress!, liwork: -1)
                }
            }
        }
    }
    if queryInfo < 0 { throw lapackFailure(queryInfo, routine: routine) }

    // LAPACK's documented minimums (dsyevd): with vectors lwork >= 1 + 6n + 2n², liwork >= 3 + 5n;
    // values only lwork >= 2n + 1, liwork >= 1. Never go below them, whatever the query says.
    let minimumWork = vectors ? 1 + 6 * n + 2 * n * n : 2 * n + 1
    let minimumIWork = vectors ? 3 + 5 * n : 1
    let queried = queriedWork[0]
    var queriedCount = queried.isFinite && queried > 0 && queried < 1e18 ? Int(queried) : 0
    if Double(queriedCount) < queried { queriedCount += 1 }     // round up, without libm
    let lwork = max(minimumWork, queriedCount)
    let liwork = max(minimumIWork, Int(queriedIWork[0]))
    guard lwork <= Int(Int32.max), liwork <= Int(Int32.max) else {
        throw .problemTooLarge(routine: routine, detail: "workspace of \(lwork) doubles exceeds 2³¹ − 1")
    }

    var work = [Double](repeating: 0, count: lwork)
    var iwork = [Int32](repeating: 0, count: liwork)
    // OpenBLAS runs it on one thread (Threads.swift): the result is a function of the matrix
    // alone, the same bytes from any process, worker or `--threads`.
    let info = storage.withUnsafeMutableBufferPointer { ap in
        values.withUnsafeMutableBufferPointer { wp in
            work.withUnsafeMutableBufferPointer { workp in
                iwork.withUnsafeMutableBufferPointer { iworkp in
                    LAPACKKernel.dsyevd(vectors: vectors, n: n, a: ap.baseAddress!, w: wp.baseAddress!,
                                        work: workp.baseAddress!, lwork: lwork,
                                        iwork: iworkp.baseAddress!, liwork: liwork)
                }
            }
        }
    }
    if info < 0 { throw lapackFailure(info, routine: routine) }
    if info > 0 { throw .eigenDidNotConverge(info: Int(info)) }
    return values
}
