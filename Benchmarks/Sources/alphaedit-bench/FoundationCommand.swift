import ArgumentParser
import Foundation
import Linalg

extension AlphaEditBench {
    /// SGEMM and DSYEVD rates and the safetensors load rate.
    struct FoundationCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "foundation",
            abstract: "SGEMM and DSYEVD GFLOP/s at n = 1024, 2048, 4096 and the safetensors load rate of a ~1 GB file.")

        @OptionGroup var options: BenchOptions

        @Option(name: .long, parsing: .upToNextOption, help: "Matrix sizes n.")
        var sizes: [Int] = [1024, 2048, 4096]

        @Option(name: .long, help: "Bytes of the safetensors file (written, read, removed).")
        var safetensorsBytes = 1 << 30

        @Option(name: .long, help: "Directory for the temporary safetensors file (outside the repository).")
        var directory = "/tmp"

        func validate() throws {
            guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--sizes must be positive") }
            guard safetensorsBytes >= 1 << 20 else { throw ValidationError("--safetensors-bytes must be at least 1 MiB") }
        }

        func run() throws {
            let allocator = options.configureProcess()
            var context = RunContext.capture()
            context.allocator = allocator
            print("machine: \(context.machine.cpuModel), \(context.machine.cores) cores, OpenBLAS threads \(context.machine.openBLASThreads); load \(context.loadAverageAtStart)")

            var results = FoundationResults()
            for n in sizes {
                let timing = timeSGEMM(n: n, repetitions: options.repetitions)
                print(timing)
                results.sgemm.append(RateResult(n: n, timing: timing, flopCount: "2n³"))
            }
            for n in sizes {
                let timing = timeDSYEVD(n: n, repetitions: options.repetitions)
                print(timing)
                results.dsyevd.append(RateResult(n: n, timing: timing,
                                                 flopCount: "9n³ (nominal: the conventional count for the symmetric eigenproblem with vectors)"))
            }

            var runs: [SafetensorsLoadResult] = []
            for _ in 0..<options.repetitions {
                let result = try runSafetensorsLoadBenchmark(bytes: safetensorsBytes, directory: URL(fileURLWithPath: directory))
                print(result)
                runs.append(result)
            }
            results.safetensors = SafetensorsResults(runs)

            context.loadAverageAtEnd = BenchEnvironment.loadAverage()
            let url = options.outputURL(defaultName: "foundation")
            let text = try BenchReport(run: context, results: results).write(to: url)
            if options.json { print(text) }
            print("wrote \(url.path)")
        }
    }
}

/// The foundation suite's numbers.
struct FoundationResults: Codable {
    var sgemm: [RateResult] = []
    var dsyevd: [RateResult] = []
    var safetensors: SafetensorsResults?
}

/// One size of a GFLOP/s benchmark.
struct RateResult: Codable {
    var n: Int
    /// When in the run it was measured, if that matters ("before" / "after" the model passes).
    var measured: String?
    /// How `flops` was counted.
    var flopCount: String
    var flops: Double
    var gflops: Double
    var timings: Timings

    init(n: Int, timing: LinalgTiming, flopCount: String, measured: String? = nil) {
        self.n = n
        self.measured = measured
        self.flopCount = flopCount
        self.flops = timing.flops
        self.gflops = timing.gflops
        self.timings = Timings(timing.allSeconds)
    }
}

/// Safetensors reading rates over repetitions, each on a freshly written file.
struct SafetensorsResults: Codable {
    var note = "Warm page cache (the file has just been written and the cache cannot be dropped without root): these are memory-bandwidth and page-mapping rates, not disk rates. Rates in bytes per second of tensor data."
    var tensorBytes: Int
    var tensorCount: Int
    /// open (mmap + header validation) + `floats(_:)` of every tensor into new arrays: the load
    /// rate of a checkpoint into fresh memory.
    var loadBytesPerSecond: Double
    /// `floats(_:into:)` into one reused buffer (no page faults on fresh memory).
    var copyIntoBytesPerSecond: Double
    /// `withFloats(_:)`, zero-copy, summing every value.
    var zeroCopyBytesPerSecond: Double
    var repetitions: [Repetition]

    struct Repetition: Codable {
        var writeSeconds: Double
        var openSeconds: Double
        var copySeconds: Double
        var copyIntoSeconds: Double
        var zeroCopySeconds: Double
    }

    init(_ runs: [SafetensorsLoadResult]) {
        let bytes = Double(runs[0].tensorBytes)
        tensorBytes = runs[0].tensorBytes
        tensorCount = runs[0].tensorCount
        loadBytesPerSecond = runs.map { bytes / ($0.openSeconds + $0.copySeconds) }.max()!
        copyIntoBytesPerSecond = runs.map(\.copyIntoBytesPerSecond).max()!
        zeroCopyBytesPerSecond = runs.map(\.zeroCopyBytesPerSecond).max()!
        repetitions = runs.map {
            Repetition(writeSeconds: $0.writeSeconds, openSeconds: $0.openSeconds, copySeconds: $0.copySeconds,
                       copyIntoSeconds: $0.copyIntoSeconds, zeroCopySeconds: $0.zeroCopySeconds)
        }
    }
}
