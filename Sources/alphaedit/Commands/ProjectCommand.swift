import ArgumentParser
import Editing
import Foundation
import Transformer

/// `alphaedit project`: the null-space projectors of the edit layers, from cached statistics.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Null-space projectors of the edit layers from their statistics (cached next to them).",
        discussion: """
        For each edit layer: C0 = S / count, its eigendecomposition (float64), and P = U0·U0ᵀ over the \
        eigenvectors with eigenvalue below the threshold (the hparams' nullspace_threshold unless \
        --threshold). Prints the null-space dimension and the eigenvalues nearest the threshold (those \
        that could fall on the other side in another implementation). Statistics come from --stats-dir; \
        with --corpus, missing ones are computed first.

        Example:
          alphaedit project --model Tests/Fixtures/alphaedit-oracle/model \\
            --config Tests/Fixtures/alphaedit-oracle/hparams.json --stats-dir data/stats
        """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var statistics: StatisticsOptions
    @OptionGroup(title: "Distributed") var cluster: ClusterOptions

    @Option(help: ArgumentHelp("Compute missing statistics over this corpus first.", valueName: "file"))
    var corpus: String?

    @Option(help: ArgumentHelp("Null-space threshold on the eigenvalues of C0 (default: the hparams' nullspace_threshold, else 0.02).", valueName: "value"))
    var threshold: Double?

    @Option(name: .customLong("nearest"), help: ArgumentHelp("How many eigenvalues nearest the threshold to print.", valueName: "n"))
    var nearest = 3

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if let threshold, !(threshold > 0) || !threshold.isFinite { throw ValidationError("--threshold must be a positive number") }
        if nearest < 1 { throw ValidationError("--nearest must be at least 1") }
    }

    struct LayerReport: Encodable {
        let layer: Int
        let module: String
        let width: Int
        let null_space_dim: Int
        let threshold: Double
        let eigenvalues_near_threshold: [Double]
        let below: Double?
        let above: Double?
        let path: String
        let cached: Bool
    }

    func run() throws {
        let reporter = ProgressReporter(quiet: quiet)
        let hparams = try statistics.hparams(algorithm: threshold == nil ? .alphaedit : .memit)
        let job = try statistics.statisticsJob(model: model.modelURL, hparams: hparams,
                                               corpus: try corpus.map { try Corpus(url: URL(fileURLWithPath: $0)) })
        let modelURL = model.modelURL
        let value = threshold ?? hparams.nullspaceThreshold ?? 0.02
        let projectors = ProjectorJob(statistics: job, threshold: value)
        let (stats, result, cached) = try cluster.withExecutor(modelDirectory: modelURL, hparamsFile: statistics.hparamsURL, quiet: quiet) { executor in
        let stats = try job.run(model: {
            reporter.handle(.stage("loading \(modelURL.lastPathComponent)"))
            return try TransformerModel.load(directory: modelURL)
        }, executor: executor, events: reporter.handler)
        // What ProjectorJob will take from its cache (same test as ProjectorJob.run).
        let cached = Set(stats.filter { layerStats in
            guard let (p, provenance) = try? NullSpaceProjector.read(from: projectors.url(layer: layerStats.layer)) else { return false }
            return provenance.model == layerStats.provenance.model && provenance.corpus == layerStats.provenance.corpus
                && p.threshold == value && p.matrix.rows == layerStats.width
        }.map(\.layer))
        let result = try projectors.run(stats: stats, events: reporter.handler) { try executor.projectors($0, threshold: value) }
        return (stats, result, cached)
        }
        let layers = zip(stats, result).map { layerStats, p in
            LayerReport(layer: p.layer, module: layerStats.provenance.module, width: p.matrix.rows, null_space_dim: p.nullSpaceDimension,
                        threshold: value, eigenvalues_near_threshold: p.eigenvaluesNearThreshold(count: nearest),
                        below: p.eigenvalues.last { $0 < value }, above: p.eigenvalues.first { $0 >= value },
                        path: projectors.url(layer: p.layer).path, cached: cached.contains(p.layer))
        }
        if json {
            struct Report: Encodable { let model: String; let threshold: Double; let layers: [LayerReport] }
            try JSONOutput.print(Report(model: model.model, threshold: value, layers: layers))
            return
        }
        for layer in layers {
            let near = layer.eigenvalues_near_threshold.map { String(format: "%.6g", $0) }.joined(separator: ", ")
            print("layer \(layer.layer)  \(layer.module)  null space \(layer.null_space_dim) of \(layer.width)  (λ < \(value); nearest: \(near))  \(layer.cached ? "cached" : "computed")  \(layer.path)")
        }
    }
}
