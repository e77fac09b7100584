import ArgumentParser
import Foundation

extension AlphaEditBench {
    /// The distributed mode's scaling on this machine: 1 and 2 single-threaded workers.
    struct ClusterCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster",
            abstract: "Statistics, projectors and one edit batch with 1 and 2 single-threaded workers: speed-up, bytes, communication.",
            discussion: """
                Runs on a workload written by `alphaedit-bench edit prepare` (GPT-2-medium shape). \
                Spawns `alphaedit worker --threads 1` processes over ipc (the alphaedit executable \
                next to this one, or --alphaedit). Writes Benchmarks/results/cluster.json. \
                docs/scaling.md fits its cost model to these numbers.
                """)

        @OptionGroup var options: BenchOptions

        @Option(name: .long, help: ArgumentHelp("A directory written by `edit prepare`.", valueName: "dir")) var workload: String
        @Option(name: .long, help: "Statistics samples (default: the workload's mom2_n_samples).") var samples: Int?
        @Option(name: .long, help: "Requests in the edit batch (the workload's first N).") var requests = 4
        @Option(name: .long, help: "Samples per statistics chunk.") var chunkSamples = 250
        @Option(name: .long, parsing: .upToNextOption, help: "Worker counts to run, in order.") var workers: [Int] = [1, 2]
        @Option(name: .long, help: ArgumentHelp("The alphaedit executable (default: next to this one).", valueName: "file")) var alphaedit: String?
        @Option(name: .long, help: ArgumentHelp("Scratch directory (statistics, worker logs); removed afterwards.", valueName: "dir")) var scratch: String?

        func validate() throws {
            guard requests >= 1, chunkSamples >= 1, !workers.isEmpty, workers.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--requests, --chunk-samples and --workers must be positive")
            }
            if let samples, samples < 1 { throw ValidationError("--samples must be positive") }
        }

        func run() throws {
            var context = RunContext.capture()
            _ = options.configureProcess()
            let executable = alphaedit.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("alphaedit")
            guard FileManager.default.isExecutableFile(atPath: executable.path) else {
                throw ValidationError("\(executable.path) is not an executable; build it (swift build -c release --product alphaedit) or pass --alphaedit")
            }
            let scratchURL = (scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory)
                .appendingPathComponent("alphaedit-bench-cluster-\(UUID().uuidString.prefix(8))", isDirectory: true)
            defer { try? FileManager.default.removeItem(at: scratchURL) }
            let bench = ClusterBenchmark(layout: EditWorkloadLayout(directory: URL(fileURLWithPath: workload)), alphaedit: executable,
                                         samples: samples, requestCount: requests, chunkSamples: chunkSamples, scratch: scratchURL,
                                         workerCounts: workers)
            let results = try bench.run()
            for run in results.runs {
                for name in ["statistics", "projectors", "edit_batch"] {
                    guard let p = run.phases[name] else { continue }
                    print("\(run.workers) worker(s) \(name): \(formatted(p.seconds, 1)) s, critical compute \(formatted(p.criticalComputeSeconds, 1)) s, "
                          + "communication \(formatted(p.communicationSeconds, 2)) s, \(formatted(Double(p.coordinatorBytes) / 1e6, 1)) MB via coordinator, "
                          + "\(formatted(Double(p.peerBytes) / 1e6, 1)) MB worker to worker")
                }
            }
            for (name, value) in results.speedups.sorted(by: { $0.key < $1.key }) { print("speed-up \(name): \(formatted(value, 2))×") }
            print("same bytes across runs: \(results.sameBytes)")
            context.loadAverageAtEnd = BenchEnvironment.loadAverage()
            let url = options.outputURL(defaultName: "cluster")
            let text = try BenchReport(run: context, results: results).write(to: url)
            if options.json { print(text) }
            print("wrote \(url.path)")
        }
    }
}
