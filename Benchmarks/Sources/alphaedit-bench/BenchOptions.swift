import ArgumentParser
import Foundation
import Linalg
#if canImport(Glibc)
import Glibc
#endif

/// Options every benchmark subcommand shares.
struct BenchOptions: ParsableArguments {
    @Option(name: .long, help: "Timed repetitions of each measurement (the best is reported, all are listed).")
    var repetitions = 3

    @Option(name: .long, help: "OpenBLAS threads (default: OpenBLAS's own choice, the core count or OPENBLAS_NUM_THREADS).")
    var threads: Int?

    @Option(name: .long, help: "Where to write the JSON report (default: Benchmarks/results/<subcommand>.json in the package).")
    var output: String?

    @Flag(name: .long, help: """
        Keep freed memory in the process (glibc: no mmap for large blocks, no trimming) so that         buffers freed by one pass are reused by the next without page faults. Off by default: the         default numbers are what any caller gets.
        """)
    var retainFreedMemory = false

    @Flag(name: .long, help: "Print the JSON report instead of only its path.")
    var json = false

    @Flag(name: .long, help: "Run even in a debug build (its numbers mean little).")
    var allowDebug = false

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        #if DEBUG
        if !allowDebug {
            throw ValidationError("this is a debug build; build with -c release, or pass --allow-debug")
        }
        #endif
    }

    /// Applies `--threads` and `--retain-freed-memory`; returns the allocator policy in effect.
    @discardableResult
    func configureProcess() -> String {
        if let threads { Linalg.setThreadCount(threads) }
        guard retainFreedMemory else { return "glibc default" }
        #if canImport(Glibc)
        // Every block from the heap (M_MMAP_MAX = 0) and the heap never trimmed
        // (M_TRIM_THRESHOLD = −1). Glibc's module map leaves out <malloc.h>, so `mallopt` is
        // looked up by name; the option numbers are malloc.h's.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        let (trimThreshold, mmapMax): (Int32, Int32) = (-1, -4)
        guard let symbol = dlsym(nil, "mallopt") else { return "glibc default (mallopt not found)" }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let ok = mallopt(mmapMax, 0) == 1 && mallopt(trimThreshold, -1) == 1
        return ok ? "glibc, retain freed memory (M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1)" : "glibc default (mallopt refused)"
        #else
        return "system default (--retain-freed-memory needs glibc)"
        #endif
    }

    /// The report path: `--output`, or `Benchmarks/results/<name>.json` next to this source tree.
    func outputURL(defaultName: String) -> URL {
        if let output { return URL(fileURLWithPath: output) }
        return BenchPaths.resultsDirectory.appendingPathComponent("\(defaultName).json")
    }
}

/// Locations derived from this file's path: `Benchmarks/Sources/alphaedit-bench/BenchOptions.swift`.
enum BenchPaths {
    static let benchmarksDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // alphaedit-bench
        .deletingLastPathComponent()   // Sources
        .deletingLastPathComponent()   // Benchmarks
    static let packageDirectory = benchmarksDirectory.deletingLastPathComponent()
    static let resultsDirectory = benchmarksDirectory.appendingPathComponent("results")
}
