// Every eigenvalue of a real symmetric matrix, but only the eigenvectors a caller asks for, in
// Double. The stages, each a LAPACK routine:
//
//   dsytrd   A = Q·T·Qᵀ, T tridiagonal                    (4/3)n³ flops, once
//   dsterf   all eigenvalues of T (= of A), ascending     O(n²)
//   dstemr   the chosen eigenvectors Z of T (MRRR)        O(n·k) for k vectors
//   dlarfb   the eigenvectors of A: Q·Z, Q's reflectors    2n²·k flops
//            in panels (dlarft), Z in column blocks
//
// against dsyevd's reduction + divide and conquer + back-transformation of all n vectors (about
// twice the time at k ≈ n/10). The eigenvalues come from dsterf (as dsyevd's values-only path),
// accurate to O(ε·‖A‖) like dsyevd's with vectors; they may differ from those in the last bits.
// As everywhere in Linalg, the bytes do not depend on the thread count: the reduction runs on one
// OpenBLAS thread below n = 2048 and on exactly two from there (a count fixed by the shape,
// Kernels-LAPACK.swift), every other LAPACK call on one, and Linalg splits the rest of the work
// by rules that depend on the shape and the eigenvalues alone (dstemr in two ranges, the
// back-transformation in column blocks).

import Synchronization

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
    /// - Complexity: O(n³), about (4/3)n³ flops (the reduction, memory-bound for half of them;
    ///   on two OpenBLAS threads from n = 2048); memory n² + O(n) doubles, the n² in the
    ///   input's own storage when it is a `Double` matrix handed over (see the note in the body).
    public init<S: LinalgScalar>(_ a: consuming Matrix<S>) throws(LinalgError) {
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
        // A Double matrix the caller hands over (`consume`, or a temporary) is reduced in its own
        // storage; otherwise this is its one copy.
        var storage = Matrix<Double>(consume a).elements
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
        // Two dstemr calls on halves of the range run at once when a wide relative gap separates
        // them (see `stemrSplit`); the split depends on the eigenvalues alone.
        let parts: [Range<Int>]
        if let split = Self.stemrSplit(values: values, range: range) {
            parts = [range.lowerBound..<split, split..<range.upperBound]
        } else {
            parts = [range]
        }
        var z = [Double](repeating: 0, count: n * k)
        let results = LockedValue<[Int: (info: Int32, found: Int32)]>([:])
        z.withUnsafeMutableBufferPointer { zp in
            nonisolated(unsafe) let zBase = zp.baseAddress!
            Linalg.forEachBlock(parts.count, block: 1) { index, _ in
                let part = parts[index]
                var d = diagonal, e = offDiagonal
                var w = [Double](repeating: 0, count: n)
                var support = [Int32](repeating: 0, count: 2 * part.count)
                var found: Int32 = 0
                // This part's columns of the column-major n × k result.
                let columns = zBase + (part.lowerBound - range.lowerBound) * n
                let info = d.withUnsafeMutableBufferPointer { dp in
                    e.withUnsafeMutableBufferPointer { ep in
                        w.withUnsafeMutableBufferPointer { wp in
                            support.withUnsafeMutableBufferPointer { sp in
                                LAPACKKernel.dstemr(n: n, d: dp.baseAddress!, e: ep.baseAddress!,
                                                    il: part.lowerBound + 1, iu: part.upperBound, m: &found,
                                                    w: wp.baseAddress!, z: columns, nzc: part.count, isuppz: sp.baseAddress!)
                            }
                        }
                    }
                }
                results.withLock { $0[index] = (info, found) }
            }
        }
        for index in parts.indices {
            let (info, found) = results.withLock { $0[index]! }
            if info < 0 { throw lapackFailure(info, routine: routine) }
            if info > 0 { throw .eigenvectorsDidNotConverge(routine: routine, info: Int(info)) }
            if Int(found) != parts[index].count {
                throw .eigenvectorsDidNotConverge(routine: "\(routine), \(found) of \(parts[index].count) found", info: 0)
            }
        }
        return try backTransformed(z, k: k)
    }

    /// Where to cut an index range of eigenvectors in two for two concurrent dstemr calls, or nil
    /// to compute it in one: at the widest relative gap between neighbouring eigenvalues in the
    /// middle half of the range, if that gap is at least 1e-3. Vectors of eigenvalues that far
    /// apart come out orthogonal to working accuracy from separate calls (each call's vectors
    /// are accurate to O(nε/relgap)); a cluster is never cut. A function of the eigenvalues only.
    static func stemrSplit(values: [Double], range: Range<Int>) -> Int? {
        guard range.count >= 256 else { return nil }
        let middle = (range.lowerBound + range.count / 4)..<(range.upperBound - range.count / 4)
        var best: (gap: Double, at: Int)?
        for i in middle {
            let scale = max(abs(values[i - 1]), abs(values[i]))
            guard scale > 0 else { continue }
            let gap = (values[i] - values[i - 1]) / scale
            if gap > (best?.gap ?? 0) { best = (gap, i) }
        }
        guard let best, best.gap >= 1e-3 else { return nil }
        return best.at
    }

    /// Q·Z for the column-major n × k `z`: Q's reflectors in panels of `backTransformPanel`,
    /// from the last panel to the first, applied with dlarfb to column blocks of Z (sizes fixed by
    /// (n, k) alone) on all threads.
    ///
    /// LAPACK's own dormtr cannot run on several column blocks at once: its unblocked kernels
    /// set a reflector's leading entry to 1 in the shared reflectors and restore it, so two calls
    /// at once corrupted them (once in a few runs); run one after another on blocks, it redid
    /// each panel's triangular factor T per block and took 2.6× the time of one call. Here every
    /// T is computed once, from a private copy of its panel, and dlarfb only reads the shared
    /// reflectors.
    private func backTransformed(_ vectors: [Double], k: Int) throws(LinalgError) -> Matrix<Double> {
        let n = order
        var z = vectors
        // dsytrd 'L' leaves reflector j (0-based, j < n − 1) in column j below the subdiagonal:
        // it acts on rows j + 1 ..< n, with v[j + 1] = 1 implied. Panel p holds reflectors
        // p·nb ..< p·nb + ib; its V is rows (p·nb + 1) ..< n of those columns.
        let reflectorCount = n - 1
        guard reflectorCount > 0 else { return Matrix<Double>(rows: k, cols: n, elements: z) }
        let nb = Self.backTransformPanel
        let panels = (reflectorCount + nb - 1) / nb
        var factors = [Double](repeating: 0, count: panels * nb * nb)
        var status: Int32 = 0
        reflectors.withUnsafeBufferPointer { ap in
            tau.withUnsafeBufferPointer { tp in
                factors.withUnsafeMutableBufferPointer { fp in
                    for p in 0..<panels where status == 0 {
                        let first = p * nb, ib = min(nb, reflectorCount - first), m = n - 1 - first
                        // A private copy of the panel: dlarft need not be trusted to leave V untouched.
                        var panel = [Double](repeating: 0, count: m * ib)
                        for j in 0..<ib {
                            let column = ap.baseAddress! + (first + j) * n + first + 1
                            for i in 0..<m { panel[j * m + i] = column[i] }
                        }
                        status = panel.withUnsafeBufferPointer { vp in
                            LAPACKKernel.dlarft(m: m, ib: ib, v: vp.baseAddress!, ldv: m, tau: tp.baseAddress! + first,
                                                t: fp.baseAddress! + p * nb * nb)
                        }
                    }
                }
            }
        }
        if status != 0 { throw lapackFailure(status, routine: "SymmetricEigenReduction.vectors (dlarft, n = \(n))") }

        let block = Self.backTransformBlock(n: n, k: k)
        let failures = Atomic<Int32>(0)
        reflectors.withUnsafeBufferPointer { ap in
            factors.withUnsafeBufferPointer { fp in
                z.withUnsafeMutableBufferPointer { zp in
                    nonisolated(unsafe) let (a, t, zBase) = (ap.baseAddress!, fp.baseAddress!, zp.baseAddress!)
                    Linalg.forEachBlock(k, block: block) { _, columns in
                        var work = [Double](repeating: 0, count: columns.count * nb)
                        work.withUnsafeMutableBufferPointer { wp in
                            for p in stride(from: panels - 1, through: 0, by: -1) {
                                let first = p * nb, ib = min(nb, reflectorCount - first), m = n - 1 - first
                                let info = LAPACKKernel.dlarfb(
                                    m: m, cols: columns.count, ib: ib, v: a + first * n + first + 1, ldv: n,
                                    t: t + p * nb * nb, c: zBase + columns.lowerBound * n + first + 1, ldc: n,
                                    work: wp.baseAddress!)
                                if info != 0 { failures.store(info, ordering: .relaxed); return }
                            }
                        }
                    }
                }
            }
        }
        let failure = failures.load(ordering: .relaxed)
        if failure != 0 { throw lapackFailure(failure, routine: "SymmetricEigenReduction.vectors (dlarfb, n = \(n))") }
        return Matrix<Double>(rows: k, cols: n, elements: z)
    }

    /// Reflectors per panel of the back-transformation (LAPACK's dormqr uses 32; 64 measured
    /// 15 % faster at n = 4096).
    static let backTransformPanel = 64

    /// Columns per block of the back-transformation: all of them for small problems, else blocks
    /// of at least 128 columns, at most 16 of them.
    static func backTransformBlock(n: Int, k: Int) -> Int {
        guard n >= 256, k >= 256 else { return max(k, 1) }
        let wanted = (k + 15) / 16
        return max(128, (wanted + 31) / 32 * 32)
    }
}

/// All eigenvalues of a real symmetric matrix and the eigenvectors of an index range of them,
/// in `Double` (dsytrd, dsterf, dstemr, dlarft + dlarfb: see ``SymmetricEigenReduction``).
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
