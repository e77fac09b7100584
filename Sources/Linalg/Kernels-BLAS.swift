internal import COpenBLAS

// Internal: the typed CBLAS calls. Each function switches once on the scalar kind and calls the
// `s` or `d` routine. Callers have already checked shapes and bounds; these only convert
// integers and flags. All matrices are row-major.

/// Converts a dimension, stride or count to the 32-bit integer OpenBLAS and LAPACKE take.
@inline(__always)
func cInt(_ value: Int, _ what: @autoclosure () -> String = "dimension") -> Int32 {
    precondition(value >= Int(Int32.min) && value <= Int(Int32.max),
                 "Linalg: \(what()) \(value) does not fit the 32-bit integers of BLAS/LAPACK")
    return Int32(truncatingIfNeeded: value)
}

@inline(__always)
func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

enum BLASKernel {
    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is m×k, op(B) is k×n, C is m×n.
    static func gemm<S: LinalgScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: S, a: UnsafePointer<S>, lda: Int,
        b: UnsafePointer<S>, ldb: Int,
        beta: S, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        // C's blocks along its longer side, each one single-threaded call (see Threads.swift);
        // large products in tall row blocks with one call's bytes (GEMM-exact-rows.swift).
        let work = m.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: max(k, 1)).partialValue
        var exactRows: Int? = nil
        if let block = ProductSplit.exactRowBlock(rows: m, work: work, threads: Linalg.threadCount),
           RowExactness.holds(for: S.scalarKind) {
            exactRows = block
        }
        let columnBlock = exactRows == nil && n >= m ? ProductSplit.block(length: n, work: work) : nil
        let rowBlock = exactRows ?? (m > n ? ProductSplit.block(length: m, work: work) : nil)
        if let block = columnBlock {
            nonisolated(unsafe) let (a, b, c) = (a, b, c)
            Linalg.forEachBlock(n, block: block) { _, columns in
                gemmCall(transA: transA, transB: transB, m: m, n: columns.count, k: k, alpha: alpha, a: a, lda: lda,
                         b: b + (transB ? columns.lowerBound * ldb : columns.lowerBound), ldb: ldb,
                         beta: beta, c: c + columns.lowerBound, ldc: ldc)
            }
        } else if let block = rowBlock {
            nonisolated(unsafe) let (a, b, c) = (a, b, c)
            Linalg.forEachBlock(m, block: block) { _, rows in
                gemmCall(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha,
                         a: a + (transA ? rows.lowerBound : rows.lowerBound * lda), lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else {
            gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c, ldc: ldc)
        }
    }

    /// One single-threaded gemm call.
    static func gemmCall<S: LinalgScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: S, a: UnsafePointer<S>, lda: Int,
        b: UnsafePointer<S>, ldb: Int,
        beta: S, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                cblas_sgemm(CblasRowMajor, cblasTranspose(transA), cblasTranspose(transB),
                            cInt(m), cInt(n), cInt(k), Float(alpha), S.f32(a), cInt(lda),
                            S.f32(b), cInt(ldb), Float(beta), S.f32(c), cInt(ldc))
            case .float64:
                cblas_dgemm(CblasRowMajor, cblasTranspose(transA), cblasTranspose(transB),
                            cInt(m), cInt(n), cInt(k), Double(alpha), S.f64(a), cInt(lda),
                            S.f64(b), cInt(ldb), Double(beta), S.f64(c), cInt(ldc))
            }
        }
    }

    /// y = alpha·op(A)·x + beta·y, row-major; A is stored m×n.
    static func gemv<S: LinalgScalar>(
        transA: Bool, m: Int, n: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
        x: UnsafePointer<S>, incx: Int, beta: S, y: UnsafeMutablePointer<S>, incy: Int
    ) {
        OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                cblas_sgemv(CblasRowMajor, cblasTranspose(transA), cInt(m), cInt(n), Float(alpha),
                            S.f32(a), cInt(lda), S.f32(x), cInt(incx), Float(beta), S.f32(y), cInt(incy))
            case .float64:
                cblas_dgemv(CblasRowMajor, cblasTranspose(transA), cInt(m), cInt(n), Double(alpha),
                            S.f64(a), cInt(lda), S.f64(x), cInt(incx), Double(beta), S.f64(y), cInt(incy))
            }
        }
    }

    /// Upper triangle of C (n×n) = alpha·op(A)ᵀop(A)-style rank-k update + beta·C, row-major.
    /// With `trans == true`, A is stored k×n and C gets alpha·AᵀA; otherwise A is n×k and
    /// C gets alpha·AAᵀ. Only the upper triangle of C is read and written.
    static func syrkUpper<S: LinalgScalar>(
        trans: Bool, n: Int, k: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
        beta: S, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                cblas_ssyrk(CblasRowMajor, CblasUpper, cblasTranspose(trans), cInt(n), cInt(k),
                            Float(alpha), S.f32(a), cInt(lda), Float(beta), S.f32(c), cInt(ldc))
            case .float64:
                cblas_dsyrk(CblasRowMajor, CblasUpper, cblasTranspose(trans), cInt(n), cInt(k),
                            Double(alpha), S.f64(a), cInt(lda), Double(beta), S.f64(c), cInt(ldc))
            }
        }
    }

    /// y += alpha·x over n strided elements.
    static func axpy<S: LinalgScalar>(
        n: Int, alpha: S, x: UnsafePointer<S>, incx: Int, y: UnsafeMutablePointer<S>, incy: Int
    ) {
        OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                cblas_saxpy(cInt(n), Float(alpha), S.f32(x), cInt(incx), S.f32(y), cInt(incy))
            case .float64:
                cblas_daxpy(cInt(n), Double(alpha), S.f64(x), cInt(incx), S.f64(y), cInt(incy))
            }
        }
    }

    /// Σ x·y over n strided elements (accumulated in the scalar's precision).
    static func dot<S: LinalgScalar>(
        n: Int, x: UnsafePointer<S>, incx: Int, y: UnsafePointer<S>, incy: Int
    ) -> S {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32:
                S(cblas_sdot(cInt(n), S.f32(x), cInt(incx), S.f32(y), cInt(incy)))
            case .float64:
                S(cblas_ddot(cInt(n), S.f64(x), cInt(incx), S.f64(y), cInt(incy)))
            }
        }
    }

    /// Euclidean norm over n strided elements, with BLAS's overflow-safe scaling.
    static func nrm2<S: LinalgScalar>(n: Int, x: UnsafePointer<S>, incx: Int) -> S {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32: S(cblas_snrm2(cInt(n), S.f32(x), cInt(incx)))
            case .float64: S(cblas_dnrm2(cInt(n), S.f64(x), cInt(incx)))
            }
        }
    }

    /// x *= alpha over n strided elements.
    static func scal<S: LinalgScalar>(n: Int, alpha: S, x: UnsafeMutablePointer<S>, incx: Int) {
        OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32: cblas_sscal(cInt(n), Float(alpha), S.f32(x), cInt(incx))
            case .float64: cblas_dscal(cInt(n), Double(alpha), S.f64(x), cInt(incx))
            }
        }
    }
}
