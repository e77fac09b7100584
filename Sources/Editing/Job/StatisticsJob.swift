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
    /// Samples between checkpoints of the pass (rounded up to whole chunks). The commands set it
    /// to the chunk length unless told otherwise.
    public var checkpointInterval = 1000
    /// Samples per chunk of the pass: each chunk is summed from zero and the chunks are added in
    /// order, whoever computes them (see ``StatisticsPlan``). Part of the result's definition, so
    /// it is fixed by the job, never by the number of workers or threads.
    public var chunkSamples = 1000
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
    /// - Parameter stages: who computes the chunks (nil: this process, on `model()`).
    public func run(model: () throws -> TransformerModel, stages: (any StatisticsStages)? = nil,
                    events: EditEventHandler = { _ in }) throws -> [LayerStatistics] {
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
            let stages = try stages ?? LocalStatisticsStages(
                collector: StatisticsCollector(model: try model(), tokenizer: tokenizer, layers: missing), corpus: corpus)
            for stats in try compute(layers: missing, corpus: corpus, stages: stages, events: events) { result[stats.layer] = stats }
        }
        return hparams.layers.map { result[$0]! }
    }

    /// The plan of a pass over `layers`.
    public func plan(layers: [Int], corpus: Corpus) -> StatisticsPlan {
        StatisticsPlan(layers: layers, order: corpus.sampleOrder(count: sampleCount), chunkSamples: chunkSamples)
    }

    /// The checkpoints of an interrupted pass, or nil when one cannot be read whole (a file
    /// truncated or damaged, e.g. by a full disk): a checkpoint is only a saving of time, so the
    /// pass then starts over (and overwrites them) rather than trust part of one.
    private func readCheckpoints(_ urls: [URL], events: EditEventHandler) -> [(statistics: LayerStatistics, metadata: [String: String])]? {
        do {
            return try urls.map { try LayerStatistics.read(from: $0) }
        } catch {
            events(.note("not resuming from the statistics checkpoints: \(error); the pass starts over"))
            return nil
        }
    }

    private func compute(layers: [Int], corpus: Corpus, stages: any StatisticsStages, events: EditEventHandler) throws -> [LayerStatistics] {
        let plan = plan(layers: layers, corpus: corpus)
        var statistics = layers.map {
            LayerStatistics(layer: $0, width: config.intermediateSize,
                            provenance: StatisticsProvenance(model: modelFingerprint, module: module($0),
                                                             corpus: corpus.fingerprint, dtype: hparams.mom2DType))
        }
        // Resume from the checkpoints of an interrupted run, if all layers have one at the same
        // chunk boundary of the same chunk length.
        var startChunk = 0
        let partials = layers.map { partialURL(layer: $0) }
        if partials.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }),
           let read = readCheckpoints(partials, events: events) {
            let points = Set(read.map { $0.metadata["next_sample"] ?? "" })
            let lengths = Set(read.map { $0.metadata["chunk_samples"] ?? "" })
            if points.count == 1, let next = Int(points.first!), lengths == [String(chunkSamples)],
               let chunk = plan.chunk(startingAt: next),
               read.allSatisfy({ $0.statistics.provenance == statistics[0].provenance.with(module: $0.statistics.provenance.module) }) {
                statistics = read.map(\.statistics)
                startChunk = chunk
                events(.note("resuming statistics at sample \(next) of \(plan.order.count)"))
            }
        }
        try FileManager.default.createDirectory(at: url(layer: layers[0]).deletingLastPathComponent(), withIntermediateDirectories: true)
        events(.stage("statistics of layers \(layers.map(String.init).joined(separator: ", ")) over \(plan.order.count) samples"))
        let clock = ContinuousClock()
        let began = clock.now
        let firstSample = plan.samples(ofChunk: startChunk).lowerBound
        let checkpointEvery = max(1, checkpointInterval / chunkSamples + (checkpointInterval % chunkSamples == 0 ? 0 : 1))
        try stages.reduce(plan, chunks: startChunk..<plan.chunkCount, into: &statistics, checkpointEvery: checkpointInterval > 0 ? checkpointEvery : Int.max,
                          checkpoint: { next, totals in
            let nextSample = plan.samples(ofChunk: next).lowerBound
            for (i, layer) in layers.enumerated() {
                try totals[i].write(to: partialURL(layer: layer),
                                    extra: ["next_sample": String(nextSample), "chunk_samples": String(chunkSamples)])
            }
            FaultPoint.hit("statistics.checkpointed")
            if let stop = stopAfterSamples, nextSample >= stop { throw Interrupted(nextSample: nextSample) }
        }, progress: { done, tokens in
            let elapsed = (clock.now - began) / .seconds(1)
            events(.progress(done: firstSample + done, total: plan.order.count,
                             detail: String(format: "%.0f tokens/s", Double(tokens) / max(elapsed, 1e-9))))
        })
        // No file of statistics that nothing can use (C0 = S / 0).
        if let empty = statistics.first(where: { $0.count == 0 }) {
            for layer in layers { try? FileManager.default.removeItem(at: partialURL(layer: layer)) }
            throw StatisticsError.noTokens(layer: empty.layer, samples: empty.samples, source: corpus.url.path)
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
