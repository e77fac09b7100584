import Foundation
import Linalg
import Transformer

/// Statistics of the edit layers, cached under a stats directory the way the official code
/// caches its `.npz` files:
/// `<stats-dir>/<model>/<dataset>_stats/<module>_<dtype>_mom2_<samples>.safetensors`.
///
/// Missing layers are computed in one pass over the corpus. The pass writes a checkpoint
/// (`….partial.safetensors`) every `checkpointInterval` samples; a killed run started again with
/// the same inputs continues from the last checkpoint and ends with the same bytes.
public struct StatisticsJob: Sendable {
    public let config: ModelConfig
    public let tokenizer: Tokenizer
    public let modelFingerprint: String
    /// Directory name under the stats directory (the model folder's name, like the official
    /// `_name_or_path.rsplit("/")[-1]`).
    public let modelName: String
    public let hparams: EditHyperParameters
    public let statsDirectory: URL
    /// The corpus standing in for `mom2_dataset`, if statistics may be computed.
    public let corpus: Corpus?
    public var checkpointInterval = 1000
    /// For tests of resumption: stop as if killed (throwing `Interrupted`) right after writing
    /// the first checkpoint at or past this many samples.
    public var stopAfterSamples: Int? = nil

    /// The pass stopped at `stopAfterSamples`; its checkpoints are on disk.
    public struct Interrupted: Error, CustomStringConvertible {
        public let nextSample: Int
        public var description: String { "statistics pass stopped after checkpointing sample \(nextSample)" }
    }

    public init(config: ModelConfig, tokenizer: Tokenizer, modelFingerprint: String, modelName: String,
                hparams: EditHyperParameters, statsDirectory: URL, corpus: Corpus?) {
        self.config = config
        self.tokenizer = tokenizer
        self.modelFingerprint = modelFingerprint
        self.modelName = modelName
        self.hparams = hparams
        self.statsDirectory = statsDirectory
        self.corpus = corpus
    }

    /// The dataset part of the cache path: the corpus file's name, or the hparams' `mom2_dataset`.
    public var datasetName: String {
        corpus.map { $0.url.deletingPathExtension().lastPathComponent } ?? hparams.mom2Dataset
    }

    /// Samples the statistics are over: `mom2_n_samples`, at most the corpus size.
    public var sampleCount: Int { min(hparams.mom2SampleCount, corpus?.samples.count ?? hparams.mom2SampleCount) }

    public func module(_ layer: Int) -> String { ModelLayout.rewriteModule(hparams, config: config, layer: layer) }

    public func url(layer: Int) -> URL {
        statsDirectory.appendingPathComponent(modelName, isDirectory: true)
            .appendingPathComponent("\(datasetName)_stats", isDirectory: true)
            .appendingPathComponent("\(module(layer))_\(hparams.mom2DType)_mom2_\(sampleCount).safetensors")
    }

    func partialURL(layer: Int) -> URL {
        url(layer: layer).deletingPathExtension().appendingPathExtension("partial.safetensors")
    }

    /// Checks, without computing, that every layer's statistics exist or can be computed.
    public func validate() throws {
        for layer in hparams.layers {
            let path = url(layer: layer)
            if FileManager.default.fileExists(atPath: path.path) {
                let (stats, _) = try LayerStatistics.read(from: path)
                try stats.check(model: modelFingerprint, module: module(layer), path: path.path)
                if let corpus, stats.provenance.corpus != corpus.fingerprint {
                    throw EditJobError.corpusMismatch(path: path.path, reason: "cached statistics are of another corpus (\(stats.provenance.corpus)) than --corpus \(corpus.url.lastPathComponent) (\(corpus.fingerprint)); remove the file or use another --stats-dir")
                }
            } else if corpus == nil {
                throw EditJobError.missingStatistics(layer: layer, path: path.path)
            }
        }
    }

    /// Loads the cached statistics of every layer, computing (and caching) the missing ones with
    /// `model()` (called only when something must be computed).
    public func run(model: () throws -> TransformerModel, events: EditEventHandler = { _ in }) throws -> [LayerStatistics] {
        try validate()
        var result: [Int: LayerStatistics] = [:]
        var missing: [Int] = []
        for layer in hparams.layers {
            let path = url(layer: layer)
            if FileManager.default.fileExists(atPath: path.path) {
                result[layer] = try LayerStatistics.read(from: path).statistics
            } else {
                missing.append(layer)
            }
        }
        if !missing.isEmpty, let corpus {
            for stats in try compute(layers: missing, corpus: corpus, model: try model(), events: events) { result[stats.layer] = stats }
        }
        return hparams.layers.map { result[$0]! }
    }

    private func compute(layers: [Int], corpus: Corpus, model: TransformerModel, events: EditEventHandler) throws -> [LayerStatistics] {
        let order = corpus.sampleOrder(count: sampleCount)
        var statistics = layers.map {
            LayerStatistics(layer: $0, width: config.intermediateSize,
                            provenance: StatisticsProvenance(model: modelFingerprint, module: module($0),
                                                             corpus: corpus.fingerprint, dtype: hparams.mom2DType))
        }
        // Resume from the checkpoints of an interrupted run, if all layers have one at the same point.
        var start = 0
        let partials = layers.map { partialURL(layer: $0) }
        if partials.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
            let read = try partials.map { try LayerStatistics.read(from: $0) }
            let points = Set(read.map { $0.metadata["next_sample"] ?? "" })
            if points.count == 1, let next = Int(points.first!), next <= order.count,
               read.allSatisfy({ $0.statistics.provenance == statistics[0].provenance.with(module: $0.statistics.provenance.module) }) {
                statistics = read.map(\.statistics)
                start = next
                events(.note("resuming statistics at sample \(next) of \(order.count)"))
            }
        }
        try FileManager.default.createDirectory(at: url(layer: layers[0]).deletingLastPathComponent(), withIntermediateDirectories: true)
        events(.stage("statistics of layers \(layers.map(String.init).joined(separator: ", ")) over \(order.count) samples"))
        let collector = StatisticsCollector(model: model, tokenizer: tokenizer, layers: layers)
        let clock = ContinuousClock()
        let began = clock.now
        var runTokens = 0  // tokens of this run (not of a resumed checkpoint), for the rate
        while start < order.count {
            let end = min(start + checkpointInterval, order.count)
            let base = start, before = statistics[0].count, tokensSoFar = runTokens
            collector.accumulate(corpus: corpus, order: order, range: start..<end, into: &statistics) { done, chunkTokens in
                let elapsed = (clock.now - began) / .seconds(1)
                let rate = Double(tokensSoFar + chunkTokens) / max(elapsed, 1e-9)
                events(.progress(done: base + done, total: order.count, detail: String(format: "%.0f tokens/s", rate)))
            }
            runTokens += statistics[0].count - before
            start = end
            if start < order.count {
                for (i, layer) in layers.enumerated() {
                    try statistics[i].write(to: partialURL(layer: layer), extra: ["next_sample": String(start)])
                }
                if let stop = stopAfterSamples, start >= stop { throw Interrupted(nextSample: start) }
            }
        }
        for (i, layer) in layers.enumerated() {
            try statistics[i].write(to: url(layer: layer))
            try? FileManager.default.removeItem(at: partialURL(layer: layer))
            events(.note("layer \(layer): \(statistics[i].count) tokens from \(statistics[i].samples) samples → \(url(layer: layer).path)"))
        }
        return statistics
    }
}

extension StatisticsProvenance {
    func with(module: String) -> StatisticsProvenance {
        var copy = self
        copy.module = module
        return copy
    }
}
