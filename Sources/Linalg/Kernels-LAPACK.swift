internal import COpenBLAS

// Internal: the typed LAPACKE calls. All of them use column-major layout, so LAPACKE passes
// them straight to LAPACK without transposed copies; callers arrange their row-major buffers
// accordingly (a row-major A is a column-major Aᵀ). Each returns LAPACK's `info`.

@inline(__always)
func lapackChar(_ c: Character) -> CChar {
    CChar(c.asciiValue!)
}

enum LAPACKKernel {
    /// LU factorisation with partial pivoting of the column-major n×n `a`; `ipiv` gets n pivots.
    /// From n = ``fixedThreadsOrder`` on ``fixedThreads`` OpenBLAS threads (n 4096: 1.15 s on one, 0.67–0.81 s
    /// on two, the same bytes run to run and with one CPU of affinity), below on one.
    static func getrf<S: LinalgScalar>(n: Int, a: UnsafeMutablePointer<S>, ipiv: UnsafeMutablePointer<Int32>) -> Int32 {
        return OpenBLASThreads.fixed(threads(order: n)) {
            return switch S.scalarKind {
            case .float32: LAPACKE_sgetrf(LAPACK_COL_MAJOR, cInt(n), cInt(n), S.f32(a), cInt(n), ipiv)
            case .float64: LAPACKE_dgetrf(LAPACK_COL_MAJOR, cInt(n), cInt(n), S.f64(a), cInt(n), ipiv)
            }
        }
    }

    /// Solves op(A)·X = B with the factors from `getrf`; B is column-major n×nrhs.
    static func getrs<S: LinalgScalar>(
        transpose: Bool, n: Int, nrhs: Int, lu: UnsafePointer<S>, ipiv: UnsafePointer<Int32>,
        b: UnsafeMutablePointer<S>
    ) -> Int32 {
        let trans = lapackChar(transpose ? "T" : "N")
        return OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                return LAPACKE_sgetrs(LAPACK_COL_MAJOR, trans, cInt(n), cInt(nrhs), S.f32(lu), cInt(n), ipiv, S.f32(b), cInt(n))
            case .float64:
                return LAPACKE_dgetrs(LAPACK_COL_MAJOR, trans, cInt(n), cInt(nrhs), S.f64(lu), cInt(n), ipiv, S.f64(b), cInt(n))
            }
        }
    }

    /// Inverse from the `getrf` factors, in place.
    static func getri<S: LinalgScalar>(n: Int, lu: UnsafeMutablePointer<S>, ipiv: UnsafePointer<Int32>) -> Int32 {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32: LAPACKE_sgetri(LAPACK_COL_MAJOR, cInt(n), S.f32(lu), cInt(n), ipiv)
            case .float64: LAPACKE_dgetri(LAPACK_COL_MAJOR, cInt(n), S.f64(lu), cInt(n), ipiv)
            }
        }
    }

    /// The 1-norm (largest absolute column sum) of the column-major n×n `a`.
    static func oneNorm<S: LinalgScalar>(n: Int, a: UnsafePointer<S>) -> Double {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32: Double(LAPACKE_slange(LAPACK_COL_MAJOR, lapackChar("1"), cInt(n), cInt(n), S.f32(a), cInt(n)))
            case .float64: LAPACKE_dlange(LAPACK_COL_MAJOR, lapackChar("1"), cInt(n), cInt(n), S.f64(a), cInt(n))
            }
        }
    }

    /// Estimated reciprocal condition number (1-norm) from the `getrf` factors.
    static func gecon<S: LinalgScalar>(n: Int, lu: UnsafePointer<S>, oneNorm: Double, rcond: inout Double) -> Int32 {
        return OpenBLASThreads.one {
            switch S.scalarKind {
            case .float32:
                var r: Float = 0
                let info = LAPACKE_sgecon(LAPACK_COL_MAJOR, lapackChar("1"), cInt(n), S.f32(lu), cInt(n), Float(oneNorm), &r)
                rcond = Double(r)
                return info
            case .float64:
                return LAPACKE_dgecon(LAPACK_COL_MAJOR, lapackChar("1"), cInt(n), S.f64(lu), cInt(n), oneNorm, &rcond)
            }
        }
    }

    /// Cholesky factorisation of the lower triangle of the column-major n×n `a`, in place.
    static func potrf<S: LinalgScalar>(n: Int, a: UnsafeMutablePointer<S>) -> Int32 {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32: LAPACKE_spotrf(LAPACK_COL_MAJOR, lapackChar("L"), cInt(n), S.f32(a), cInt(n))
            case .float64: LAPACKE_dpotrf(LAPACK_COL_MAJOR, lapackChar("L"), cInt(n), S.f64(a), cInt(n))
            }
        }
    }

    /// Solves A·X = B with the lower Cholesky factor from `potrf`; B is column-major n×nrhs.
    static func potrs<S: LinalgScalar>(n: Int, nrhs: Int, factor: UnsafePointer<S>, b: UnsafeMutablePointer<S>) -> Int32 {
        return OpenBLASThreads.one {
            return switch S.scalarKind {
            case .float32:
                LAPACKE_spotrs(LAPACK_COL_MAJOR, lapackChar("L"), cInt(n), cInt(nrhs), S.f32(factor), cInt(n), S.f32(b), cInt(n))
            case .float64:
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, lapackChar("L"), cInt(n), cInt(nrhs), S.f64(factor), cInt(n), S.f64(b), cInt(n))
            }
        }
    }

    /// dsyevd on the lower triangle of the column-major n×n `a` (eigenvalues ascending into
    /// `w`; with `vectors`, `a` is overwritten by the orthonormal eigenvectors, column j for
    /// w[j]). `lwork == -1` / `liwork == -1` is LAPACK's workspace query: the optimal sizes come
    /// back in `work[0]` (a Double) and `iwork[0]`.
    static func dsyevd(
        vectors: Bool, n: Int, a: UnsafeMutablePointer<Double>, w: UnsafeMutablePointer<Double>,
        work: UnsafeMutablePointer<Double>, lwork: Int, iwork: UnsafeMutablePointer<Int32>, liwork: Int
    ) -> Int32 {
        return OpenBLASThreads.one {
            return LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, lapackChar(vectors ? "V" : "N"), lapackChar("L"),
                                cInt(n), a, cInt(n), w, work, cInt(lwork, "lwork"), iwork, cInt(liwork, "liwork"))
        }
    }

    // MARK: Symmetric eigenproblem in stages (SymmetricEigen-range.swift)

    /// From this order on, dsytrd (and getrf) run on ``fixedThreads`` OpenBLAS threads. Half of
    /// dsytrd's flops are dsymv, which reads the whole trailing matrix per column: memory-bound
    /// once the matrix outgrows the caches. Measured here (OpenBLAS 0.3.21, 2 cores): n = 1024
    /// 0.076 s on one thread, 0.079 s on two; n = 2048 0.567 → 0.307 s; n = 4096 5.54 → 3.22 s.
    static let fixedThreadsOrder = 2048
    /// A constant, not the core count or ``Linalg/threadCount``: OpenBLAS's threaded dsymv sums
    /// per-thread partial vectors, so its bytes depend on the thread count; with a fixed count
    /// they depend on n alone (measured: the same bytes with OPENBLAS_NUM_THREADS=1 and with one
    /// CPU of affinity, where the two threads take turns).
    static let fixedThreads = 2

    /// OpenBLAS threads of a fixed-thread routine (dsytrd, getrf) at order n: a function of n alone.
    static func threads(order n: Int) -> Int { n >= fixedThreadsOrder ? fixedThreads : 1 }
    //
    // The high-level LAPACKE entry points below query LAPACK for the optimal workspace
    // (lwork = -1), read the Double answer and allocate it themselves; a failed allocation comes
    // back as info -1011. They are all Double routines, so the query is exact at any size here.

    /// dsytrd on the lower triangle of the column-major n×n `a`: reduces it to a symmetric
    /// tridiagonal T = Qᵀ·A·Q. `d` (n) gets T's diagonal, `e` (at least n − 1) its
    /// off-diagonal, `tau` (at least n − 1) the reflector scales; Q's Householder vectors
    /// overwrite `a` below the first subdiagonal. About (4/3)n³ flops, half of them in dsymv.
    static func dsytrd(n: Int, a: UnsafeMutablePointer<Double>, d: UnsafeMutablePointer<Double>,
                       e: UnsafeMutablePointer<Double>, tau: UnsafeMutablePointer<Double>) -> Int32 {
        // The reduction's dsymv and dsyr2k run on a fixed number of OpenBLAS threads from n = 2048
        // (Threads.swift: a count fixed by the shape, so the bytes depend on n alone).
        return OpenBLASThreads.fixed(threads(order: n)) {
            LAPACKE_dsytrd(LAPACK_COL_MAJOR, lapackChar("L"), cInt(n), a, cInt(n), d, e, tau)
        }
    }

    /// dsterf: all eigenvalues of the symmetric tridiagonal (d, e), ascending into `d`
    /// (Pal–Walker–Kahan QL/QR, no vectors); `e` is destroyed. O(n²).
    static func dsterf(n: Int, d: UnsafeMutablePointer<Double>, e: UnsafeMutablePointer<Double>) -> Int32 {
        return OpenBLASThreads.one {
            return LAPACKE_dsterf(cInt(n), d, e)
        }
    }

    /// dstemr (MRRR) with range 'I': eigenvalues `il...iu` (1-based, ascending) of the symmetric
    /// tridiagonal (d, e) into `w`, their eigenvectors into the column-major n×`nzc` `z`
    /// (column j for w[j]); `m` gets the number found. `d` and `e` (length n; e[n−1] is
    /// workspace) are destroyed; `isuppz` holds 2·(iu − il + 1) integers. O(n·(iu − il + 1)).
    static func dstemr(
        n: Int, d: UnsafeMutablePointer<Double>, e: UnsafeMutablePointer<Double>, il: Int, iu: Int,
        m: inout Int32, w: UnsafeMutablePointer<Double>, z: UnsafeMutablePointer<Double>, nzc: Int,
        isuppz: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        return OpenBLASThreads.one {
            var tryrac: Int32 = 1   // try for high relative accuracy when T allows it
            return LAPACKE_dstemr(LAPACK_COL_MAJOR, lapackChar("V"), lapackChar("I"), cInt(n), d, e, 0, 0,
                                  cInt(il), cInt(iu), &m, w, z, cInt(n), cInt(nzc), isuppz, &tryrac)
        }
    }

    /// dlarft (forward, column-wise): the ib × ib upper triangular factor T of the block
    /// reflector H = H(1)···H(ib) = I − V·T·Vᵀ, V column-major m × ib (unit diagonal implied,
    /// only its strictly lower part read) with leading dimension `ldv`. O(m·ib²).
    static func dlarft(m: Int, ib: Int, v: UnsafePointer<Double>, ldv: Int, tau: UnsafePointer<Double>,
                       t: UnsafeMutablePointer<Double>) -> Int32 {
        return OpenBLASThreads.one {
            return LAPACKE_dlarft_work(LAPACK_COL_MAJOR, lapackChar("F"), lapackChar("C"), cInt(m), cInt(ib),
                                       v, cInt(ldv), tau, t, cInt(ib))
        }
    }

    /// dlarfb (left, no transpose, forward, column-wise): C = (I − V·T·Vᵀ)·C for the column-major
    /// m × `cols` C (leading dimension `ldc`), V m × ib (leading dimension `ldv`, unit lower
    /// trapezoidal: its diagonal and upper triangle are not read) and T from ``dlarft``. Reads
    /// V and T only (dtrmm and dgemm), so calls on disjoint C may share them. `work` holds
    /// `cols`·ib doubles. 4·m·cols·ib flops.
    static func dlarfb(m: Int, cols: Int, ib: Int, v: UnsafePointer<Double>, ldv: Int, t: UnsafePointer<Double>,
                       c: UnsafeMutablePointer<Double>, ldc: Int, work: UnsafeMutablePointer<Double>) -> Int32 {
        return OpenBLASThreads.one {
            return LAPACKE_dlarfb_work(LAPACK_COL_MAJOR, lapackChar("L"), lapackChar("N"), lapackChar("F"), lapackChar("C"),
                                       cInt(m), cInt(cols), cInt(ib), v, cInt(ldv), t, cInt(ib), c, cInt(ldc), work, cInt(cols))
        }
    }
}
