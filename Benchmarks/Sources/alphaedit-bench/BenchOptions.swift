import ArgumentParser
import Foundation
import Linalg

/// Options every benchmark subcommand shares.
struct BenchOptions: ParsableArguments {
    @Option(name: .long, help: "Timed repetitions of each measurement (the best is reported, all are listed).")
    var repetitions = 3

    @Option(name: .long, help: "OpenBLAS threads (default: OpenBLAS's own choice, the core count or OPENBLAS_NUM_THREADS).")
    var threads: Int?

    @Option(name: .long, help: "Where to write the JSON report (default: Benchmarks/results/<subcommand>.json in the package).")
    var output: String?

    @Option(name: .long, help: ArgumentHelp("""
        retain: keep freed memory for the next pass, as the alphaedit command does (its default, \
        ALPHAEDIT_FREED_MEMORY); release: hand large freed blocks back to the system, the C library's default.
        """, valueName: "retain|release"))
    var freedMemory: FreedMemoryPolicy?

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

    /// Applies `--threads` and `--freed-memory`; returns the allocator policy in effect.
    @discardableResult
    func configureProcess() -> String {
        if let threads { Linalg.setThreadCount(threads) }
        let policy: FreedMemoryPolicy
        if let freedMemory {
            policy = freedMemory
        } else {
            do { policy = try FreedMemoryPolicy.fromEnvironment() } catch { return "C library default (\(error))" }
        }
        return policy.apply()
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

extension FreedMemoryPolicy: ExpressibleByArgument {}
