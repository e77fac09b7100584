import ArgumentParser
import Foundation
import Linalg
import Transformer

extension AlphaEditBench {
    /// The editing engine benchmark: one batch of edits, every stage timed and rated against SGEMM,
    /// optionally against the official PyTorch implementation's times on the same workload.
    struct EditCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit",
            abstract: "The editing engine: one batch of AlphaEdit edits on a GPT-2-medium-shaped model, stage by stage.",
            discussion: """
                `edit prepare` writes a workload directory (random GPT-2 checkpoint, corpus, requests, \
                hparams, context templates) that alphaedit and the official PyTorch code both read; \
                `edit run` times statistics, projector, targets, keys and solve on it and writes \
                Benchmarks/results/edit.json; `edit compare` rates a finished report against official \
                times measured after it.
                """,
            subcommands: [EditPrepareCommand.self, EditRunCommand.self, EditCompareCommand.self, EditTargetsProfileCommand.self])
    }

    /// `edit prepare`: the workload directory.
    struct EditPrepareCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prepare",
            abstract: "Write the edit benchmark's workload directory (atomically).")

        @Option(name: .long, help: ArgumentHelp("The workload directory to write.", valueName: "dir")) var output: String
        @Option(name: .long, help: "Decoder blocks (n_layer).") var layers = 24
        @Option(name: .long, help: "Hidden width (n_embd).") var width = 1024
        @Option(name: .long, help: "Attention heads (n_head).") var heads = 16
        @Option(name: .long, help: "Model vocabulary (vocab_size); at least the tokenizer's.") var vocab = 50257
        @Option(name: .long, help: "Learned positions (n_positions).") var positions = 1024
        @Option(name: .long, help: "Seed of the weights.") var seed: UInt64 = 0
        @Option(name: .long, help: "Statistics samples: the first N texts of the source corpus (mom2_n_samples).") var samples = 10_000
        @Option(name: .long, help: "Edit requests: the first N CounterFact records.") var requests = 100
        @Option(name: .long, parsing: .upToNextOption,
                help: "Edited layers (default: 4 5 6 7 8 with at least 10 blocks, else 1…n/2).")
        var editLayers: [Int] = []
        @Option(name: .long, help: "Seed of the sampled context templates.") var templateSeed: UInt64 = 0
        @Option(name: .long, help: ArgumentHelp("Model folder whose tokenizer files and corpus.jsonl are used (default: Models/knowledge-gpt2).", valueName: "dir"))
        var sourceModel: String?
        @Option(name: .long, help: ArgumentHelp("CounterFact file (default: the counterfact*.json in Data/).", valueName: "file"))
        var counterfact: String?
        @Flag(name: .long, help: "Replace an existing workload directory.") var overwrite = false

        func validate() throws {
            guard layers >= 1, width >= 1, heads >= 1, vocab >= 2, positions >= 2 else { throw ValidationError("every size must be positive") }
            guard width % heads == 0 else { throw ValidationError("--width must be a multiple of --heads") }
        }

        func run() throws {
            let source = sourceModel.map { URL(fileURLWithPath: $0) }
                ?? BenchPaths.packageDirectory.appendingPathComponent("Models/knowledge-gpt2", isDirectory: true)
            let preparation = EditWorkloadPreparation(
                layers: layers, width: width, heads: heads, vocabularySize: vocab, positions: positions, seed: seed,
                samples: samples, requests: requests, editLayers: editLayers.isEmpty ? nil : editLayers,
                templateSeed: templateSeed, sourceModel: source, counterfact: try counterfactFile())
            if let problem = try preparation.validate() { throw ValidationError(problem) }
            let destination = URL(fileURLWithPath: output)
            let (_, seconds) = try measureSeconds {
                try preparation.write(to: destination, overwrite: overwrite) { print($0); fflush(nil) }
            }
            let bytes = directoryBytes(destination)
            print("wrote \(destination.path) in \(formatted(seconds, 1)) s (\(formatted(Double(bytes) / 1e9, 3)) GB)")
        }

        private func counterfactFile() throws -> URL {
            if let counterfact { return URL(fileURLWithPath: counterfact) }
            let data = BenchPaths.packageDirectory.appendingPathComponent("Data", isDirectory: true)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: data.path)) ?? []
            guard let name = names.filter({ $0.lowercased().hasPrefix("counterfact") && $0.hasSuffix(".json") }).sorted().first else {
                throw ValidationError("no counterfact*.json in \(data.path); pass --counterfact FILE")
            }
            return data.appendingPathComponent(name)
        }
    }

    /// `edit run`: the timed edit.
    struct EditRunCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Time one batch of AlphaEdit edits stage by stage on a prepared workload.",
            discussion: """
                Stages: statistics (StatisticsJob: one pass over the corpus for every edit layer), \
                projector (ProjectorJob: float64 eigendecomposition, P), targets (compute_z of every \
                request), keys (compute_ks per layer and the current outputs at the z layer), solve \
                (the AlphaEdit system, the weight update and the key cache). The edit is the one `alphaedit edit` makes on \
                the same inputs. --repetitions applies to the SGEMM yardstick only: the edit runs once.
                """)

        @OptionGroup var options: BenchOptions

        @Option(name: .long, help: ArgumentHelp("A directory written by `edit prepare`.", valueName: "dir")) var workload: String
        @Option(name: .long, help: ArgumentHelp("The official implementation's stage times: {\"stages\": {\"statistics\": s, …}, \"total_seconds\": s}.", valueName: "file"))
        var official: String?
        @Option(name: .long, parsing: .upToNextOption, help: "SGEMM sizes of the yardstick, measured before and after the edit (the best rate is used).")
        var sgemmSizes: [Int] = [2048]
        @Option(name: .long, help: "Samples between the statistics pass's checkpoints (default: StatisticsJob's, as `alphaedit edit`; 0: none).")
        var checkpointInterval: Int?
        @Option(name: .long, help: ArgumentHelp("Where the statistics and projector files go while the run lasts (default: the system's temporary directory); removed afterwards.", valueName: "dir"))
        var scratch: String?
        @Option(name: .long, help: ArgumentHelp("Write the edit's deltas (alphaedit-deltas.safetensors format) here.", valueName: "file"))
        var saveDeltas: String?
        @Option(name: .long, help: ArgumentHelp("Compare the deltas with this alphaedit-deltas.safetensors (e.g. from `alphaedit edit` on the workload).", valueName: "file"))
        var referenceDeltas: String?
        @Option(name: .long, help: ArgumentHelp("Write the projector P of every edit layer here (safetensors, float32 [d0, d0] tensors named P.<layer>; official_edit_bench.py --stages edit --projectors reads it).", valueName: "file"))
        var saveProjectors: String?
        @Option(name: .long, help: ArgumentHelp("Compare the projectors with this file's (the --save-projectors format; official_edit_bench.py --save-projectors writes the official code's).", valueName: "file"))
        var referenceProjectors: String?
        @Option(name: .long, help: ArgumentHelp("Write the target z of every request here (safetensors, float32 [d] tensors named z.<case_id>; official_edit_bench.py --stages keys-solve --targets reads it).", valueName: "file"))
        var saveTargets: String?
        @Option(name: .long, help: ArgumentHelp("Compare the targets with this file's (the --save-targets format; official_edit_bench.py --save-targets writes the official code's).", valueName: "file"))
        var referenceTargets: String?

        func validate() throws {
            guard !sgemmSizes.isEmpty, sgemmSizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--sgemm-sizes must be positive") }
            if let checkpointInterval, checkpointInterval < 0 { throw ValidationError("--checkpoint-interval must not be negative") }
            // Files read or written after an hour of work: their problems should show before it.
            for (flag, path) in [("--reference-deltas", referenceDeltas), ("--reference-projectors", referenceProjectors), ("--reference-targets", referenceTargets)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) { throw ValidationError("\(flag) \(path): no readable file there") }
            }
            // The safetensors files go into an existing directory; the report's directory is created.
            for (flag, path) in [("--save-deltas", saveDeltas), ("--save-projectors", saveProjectors), ("--save-targets", saveTargets)] {
                guard let path else { continue }
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
                if !FileManager.default.isWritableFile(atPath: directory) { throw ValidationError("\(flag) \(path): cannot write in \(directory) (does it exist?)") }
            }
            if let output = options.output {
                var directory = URL(fileURLWithPath: output).deletingLastPathComponent()
                while !FileManager.default.fileExists(atPath: directory.path), directory.path != "/" { directory.deleteLastPathComponent() }
                if !FileManager.default.isWritableFile(atPath: directory.path) { throw ValidationError("--output \(output): cannot write in \(directory.path)") }
            }
        }

        func run() throws {
            let allocator = options.configureProcess()
            var context = RunContext.capture()
            context.allocator = allocator
            print("machine: \(context.machine.cpuModel), \(context.machine.cores) cores, OpenBLAS threads \(context.machine.openBLASThreads); load \(context.loadAverageAtStart)")
            fflush(nil)
            // Read the official times first: a malformed file should fail before an hour of work.
            let officialTimes = try official.map { try OfficialTimes.load(URL(fileURLWithPath: $0)) }
            let bench = try EditBenchmark(
                layout: EditWorkloadLayout(directory: URL(fileURLWithPath: workload)),
                sgemmSizes: sgemmSizes, sgemmRepetitions: options.repetitions,
                checkpointInterval: checkpointInterval.map { $0 == 0 ? Int.max : $0 },
                scratch: scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory,
                saveDeltas: saveDeltas.map { URL(fileURLWithPath: $0) },
                referenceDeltas: referenceDeltas.map { URL(fileURLWithPath: $0) },
                saveProjectors: saveProjectors.map { URL(fileURLWithPath: $0) },
                referenceProjectors: referenceProjectors.map { URL(fileURLWithPath: $0) },
                saveTargets: saveTargets.map { URL(fileURLWithPath: $0) },
                referenceTargets: referenceTargets.map { URL(fileURLWithPath: $0) })
            let results = try bench.run(official: officialTimes)
            EditTable.print(results)
            context.loadAverageAtEnd = BenchEnvironment.loadAverage()
            let url = options.outputURL(defaultName: "edit")
            let text = try BenchReport(run: context, results: results).write(to: url)
            if options.json { print(text) }
            print("wrote \(url.path)")
        }
    }
}

/// Bytes of every regular file under `url`.
func directoryBytes(_ url: URL) -> Int {
    guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
    var total = 0
    for case let file as URL in enumerator {
        let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
        if values?.isRegularFile == true { total += values?.fileSize ?? 0 }
    }
    return total
}
