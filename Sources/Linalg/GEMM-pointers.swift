// Products on raw pointers, for the runtime's own parallel loops (attention runs its heads on
// several threads, each writing its own columns of one shared output). `package`: only this
// package's modules see pointers; the public API takes arrays and matrices (`BLAS.gemm`).
// The same kernel and the same shape-based split as `BLAS.gemm`, so the same bytes.

package enum PointerBLAS {
    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is m×k, op(B) is k×n, C is m×n, as
    /// `BLAS.gemm` but without bounds checks: the caller has checked every extent.
    /// - Precondition: m, n, k ≥ 1 (`BLAS.gemm` handles the empty cases).
    @inline(__always)
    package static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m > 0 && n > 0 && k > 0, "PointerBLAS.gemm: empty product m=\(m) n=\(n) k=\(k)")
        BLASKernel.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
