// Strided BLAS over plain arrays, for hot loops that address slices of one big buffer
// (per-head attention blocks inside a [tokens × heads·headDim] activation) without copying.
//
// Every function checks, before calling BLAS, that each element it will touch is inside its
// array; a violation traps with the offending argument named. Matrices are row-major with a
// leading dimension: element (i, j) of a matrix at `offset` with leading dimension `ld` is
// `array[offset + i * ld + j]`.
//
// Aliasing: the output is `inout` and is written in place without copying as long as its
// array is uniquely referenced. If you pass the same array as an input and as the output,
// Swift copies the output array first (copy-on-write): the result is still correct, but the
// copy costs O(array size). Keep inputs and outputs in different arrays in hot loops.

/// Bounds-checked strided BLAS kernels over arrays (row-major semantics).
public enum BLAS {
    /// C = alpha·op(A)·op(B) + beta·C on sub-matrices of arrays.
    ///
    /// op(A) is `m × k`, op(B) is `k × n`, C is `m × n`. A is stored `m × k` (or `k × m` when
    /// `transA`) at `a[aOffset...]` with leading dimension `lda`; likewise B and C. With
    /// beta = 0 the old C is not read.
    /// - Parameters:
    ///   - transA: use Aᵀ (A stored `k × m`).
    ///   - transB: use Bᵀ (B stored `n × k`).
    ///   - lda: leading dimension of A as stored, at least its column count (and at least 1).
    ///   - ldb: leading dimension of B as stored, at least its column count (and at least 1).
    ///   - ldc: leading dimension of C, at least `n` (and at least 1).
    /// - Precondition: every touched element of `a`, `b`, `c` is in bounds; dimensions ≥ 0.
    /// - Complexity: O(m·n·k) (2·m·n·k flops).
    public static func gemm<S: LinalgScalar>(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: S = 1, a: [S], aOffset: Int = 0, lda: Int,
        b: [S], bOffset: Int = 0, ldb: Int,
        beta: S = 0, c: inout [S], cOffset: Int = 0, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BLAS.gemm: negative dimension m=\(m) n=\(n) k=\(k)")
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        checkMatrix("BLAS.gemm", "a", count: a.count, offset: aOffset, rows: aRows, cols: aCols, ld: lda)
        checkMatrix("BLAS.gemm", "b", count: b.count, offset: bOffset, rows: bRows, cols: bCols, ld: ldb)
        checkMatrix("BLAS.gemm", "c", count: c.count, offset: cOffset, rows: m, cols: n, ld: ldc)
        if m == 0 || n == 0 { return }
        c.withUnsafeMutableBufferPointer { cp in
            let cBase = cp.baseAddress! + cOffset
            if k == 0 {
                for i in 0..<m {
                    for j in 0..<n {
                        cBase[i * ldc + j] = beta == 0 ? 0 : beta * cBase[i * ldc + j]
                    }
                }
                return
            }
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    BLASKernel.gemm(transA: transA, transB: transB, m: m, n: n, k: k,
                                    alpha: alpha, a: ap.baseAddress! + aOffset, lda: lda,
                                    b: bp.baseAddress! + bOffset, ldb: ldb,
                                    beta: beta, c: cBase, ldc: ldc)
                }
            }
        }
    }

    /// y = alpha·op(A)·x + beta·y on a sub-matrix and strided vectors.
    ///
    /// A is stored `m × n` at `a[aOffset...]` with leading dimension `lda`. x has `n` elements
    /// (`m` when `transA`), y has `m` (`n` when `transA`). With beta = 0 the old y is not read.
    /// - Precondition: every touched element is in bounds; `incx`, `incy` ≥ 1; `lda` ≥ max(1, n).
    /// - Complexity: O(m·n).
    public static func gemv<S: LinalgScalar>(
        transA: Bool = false, m: Int, n: Int, alpha: S = 1,
        a: [S], aOffset: Int = 0, lda: Int,
        x: [S], xOffset: Int = 0, incx: Int = 1,
        beta: S = 0, y: inout [S], yOffset: Int = 0, incy: Int = 1
    ) {
        precondition(m >= 0 && n >= 0, "BLAS.gemv: negative dimension m=\(m) n=\(n)")
        let (xCount, yCount) = transA ? (m, n) : (n, m)
        checkMatrix("BLAS.gemv", "a", count: a.count, offset: aOffset, rows: m, cols: n, ld: lda)
        checkVector("BLAS.gemv", "x", count: x.count, offset: xOffset, n: xCount, inc: incx)
        checkVector("BLAS.gemv", "y", count: y.count, offset: yOffset, n: yCount, inc: incy)
        if yCount == 0 { return }
        y.withUnsafeMutableBufferPointer { yp in
            let yBase = yp.baseAddress! + yOffset
            if xCount == 0 {
                for i in 0..<yCount { yBase[i * incy] = beta == 0 ? 0 : beta * yBase[i * incy] }
                return
            }
            a.withUnsafeBufferPointer { ap in
                x.withUnsafeBufferPointer { xp in
                    BLASKernel.gemv(transA: transA, m: m, n: n, alpha: alpha,
                                    a: ap.baseAddress! + aOffset, lda: lda,
                                    x: xp.baseAddress! + xOffset, incx: incx,
                                    beta: beta, y: yBase, incy: incy)
                }
            }
        }
    }

    /// y[yOffset + i·incy] += alpha · x[xOffset + i·incx] for i in 0..<n.
    /// - Precondition: every touched element is in bounds; `incx`, `incy` ≥ 1.
    /// - Complexity: O(n).
    public static func axpy<S: LinalgScalar>(
        n: Int, alpha: S, x: [S], xOffset: Int = 0, incx: Int = 1,
        y: inout [S], yOffset: Int = 0, incy: Int = 1
    ) {
        checkVector("BLAS.axpy", "x", count: x.count, offset: xOffset, n: n, inc: incx)
        checkVector("BLAS.axpy", "y", count: y.count, offset: yOffset, n: n, inc: incy)
        if n == 0 { return }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                BLASKernel.axpy(n: n, alpha: alpha, x: xp.baseAddress! + xOffset, incx: incx,
                                y: yp.baseAddress! + yOffset, incy: incy)
            }
        }
    }

    /// Σ x[xOffset + i·incx] · y[yOffset + i·incy] for i in 0..<n, accumulated in `S`.
    /// The two may be the same array.
    /// - Precondition: every touched element is in bounds; `incx`, `incy` ≥ 1.
    /// - Complexity: O(n).
    public static func dot<S: LinalgScalar>(
        n: Int, x: [S], xOffset: Int = 0, incx: Int = 1,
        y: [S], yOffset: Int = 0, incy: Int = 1
    ) -> S {
        checkVector("BLAS.dot", "x", count: x.count, offset: xOffset, n: n, inc: incx)
        checkVector("BLAS.dot", "y", count: y.count, offset: yOffset, n: n, inc: incy)
        if n == 0 { return 0 }
        return x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                BLASKernel.dot(n: n, x: xp.baseAddress! + xOffset, incx: incx,
                               y: yp.baseAddress! + yOffset, incy: incy)
            }
        }
    }

    /// √(Σ x[xOffset + i·incx]²) for i in 0..<n, scaled against overflow.
    /// - Precondition: every touched element is in bounds; `incx` ≥ 1.
    /// - Complexity: O(n).
    public static func nrm2<S: LinalgScalar>(n: Int, x: [S], xOffset: Int = 0, incx: Int = 1) -> S {
        checkVector("BLAS.nrm2", "x", count: x.count, offset: xOffset, n: n, inc: incx)
        if n == 0 { return 0 }
        return x.withUnsafeBufferPointer { xp in
            BLASKernel.nrm2(n: n, x: xp.baseAddress! + xOffset, incx: incx)
        }
    }

    /// x[xOffset + i·incx] *= alpha for i in 0..<n, in place.
    /// - Precondition: every touched element is in bounds; `incx` ≥ 1.
    /// - Complexity: O(n).
    public static func scal<S: LinalgScalar>(n: Int, alpha: S, x: inout [S], xOffset: Int = 0, incx: Int = 1) {
        checkVector("BLAS.scal", "x", count: x.count, offset: xOffset, n: n, inc: incx)
        if n == 0 { return }
        x.withUnsafeMutableBufferPointer { xp in
            BLASKernel.scal(n: n, alpha: alpha, x: xp.baseAddress! + xOffset, incx: incx)
        }
    }
}

// MARK: - Bounds checks

/// Traps unless the row-major `rows × cols` block at `offset` with leading dimension `ld`
/// lies inside an array of `count` elements, and `ld >= max(1, cols)` (the BLAS rule).
@inline(__always)
func checkMatrix(_ function: StaticString, _ name: StaticString,
                 count: Int, offset: Int, rows: Int, cols: Int, ld: Int) {
    precondition(ld >= max(1, cols),
                 "\(function): ld\(name) = \(ld) is less than max(1, \(cols)), the column count of \(name) as stored")
    guard rows > 0 && cols > 0 else { return }
    precondition(offset >= 0, "\(function): \(name)Offset = \(offset) is negative")
    let (span, overflow) = (rows - 1).multipliedReportingOverflow(by: ld)
    precondition(!overflow && offset <= count && span <= count - offset - cols,
                 "\(function): \(name) (\(rows)×\(cols), offset \(offset), ld \(ld)) reaches index \(offset &+ (rows - 1) &* ld &+ cols - 1), but \(name) has \(count) elements")
}

/// Traps unless the `n` elements `offset + i·inc` lie inside an array of `count` elements.
@inline(__always)
func checkVector(_ function: StaticString, _ name: StaticString,
                 count: Int, offset: Int, n: Int, inc: Int) {
    precondition(n >= 0, "\(function): negative length n = \(n)")
    precondition(inc >= 1, "\(function): inc\(name) = \(inc); only positive strides are supported")
    guard n > 0 else { return }
    precondition(offset >= 0, "\(function): \(name)Offset = \(offset) is negative")
    let (span, overflow) = (n - 1).multipliedReportingOverflow(by: inc)
    precondition(!overflow && offset < count && span <= count - offset - 1,
                 "\(function): \(name) (\(n) elements, offset \(offset), stride \(inc)) reaches index \(offset &+ (n - 1) &* inc), but \(name) has \(count) elements")
}
