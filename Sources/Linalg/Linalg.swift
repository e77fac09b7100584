// Linalg: dense linear algebra on the CPU for alphaedit.
//
// This is the only module that calls BLAS and LAPACK (through the COpenBLAS shim). Everything
// public here is safe Swift: C pointers live only inside `withUnsafe…` closures in this module.
//
// Map of the module:
//   LinalgScalar.swift        Float and Double, and how each dispatches to s/d routines
//   Matrix*.swift             the row-major `Matrix` type, its arithmetic, conversions, packing
//   GEMM.swift, GEMV.swift    matrix products on `Matrix`
//   Strided.swift             `BLAS`: bounds-checked strided kernels over plain arrays
//   SYRK*.swift               Gram accumulation C += alpha·XᵀX (statistics of MLP keys)
//   SymmetricEigen.swift      eigendecomposition of symmetric matrices (dsyevd)
//   Solve.swift, Cholesky.swift  linear systems and inverse
//   LinalgError.swift         the typed errors
//   Threads.swift             OpenBLAS thread count and build description
//   Kernels-*.swift           internal: the typed C calls, one switch per routine

#if canImport(Glibc)
// Autolinks libm: `squareRoot()` falls back to libm's `sqrt` for negative or NaN inputs on
// Linux, and executables that link only Linalg (no Foundation) would otherwise fail to link.
internal import Glibc
#endif

/// Namespace for module-wide settings of Linalg (threads, backend description).
public enum Linalg {}
