import Foundation
import Synchronization
internal import COpenBLAS

// Threads, and why results never depend on their number.
//
// OpenBLAS's own threading splits a product by the thread count, and its kernels round the
// edge tiles of a split differently from the interior, so the last bits of every threaded
// product depend on how many threads ran it (measured: ~20% of sgemm elements differ between
// 1 and 2 threads). alphaedit promises the same bytes from one process and from any number of
// workers, each with any `--threads`. So OpenBLAS is pinned to one thread per call, and Linalg
// parallelises itself: a product is cut into blocks whose sizes depend only on its shape
// (``ProductSplit``), each block is one single-threaded BLAS call, and `threadCount` threads
// take the blocks. One thread or sixteen compute exactly the same blocks. (Large products are
// cut into row blocks sized for the thread count instead, where the kernel gives such blocks the
// bytes of one unsplit call: GEMM-exact-rows.swift.) Two LAPACK routines run on a fixed number of
// OpenBLAS threads instead, from n = 2048: the tridiagonal reduction and the LU factorisation (a
// count fixed by the shape, not by `threadCount`: the same bytes everywhere); `OpenBLASThreads`
// keeps every other call off their threads while they run.

extension Linalg {
    /// The number of threads Linalg (and the transformer runtime) uses for one operation.
    /// Process-wide; defaults to `OPENBLAS_NUM_THREADS` when set, else the number of cores.
    public static var threadCount: Int {
        threadState.withLock { $0 }
    }

    /// Sets the number of threads per operation, process-wide. Use 1 when the caller already
    /// parallelises (e.g. one worker per core). Results do not depend on it.
    /// - Precondition: `count >= 1`.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "Linalg.setThreadCount: need at least 1 thread, got \(count)")
        threadState.withLock { $0 = count }
    }

    /// OpenBLAS's build configuration and the CPU kernel it selected, e.g.
    /// `"OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core: Haswell)"`;
    /// for benchmark reports.
    public static var backendDescription: String {
        pinOpenBLAS()
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config) (core: \(core))"
    }

    /// Runs `body` with `count` threads per operation, then restores the previous count.
    /// Calls are serialised process-wide so that two callers never interleave their settings.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        threadCountLock.lock()
        defer { threadCountLock.unlock() }
        let previous = threadCount
        setThreadCount(count)
        defer { setThreadCount(previous) }
        return try body()
    }
}

private let threadCountLock = NSLock()

/// The thread count, initialised from the environment.
private let threadState = LockedValue<Int>({
    if let text = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"], let n = Int(text), n >= 1 { return n }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
}())

/// OpenBLAS runs every call on the calling thread (set once, before the first BLAS call).
private let openBLASPinned: Void = { openblas_set_num_threads(1) }()

@inline(__always)
func pinOpenBLAS() { _ = openBLASPinned }

/// Every BLAS and LAPACK call goes through here. OpenBLAS's thread count is one process-wide
/// setting, so the calls that run on a fixed number of OpenBLAS threads (the tridiagonal
/// reduction and the LU factorisation from n = 2048, Kernels-LAPACK.swift) hold it alone: a writer-preferring
/// readers–writer lock, shared by the one-thread calls (which never nest), exclusive for a fixed
/// count. No call ever runs under a count it did not ask for, whatever runs beside it.
enum OpenBLASThreads {
    /// `body` (one BLAS or LAPACK call) on the calling thread alone.
    @inline(__always)
    static func one<R>(_ body: () throws -> R) rethrows -> R {
        pinOpenBLAS()
        lock.readLock()
        defer { lock.unlock() }
        return try body()
    }

    /// `body` with OpenBLAS threading its calls over exactly `count` threads (1: as ``one(_:)``),
    /// while no other call runs.
    static func fixed<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        guard count > 1 else { return try one(body) }
        pinOpenBLAS()
        lock.writeLock()
        defer { lock.unlock() }
        openblas_set_num_threads(Int32(count))
        defer { openblas_set_num_threads(1) }
        return try body()
    }

    private static let lock = ReadersWriterLock()
}

/// A pthread readers–writer lock that prefers writers (new readers wait while a writer waits),
/// so a stream of short shared sections cannot starve an exclusive one. Not recursive.
private final class ReadersWriterLock: @unchecked Sendable {
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rwlock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        let status = pthread_rwlock_init(rwlock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(status == 0, "Linalg: pthread_rwlock_init failed (\(status))")
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    @inline(__always) func readLock() { pthread_rwlock_rdlock(rwlock) }
    @inline(__always) func writeLock() { pthread_rwlock_wrlock(rwlock) }
    @inline(__always) func unlock() { pthread_rwlock_unlock(rwlock) }
}

extension Linalg {
    /// Runs `body(block index, range)` for the consecutive blocks of `0..<length` (each `block`
    /// long, the last shorter) on up to `threadCount` threads; returns when all are done. The
    /// threads take the next block as they finish one (blocks of unequal cost keep every thread
    /// busy); the blocks depend on `length` and `block` only, so a computation that writes each
    /// block's results apart gives the same bytes on any number of threads.
    public static func forEachBlock(_ length: Int, block: Int, _ body: (Int, Range<Int>) -> Void) {
        precondition(block > 0)
        let blocks = (length + block - 1) / block
        let threads = min(threadCount, blocks)
        if threads <= 1 {
            for b in 0..<blocks { body(b, (b * block)..<min(length, (b + 1) * block)) }
            return
        }
        // The blocks are disjoint and `concurrentPerform` returns only when every thread has
        // finished, so `body` never outlives this call.
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                while true {
                    let b = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard b < blocks else { return }
                    work(b, (b * block)..<min(length, (b + 1) * block))
                }
            }
        }
    }
}

/// A value behind a lock.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// How a product is cut into blocks: a function of its shape alone, never of the thread count
/// (but see `exactRowBlock`, for products whose row blocks have one call's bytes).
enum ProductSplit {
    /// Products with fewer multiply-adds than this run as one call.
    static let minimumWork = 1 << 18
    /// A block is at least this many rows or columns of C.
    static let minimumBlock = 128
    /// At most this many blocks per product.
    static let maximumBlocks = 64

    /// Block length along a dimension of `length` (a multiple of 16), or nil when the product
    /// is not split.
    static func block(length: Int, work: Int) -> Int? {
        guard work >= minimumWork, length >= 2 * minimumBlock else { return nil }
        let wanted = max(minimumBlock, (length + maximumBlocks - 1) / maximumBlocks)
        return (wanted + 15) / 16 * 16
    }
}
