import ArgumentParser
import Editing
import Foundation

/// `alphaedit stats import`: the official cached statistics (`.npz`) into the statistics cache.
struct StatsImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import the official AlphaEdit statistics (.npz) so that `alphaedit edit` and `project` use them.",
        discussion: """
        The official code caches statistics as data/stats/<model>/<dataset>_stats/<module>_<dtype>_mom2_<n>.npz \
        (mom2.mom2 = the un-normalised sum S, mom2.count = tokens). Each file's layer comes from its name; \
        the dtype and n in the name must be the hparams' mom2_dtype and mom2_n_samples. The statistics are \
        written under --stats-dir as this model's (the fingerprint of --model), for the hparams' mom2_dataset, \
        where `alphaedit edit` looks when no --corpus is given.

        Example:
          alphaedit stats import --model models/Meta-Llama-3-8B-Instruct --config hparams/AlphaEdit/Llama3-8B.json \\
            --stats-dir data/stats-swift data/stats/Meta-Llama-3-8B-Instruct/wikipedia_stats/*.npz
        """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var statistics: StatisticsOptions

    @Argument(help: ArgumentHelp("Official statistics files, <module>_<dtype>_mom2_<n>.npz.", valueName: "file.npz"))
    var files: [String]

    @Flag(help: "Replace statistics already in the cache.")
    var overwrite = false

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one .npz file to import") }
    }

    struct LayerReport: Encodable {
        let source: String
        let path: String
        let layer: Int
        let module: String
        let width: Int
        let tokens: Int
        let samples: Int
        let edit_layer: Bool
    }

    func run() throws {
        let reporter = ProgressReporter(quiet: quiet)
        let importer = try NPZStatisticsImport(modelDirectory: model.modelURL, hparams: try statistics.hparams(),
                                               hparamsPath: statistics.config, statsDirectory: statistics.statsURL)
        reporter.handle(.stage("importing \(files.count) file\(files.count == 1 ? "" : "s") for model \(importer.statistics.modelFingerprint)"))
        let imported = try importer.run(files: files.map { URL(fileURLWithPath: $0) }, overwrite: overwrite, events: reporter.handler)
        let layers = imported.map {
            LayerReport(source: $0.source.path, path: $0.destination.path, layer: $0.layer, module: $0.module, width: $0.width,
                        tokens: $0.count, samples: $0.samples, edit_layer: $0.isEditLayer)
        }
        if json {
            struct Report: Encodable { let model: String; let fingerprint: String; let layers: [LayerReport] }
            try JSONOutput.print(Report(model: model.model, fingerprint: importer.statistics.modelFingerprint, layers: layers))
            return
        }
        for layer in layers {
            print("layer \(layer.layer)  \(layer.module)  \(layer.tokens) tokens, \(layer.samples) samples, \(layer.width)×\(layer.width)\(layer.edit_layer ? "" : "  (not an edit layer of the hparams)")  → \(layer.path)")
        }
        let missing = importer.statistics.hparams.layers.filter { layer in
            !FileManager.default.fileExists(atPath: importer.statistics.url(layer: layer).path)
        }
        if !missing.isEmpty {
            print("still missing: layer\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))")
        }
    }
}
