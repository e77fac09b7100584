// Every eigenvalue of a real symmetric matrix, but only the eigenvectors a caller asks for, in
// Double. The stages, each a LAPACK routine:
//
//   dsytrd   A = Q·T·Qᵀ, T tridiagonal                    (4/3)n³ flops, once
//   dsterf   all eigenvalues of T (= of A), ascending     O(n²)
//   dstemr   the chosen eigenvectors Z of T (MRRR)        O(n·k) for k vectors
//   dormtr   the eigenvectors of A: Q·Z                    2n²·k flops
//
// against dsyevd's reduction + divide and conquer + back-transformation of all n vectors (about
// twice the time at k ≈ n/10). The eigenvalues come from dsterf (as dsyevd's values-only path),
// accurate to O(ε·‖A‖) like dsyevd's with vectors; they may differ from those in the last bits.
// As everywhere in Linalg, every LAPACK call runs on one OpenBLAS thread and Linalg splits the
// back-transformation into column blocks whose sizes depend on the shape alone, so the bytes do
// not depend on the thread count.

/// A real symmetric matrix reduced to tridiagonal form (LAPACK dsytrd), with all its
/// eigenvalues; eigenvectors on demand, for any index range, without a second reduction.
///
/// ```swift
/// let reduction = try SymmetricEigenReduction(c)          // (4/3)n³ + O(n²)
/// let r = reduction.values.prefix { $0 < threshold }.count
/// let u0 = try reduction.vectors(in: 0..<r)              // n × r, O(n²·r)
/// ```
public struct SymmetricEigenReduction: Sendable {
    /// The order n of the matrix.
    public let order: Int
    /// The n eigenvalues, ascending (dsterf on the tridiagonal form).
    public let values: [Double]
    /// dsytrd's output, column-major n×n: Q's Householder vectors below the subdiagonal.
    private let reflectors: [Double]
    /// dsytrd's reflector scales (n − 1, padded to n).
    private let tau: [Double]
    /// The tridiagonal form: diagonal (n) and off-diagonal (n − 1, padded to n).
    private let diagonal: [Double]
    private let offDiagonal: [Double]

    /// Reduces `a` to tridiagonal form and computes all its eigenvalues.
    ///
    /// `a` is read through its upper triangle (`i <= j`), as ``symmetricEigen(_:)``; a `Float`
    /// matrix is widened to `Double` first.
    /// - Parameter a: `n × n`, symmetric.
    /// - Throws: ``LinalgError/notSquare(operation:shape:)``,
    ///   ``LinalgError/nonFiniteInput(operation:)``, ``LinalgError/eigenDidNotConverge(info:)``
    ///   (dsterf), ``LinalgError/outOfMemory(routine:)``.
    /// - Complexity: O(n³), about (4/3)n³ flops (the reduction, memory-bound for half of them);
    ///   memory n² + O(n) doubles besides the input.
    public init<S: LinalgScalar>(_ a: Matrix<S>) throws(LinalgError) {
        let operation = "SymmetricEigenReduction"
        guard a.isSquare else { throw .notSquare(operation: operation, shape: a.shape) }
        guard a.isFinite else { throw .nonFiniteInput(operation: operation) }
        let n = a.rows
        order = n
        if n == 0 {
            (values, reflectors, tau, diagonal, offDiagonal) = ([], [], [], [], [])
            return
        }
        // Row-major upper triangle = column-major lower triangle: dsytrd 'L' reads exactly it.
        var storage = Matrix<Double>(a).elements
        var d = [Double](repeating: 0, count: n)
        var e = [Double](repeating: 0, count: n)
        var tau = [Double](repeating: 0, count: n)
        let info = storage.withUnsafeMutableBufferPointer { ap in
            d.withUnsafeMutableBufferPointer { dp in
                e.withUnsafeMutableBufferPointer { ep in
                    tau.withUnsafeMutableBufferPointer { tp in
                        LAPACKKernel.dsytrd(n: n, a: ap.baseAddress!, d: dp.baseAddress!, e: ep.baseAddress!, tau: tp.baseAddress!)
                    }
                }
            }
        }
        if info != 0 { throw lapackFailure(info, routine: "\(operation) (dsytrd, n = \(n))") }

        var eigenvalues = d
        var scratch = e
        let sterfInfo = eigenvalues.withUnsafeMutableBufferPointer { dp in
            scratch.withUnsafeMutableBufferPointer { ep in
                LAPACKKernel.dsterf(n: n, d: dp.baseAddress!, e: ep.baseAddress!)
            }
        }
        if sterfInfo < 0 { throw lapackFailure(sterfInfo, routine: "\(operation) (dsterf, n = \(n))") }
        if sterfInfo > 0 { throw .eigenDidNotConverge(info: Int(sterfInfo)) }

        values = eigenvalues
        reflectors = storage
        self.tau = tau
        diagonal = d
        offDiagonal = e
    }

    /// The eigenvectors of the eigenvalues `values[range]`, as columns.
    /// - Parameter range: eigenvalue indices, within `0...order` (ascending order, as `values`);
    ///   may be empty.
    /// - Returns: `n × range.count`, orthonormal columns: column j is the eigenvector of
    ///   `values[range.lowerBound + j]` (sign arbitrary).
    /// - Throws: ``LinalgError/eigenvectorsDidNotConverge(routine:info:)`` (dstemr),
    ///   ``LinalgError/outOfMemory(routine:)``.
    /// - Precondition: `range` lies within `0..<order` (or is empty).
    /// - Complexity: O(n·k) for the tridiagonal vectors and 2n²·k flops (BLAS-3, threaded over
    ///   column blocks) for the back-transformation, k = `range.count`; memory 2n·k doubles.
    public func vectors(in range: Range<Int>) throws(LinalgError) -> Matrix<Double> {
        let rowsOfVectors = try transposedVectors(in: range)
        return rowsOfVectors.transposed()
    }

    /// ``vectors(in:)`` transposed: `range.count × n`, row j the eigenvector of
    /// `values[range.lowerBound + j]` (LAPACK's column-major result as it comes, no copy).
    public func transposedVectors(in range: Range<Int>) throws(LinalgError) -> Matrix<Double> {
        precondition(range.lowerBound >= 0 && range.upperBound <= order,
                     "SymmetricEigenReduction.vectors(in:): range \(range) outside 0..<\(order)")
        let n = order, k = range.count
        if k == 0 { return Matrix<Double>(rows: 0, cols: n) }
        let routine = "SymmetricEigenReduction.vectors (dstemr, n = \(n), \(k) vectors)"

        // Eigenvectors of T: column-major n × k (row-major k × n, one vector per row).
        if n <= 2 {
            // dstemr's special n = 2 path can return the other eigenvector for range 'I'
            // (measured with LAPACK 3.11); a 2 × 2 T goes through dsyevd instead.
            let t = Matrix<Double>(rows: n, cols: n) { i, j in i == j ? diagonal[i] : offDiagonal[0] }
            let all = try symmetricEigen(t).vectors
            let z = Matrix<Double>(rows: k, cols: n) { j, i in all[i, range.lowerBound + j] }
            return try backTransformed(z.elements, k: k)
        }
        var d = diagonal, e = offDiagonal
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: n * k)
        var support = [Int32](repeating: 0, count: 2 * k)
        var found: Int32 = 0
        let info = d.withUnsafeMutableBufferPointer { dp in
            e.withUnsafeMutableBufferPointer { ep in
                w.withUnsafeMutableBufferPointer { wp in
                    z.withUnsafeMutableBufferPointer { zp in
                        support.withUnsafeMutableBufferPointer { sp in
                            LAPACKKernel.dstemr(n: n, d: dp.baseAddress!, e: ep.baseAddress!,
                                                il: range.lowerBound + 1, iu: range.upperBound, m: &found,
                                                w: wp.baseAddress!, z: zp.baseAddress!, nzc: k, isuppz: sp.baseAddress!)
                        }
                    }
                }
            }
        }
        if info < 0 { throw lapackFailure(info, routine: routine) }
        if info > 0 { throw .eigenvectorsDidNotConverge(routine: routine, info: Int(info)) }
        if Int(found) != k { throw .eigenvectorsDidNotConverge(routine: "\(routine), \(found) found", info: 0) }

        return try backTransformed(z, k: k)
    }

    /// Q·Z for the column-major n × k `z`, in column blocks of a size fixed by (n, k) alone, one
    /// after the other: dormtr writes into the reflectors while it works (LAPACK's unblocked
    /// kernels set a reflector's leading entry to 1 and restore it), so two calls on the same
    /// reflectors at once corrupt them. (Running the blocks on threads did, once in a few runs.)
    private func backTransformed(_ vectors: [Double], k: Int) throws(LinalgError) -> Matrix<Double> {
        let n = order
        var z = vectors
        var a = reflectors
        let block = Self.backTransformBlock(n: n, k: k)
        var status: Int32 = 0
        a.withUnsafeMutableBufferPointer { ap in
            tau.withUnsafeBufferPointer { tp in
                z.withUnsafeMutableBufferPointer { zp in
                    for start in stride(from: 0, to: k, by: block) where status == 0 {
                        status = LAPACKKernel.dormtr(n: n, cols: min(block, k - start), a: ap.baseAddress!, tau: tp.baseAddress!,
                                                     c: zp.baseAddress! + start * n)
                    }
                }
            }
        }
        if status != 0 { throw lapackFailure(status, routine: "SymmetricEigenReduction.vectors (dormtr, n = \(n))") }
        return Matrix<Double>(rows: k, cols: n, elements: z)
    }

    /// Columns per dormtr call: all of them for small problems, else blocks of at least 128
    /// columns, at most 16 of them (the split the bytes were first computed with).
    static func backTransformBlock(n: Int, k: Int) -> Int {
        guard n >= 256, k >= 256 else { return max(k, 1) }
        let wanted = (k + 15) / 16
        return max(128, (wanted + 31) / 32 * 32)
    }
}

/// All eigenvalues of a real symmetric matrix and the eigenvectors of an index range of them,
/// in `Double` (dsytrd, dsterf, dstemr, dormtr: see ``SymmetricEigenReduction``).
///
/// - Parameters:
///   - a: `n × n`, symmetric; its upper triangle is read.
///   - range: indices into the ascending eigenvalues whose eigenvectors are wanted.
/// - Returns: `values`, all n eigenvalues ascending, and `vectors`, `n × range.count` with
///   orthonormal columns: column j is the eigenvector of `values[range.lowerBound + j]`.
/// - Throws: as ``SymmetricEigenReduction/init(_:)`` and
///   ``SymmetricEigenReduction/vectors(in:)``.
/// - Precondition: `range` lies within `0..<n` (or is empty).
/// - Complexity: about (4/3)n³ + 2n²·k flops for k = `range.count` (compare about 9n³ nominal
///   for ``symmetricEigen(_:)``).
public func symmetricEigen<S: LinalgScalar>(
    _ a: Matrix<S>, vectorsIn range: Range<Int>
) throws(LinalgError) -> (values: [Double], vectors: Matrix<Double>) {
    let reduction = try SymmetricEigenReduction(a)
    return (reduction.values, try reduction.vectors(in: range))
}

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
    let work = n.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: k).partialValue
    let block = (work >= ProductSplit.minimumWork && n >= 256) ? max(64, ((n + 31) / 32 + 15) / 16 * 16) : n
    v.elements.withUnsafeBufferPointer { vp in
        c.elements.withUnsafeMutableBufferPointer { cp in
            nonisolated(unsafe) let (vBase, cBase) = (vp.baseAddress!, cp.baseAddress!)
            Linalg.forEachBlock(n, block: block) { _, rows in
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
