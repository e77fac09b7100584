// What every result JSON carries besides its numbers: the command, date, git commit, machine,
// Swift version, build configuration and the load average around the run.

import Foundation
import Linalg

/// The context of one benchmark run.
struct RunContext: Codable {
    /// The command line that produced the report.
    var command: String
    /// ISO 8601, UTC, when the run started.
    var date: String
    /// `git rev-parse HEAD` in the package directory, or "unknown".
    var gitCommit: String
    /// Whether `git status --porcelain` listed changes (the numbers then include uncommitted
    /// code), or nil when git was unavailable.
    var gitDirty: Bool?
    var machine: MachineDescription
    /// `swift --version` (first line), or the compiler version this binary was built with.
    var swiftVersion: String
    /// "release" or "debug".
    var buildConfiguration: String
    /// 1-, 5- and 15-minute load averages (`/proc/loadavg`) when the run started and ended.
    /// The machine has few cores and is shared: a 1-minute load well above 0 means the
    /// numbers are pessimistic.
    var loadAverageAtStart: [Double]
    var loadAverageAtEnd: [Double]?
    /// The memory allocator's policy (`--freed-memory`, else `ALPHAEDIT_FREED_MEMORY`, else retain).
    var allocator = "glibc default"

    static func capture() -> RunContext {
        let git = BenchEnvironment.run("/usr/bin/env", ["git", "-C", BenchPaths.packageDirectory.path, "rev-parse", "HEAD"])
        let status = BenchEnvironment.run("/usr/bin/env", ["git", "-C", BenchPaths.packageDirectory.path, "status", "--porcelain"])
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        return RunContext(
            command: CommandLine.arguments.joined(separator: " "),
            date: ISO8601DateFormatter().string(from: Date()),
            gitCommit: git?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown",
            gitDirty: status.map { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty },
            machine: .current(),
            swiftVersion: BenchEnvironment.swiftVersion,
            buildConfiguration: configuration,
            loadAverageAtStart: BenchEnvironment.loadAverage(),
            loadAverageAtEnd: nil)
    }
}

/// The machine a run measured.
struct MachineDescription: Codable {
    /// `model name` from /proc/cpuinfo.
    var cpuModel: String
    /// Online logical processors.
    var cores: Int
    /// Physical memory in bytes.
    var memoryBytes: UInt64
    /// OpenBLAS threads per call during the run.
    var openBLASThreads: Int
    /// `Linalg.backendDescription`: OpenBLAS build and the kernel it selected.
    var blasBackend: String
    /// `uname -sr`-like kernel string.
    var operatingSystem: String
    /// SIMD extensions the CPU reports that matter for SGEMM (from /proc/cpuinfo flags).
    var simdFlags: [String]

    static func current() -> MachineDescription {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix(name) {
                if let colon = line.firstIndex(of: ":") {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let interesting = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile"]
        return MachineDescription(
            cpuModel: field("model name") ?? "unknown",
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory,
            openBLASThreads: Linalg.threadCount,
            blasBackend: Linalg.backendDescription,
            operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString,
            simdFlags: interesting.filter(flags.contains))
    }
}

enum BenchEnvironment {
    /// The first line of `swift --version`, else the compiler this binary was built with.
    static var swiftVersion: String {
        if let output = run("/usr/bin/env", ["swift", "--version"]),
           let line = output.split(separator: "\n").first(where: { $0.contains("Swift version") }) {
            return String(line).trimmingCharacters(in: .whitespaces)
        }
        return "compiled with Swift \(compiledSwiftVersion)"
    }

    private static var compiledSwiftVersion: String {
        #if compiler(>=6.3)
        return ">= 6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "< 6.1"
        #endif
    }

    /// `/proc/loadavg`'s three load averages, or [] when unreadable.
    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// Runs a program and returns its standard output, or nil if it could not run or failed.
    static func run(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A report: the run's context and a suite's results, encoded with snake_case keys.
struct BenchReport<Results: Codable>: Codable {
    var run: RunContext
    var results: Results

    /// Writes the report atomically (pretty-printed, sorted keys) and returns its JSON text.
    @discardableResult
    func write(to url: URL) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(self)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A timed quantity: the best run and every run, in seconds.
struct Timings: Codable {
    /// The shortest wall-clock time.
    var bestSeconds: Double
    /// Every timed repetition's wall-clock time, in order (warm-up runs excluded).
    var seconds: [Double]
    /// CPU time of the whole process (all threads, user + system) during each repetition, when
    /// measured. On a loaded machine wall time inflates; CPU time much less so. With one BLAS
    /// thread, CPU time ≈ wall time on an idle machine.
    var cpuSeconds: [Double]?

    init(_ seconds: [Double], cpuSeconds: [Double]? = nil) {
        self.seconds = seconds
        self.bestSeconds = seconds.min() ?? .infinity
        self.cpuSeconds = cpuSeconds
    }
}

/// Seconds elapsed while running `body`.
func measureSeconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try body()
    let elapsed = clock.now - start
    return (value, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

/// CPU seconds (user + system, every thread) this process has used so far.
func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}

/// `value` rounded to `digits` decimals, for printing.
func formatted(_ value: Double, _ digits: Int = 2) -> String {
    String(format: "%.\(digits)f", value)
}
