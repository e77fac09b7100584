// Products on raw pointers, for the runtime's own parallel loops (attention runs its heads on
// several threads, each writing its own columns of one shared output). `package`: only this
// package's modules see pointers; the public API takes arrays and matrices (`BLAS.gemm`).
// Same kernel and the same shape-based split as `BLAS.gemm`, so the same bytes.

package enum PointerBLAS {
    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is m×k, op(B) is k×n, C is m×n, as
    /// `BLAS.gemm` but without bounds checks: the caller has checked every extent.
    @inline(__always)
    package static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        BLASKernel.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
