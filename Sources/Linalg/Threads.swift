internal import COpenBLAS

// OpenBLAS's thread pool is process-wide: these settings affect every Linalg call in the
// process, from every Swift thread.

extension Linalg {
    /// The number of threads OpenBLAS uses for one BLAS/LAPACK call (process-wide).
    ///
    /// Defaults to the number of cores (or `OPENBLAS_NUM_THREADS`).
    public static var threadCount: Int {
        Int(openblas_get_num_threads())
    }

    /// Sets the number of threads OpenBLAS uses per call, process-wide. Use 1 when the
    /// caller already parallelises (e.g. one worker per core).
    /// - Precondition: `count >= 1`.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "Linalg.setThreadCount: need at least 1 thread, got \(count)")
        openblas_set_num_threads(cInt(count, "thread count"))
    }

    /// OpenBLAS's build configuration and the CPU kernel it selected, e.g.
    /// `"OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core: Haswell)"`;
    /// for benchmark reports.
    public static var backendDescription: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config) (core: \(core))"
    }
}
