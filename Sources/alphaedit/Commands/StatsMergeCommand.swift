import ArgumentParser
import Editing
import Foundation

/// `alphaedit stats merge`: the statistics of the union of corpus shards, by addition.
struct StatsMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Add up statistics of corpus shards (same model and layer) into one file.",
        discussion: """
        S, the token count and the sample count add up; the corpus fingerprints are joined with "+". \
        Statistics of different models or layers, unfinished checkpoints and a shard given twice are refused.

        Example:
          alphaedit stats merge shard0/transformer.h.1.mlp.c_proj_float32_mom2_1000.safetensors \\
            shard1/transformer.h.1.mlp.c_proj_float32_mom2_1000.safetensors --output merged.safetensors
        """
    )

    @Argument(help: ArgumentHelp("Statistics files written by `alphaedit stats` (or merge, or import).", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("The merged statistics file to write.", valueName: "file"))
    var output: String

    @Flag(help: "Replace an existing --output file.")
    var overwrite = false

    @Flag(help: "Store the sum as float32 (half the size), e.g. for statistics shipped with a model. Alone with one input file, rewrites it compactly.")
    var compact = false

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func validate() throws {
        if files.count < (compact ? 1 : 2) { throw ValidationError("give at least two statistics files to merge (or one with --compact)") }
    }

    struct Report: Encodable {
        let output: String
        let layer: Int
        let module: String
        let model: String
        let tokens: Int
        let samples: Int
        let inputs: [String]
    }

    func run() throws {
        let outputURL = URL(fileURLWithPath: output)
        if !overwrite, FileManager.default.fileExists(atPath: outputURL.path) {
            throw CommandFailure("\(output) exists; choose another --output or pass --overwrite")
        }
        var merged: LayerStatistics?
        var corpora: [String: String] = [:]  // corpus fingerprint → first file holding it
        let first = files[0]
        for file in files {
            let (stats, metadata) = try LayerStatistics.read(from: URL(fileURLWithPath: file))
            if let next = metadata["next_sample"] {
                throw CommandFailure("\(file): a checkpoint of an unfinished pass (stopped before sample \(next)); finish it with `alphaedit stats` first")
            }
            if let current = merged {
                try Self.check(stats, of: file, against: current, of: first)
            }
            for corpus in stats.provenance.corpus.split(separator: "+").map(String.init) {
                if let earlier = corpora[corpus] {
                    throw CommandFailure("\(file): statistics of corpus \(corpus), which \(earlier) already holds; merging would count it twice")
                }
                corpora[corpus] = file
            }
            merged = try merged.map { try $0.merged(with: stats) } ?? stats
        }
        let result = merged!
        try FileManager.default.createDirectory(at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try result.write(to: outputURL, extra: ["merged_from": files.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ",")],
                         compact: compact)
        if json {
            try JSONOutput.print(Report(output: output, layer: result.layer, module: result.provenance.module, model: result.provenance.model,
                                        tokens: result.count, samples: result.samples, inputs: files))
            return
        }
        print("layer \(result.layer)  \(result.provenance.module)  \(result.count) tokens, \(result.samples) samples from \(files.count) files → \(output)")
    }

    /// Statistics that can be added to `current`: same model, layer, width and dtype.
    static func check(_ stats: LayerStatistics, of file: String, against current: LayerStatistics, of first: String) throws {
        guard stats.provenance.model == current.provenance.model else {
            throw CommandFailure("\(file): statistics of model \(stats.provenance.model), but \(first) is of model \(current.provenance.model); statistics of different models cannot be merged")
        }
        guard stats.layer == current.layer, stats.provenance.module == current.provenance.module else {
            throw CommandFailure("\(file): statistics of layer \(stats.layer) (\(stats.provenance.module)), but \(first) is of layer \(current.layer) (\(current.provenance.module)); statistics of different layers cannot be merged")
        }
        guard stats.width == current.width else {
            throw CommandFailure("\(file): statistics are \(stats.width) wide, \(first) \(current.width)")
        }
        guard stats.provenance.dtype == current.provenance.dtype else {
            throw CommandFailure("\(file): statistics stand for mom2_dtype \(stats.provenance.dtype), \(first) for \(current.provenance.dtype)")
        }
    }
}
