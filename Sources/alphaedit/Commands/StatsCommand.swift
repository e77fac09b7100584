import ArgumentParser
import Editing
import Foundation
import Transformer

/// `alphaedit stats`: second-moment statistics of the edit layers; computed (the default),
/// merged, or imported from the official `.npz` files.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Second-moment statistics of the MLP keys of the edit layers: compute, merge or import them.",
        discussion: """
        `alphaedit stats --model … --config … --corpus …` computes them (the `compute` subcommand is the \
        default); `alphaedit stats merge` adds statistics of corpus shards; `alphaedit stats import` \
        converts the official .npz cache files.
        """,
        subcommands: [StatsComputeCommand.self, StatsMergeCommand.self, StatsImportCommand.self],
        defaultSubcommand: StatsComputeCommand.self
    )
}

/// `alphaedit stats [compute]`: S = Σ k·kᵀ and the token count of each edit layer over a corpus,
/// cached where `alphaedit edit` and `alphaedit project` look for them.
struct StatsComputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Compute the statistics of the hparams' edit layers over a corpus (resumable).",
        discussion: """
        Samples are picked as the official code picks them (the first mom2_n_samples of Python's \
        random.Random(1).shuffle), each tokenised on its own and truncated to the model's context; every \
        real token counts. The pass checkpoints every --checkpoint-every samples \
        (<file>.partial.safetensors); run the same command again after an interruption and it resumes, \
        ending with the same bytes as an uninterrupted run. Layers already cached are not recomputed.

        Example:
          alphaedit stats --model Tests/Fixtures/alphaedit-oracle/model \\
            --config Tests/Fixtures/alphaedit-oracle/hparams.json \\
            --corpus Tests/Fixtures/alphaedit-oracle/stats_corpus.txt --stats-dir data/stats
        """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var statistics: StatisticsOptions
    @OptionGroup(title: "Distributed") var cluster: ClusterOptions

    @Option(help: ArgumentHelp("Text standing in for the hparams' mom2_dataset: one sample per line, or .jsonl with a \"text\" field.", valueName: "file"))
    var corpus: String

    @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp("Samples between checkpoints of the pass (rounded up to whole chunks; default: every chunk, so an interrupted or distributed pass redoes at most the chunks in flight).", valueName: "n"))
    var checkpointEvery: Int?

    @Option(name: .customLong("chunk-samples"), help: ArgumentHelp("Samples per chunk of the pass: each chunk is summed from zero and the chunks are added in order, so the result depends on this value but not on the number of workers or threads.", valueName: "n"))
    var chunkSamples = 1000

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        if chunkSamples < 1 { throw ValidationError("--chunk-samples must be at least 1") }
    }

    struct LayerReport: Encodable {
        let layer: Int
        let module: String
        let path: String
        let width: Int
        let tokens: Int
        let samples: Int
        let cached: Bool
    }

    struct Report: Encodable {
        let model: String
        let fingerprint: String
        let corpus: String
        let layers: [LayerReport]
        let seconds: Double
    }

    func run() throws {
        let started = Date()
        let reporter = ProgressReporter(quiet: quiet)
        let hparams = try statistics.hparams()
        let corpusData = try Corpus(url: URL(fileURLWithPath: corpus))
        var job = try statistics.statisticsJob(model: model.modelURL, hparams: hparams, corpus: corpusData)
        job.checkpointInterval = checkpointEvery ?? chunkSamples
        job.chunkSamples = chunkSamples
        let cached = Set(hparams.layers.filter { FileManager.default.fileExists(atPath: job.url(layer: $0).path) })
        let modelURL = model.modelURL
        let stats = try cluster.withExecutor(modelDirectory: modelURL, hparamsFile: statistics.hparamsURL, quiet: quiet) { executor in
            try job.run(model: {
                reporter.handle(.stage("loading \(modelURL.lastPathComponent)"))
                return try TransformerModel.load(directory: modelURL)
            }, executor: executor, events: reporter.handler)
        }
        let seconds = Date().timeIntervalSince(started)
        let layers = stats.map {
            LayerReport(layer: $0.layer, module: $0.provenance.module, path: job.url(layer: $0.layer).path, width: $0.width,
                        tokens: $0.count, samples: $0.samples, cached: cached.contains($0.layer))
        }
        let report = Report(model: model.model, fingerprint: job.modelFingerprint, corpus: corpus, layers: layers, seconds: seconds)
        if json {
            try JSONOutput.print(report)
            return
        }
        for layer in layers {
            print("layer \(layer.layer)  \(layer.module)  \(layer.tokens) tokens, \(layer.samples) samples, \(layer.width)×\(layer.width)  \(layer.cached ? "cached" : "computed")  \(layer.path)")
        }
    }
}
