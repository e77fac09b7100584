import Foundation
import Transformer

/// `alphaedit stats import`: official `.npz` statistics into the statistics cache, where
/// `alphaedit edit` and `alphaedit project` look for them (`StatisticsJob.url(layer:)` without a
/// corpus: `<stats-dir>/<model>/<mom2_dataset>_stats/<module>_<mom2_dtype>_mom2_<mom2_n_samples>.safetensors`).
///
/// The layer comes from the file name (the official naming, `<module>_<dtype>_mom2_<n>.npz`);
/// the dtype and sample count in the name must be the hparams' `mom2_dtype` and
/// `mom2_n_samples`, as the official code ignores a cache file of another sample size. The
/// statistics are recorded as this model's (its fingerprint) with the corpus
/// `<mom2_dataset>@npz:<content fingerprint>`.
public struct NPZStatisticsImport: Sendable {
    public let statistics: StatisticsJob
    public let layerCount: Int

    /// What one file became.
    public struct Imported: Sendable, Equatable {
        public var source: URL
        public var destination: URL
        public var layer: Int
        public var module: String
        public var width: Int
        public var count: Int
        public var samples: Int
        /// Whether the layer is one of the hparams' edit layers.
        public var isEditLayer: Bool
    }

    /// Reads the model's config, tokenizer and checkpoint headers (no weights) and checks the
    /// hparams against the model.
    public init(modelDirectory: URL, hparams: EditHyperParameters, hparamsPath: String, statsDirectory: URL) throws {
        let config = try ModelConfig.load(directory: modelDirectory)
        try ModelLayout.validate(hparams, config: config, path: hparamsPath)
        let checkpoint = try Checkpoint(directory: modelDirectory)
        let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
        statistics = StatisticsJob(config: config, tokenizer: try Tokenizer(directory: modelDirectory, model: config), modelFingerprint: fingerprint,
                                   modelName: modelDirectory.standardizedFileURL.lastPathComponent, hparams: hparams,
                                   statsDirectory: statsDirectory, corpus: nil)
        layerCount = config.layerCount
    }

    /// The layer and destination of an `.npz` file, from its name; nothing is read.
    public func plan(_ url: URL) throws -> (layer: Int, destination: URL) {
        let path = url.path
        let hparams = statistics.hparams
        guard let name = OfficialStatisticsName(fileName: url.lastPathComponent) else {
            throw NPZError.fileName(path: path, reason: "the name does not follow the official <module>_<dtype>_mom2_<samples>.npz (e.g. \(statistics.module(hparams.layers[0]))_\(hparams.mom2DType)_mom2_\(hparams.mom2SampleCount).npz), so the layer is unknown")
        }
        guard let layer = (0..<layerCount).first(where: { statistics.module($0) == name.module }) else {
            let template = statistics.module(hparams.layers[0]).replacingOccurrences(of: ".\(hparams.layers[0]).", with: ".{}.")
            throw NPZError.incompatible(path: path, reason: "module \(name.module) is not a rewrite module of this model (\(template), layers 0…\(layerCount - 1))")
        }
        guard name.dtype == hparams.mom2DType else {
            throw NPZError.incompatible(path: path, reason: "statistics accumulated in \(name.dtype), but the hparams' mom2_dtype is \(hparams.mom2DType)")
        }
        if let n = name.sampleCount, n != hparams.mom2SampleCount {
            throw NPZError.incompatible(path: path, reason: "statistics over \(n) samples, but the hparams' mom2_n_samples is \(hparams.mom2SampleCount) (the official code would not use this file either)")
        }
        return (layer, statistics.url(layer: layer))
    }

    /// Imports every file, or none: all names are checked (and no destination may exist unless
    /// `overwrite`) before anything is read; each file is then read, checked and written
    /// (temporary file, then rename) in turn.
    public func run(files: [URL], overwrite: Bool = false, events: EditEventHandler = { _ in }) throws -> [Imported] {
        var plans: [(url: URL, layer: Int, destination: URL)] = []
        for url in files {
            let (layer, destination) = try plan(url)
            if let earlier = plans.first(where: { $0.layer == layer }) {
                throw NPZError.incompatible(path: url.path, reason: "is of layer \(layer), like \(earlier.url.path); import one file per layer")
            }
            if !overwrite, FileManager.default.fileExists(atPath: destination.path) {
                throw NPZError.incompatible(path: url.path, reason: "\(destination.path) exists; remove it or pass --overwrite")
            }
            plans.append((url, layer, destination))
        }
        var result: [Imported] = []
        for plan in plans {
            let module = statistics.module(plan.layer)
            let archive = try NPZArchive(url: plan.url)
            let provenance = StatisticsProvenance(model: statistics.modelFingerprint, module: module,
                                                  corpus: "\(statistics.hparams.mom2Dataset)@npz:\(archive.contentFingerprint)",
                                                  dtype: statistics.hparams.mom2DType)
            let stats = try LayerStatistics(npz: plan.url, layer: plan.layer, provenance: provenance)
            guard stats.width == statistics.config.intermediateSize else {
                throw NPZError.incompatible(path: plan.url.path, reason: "holds \(stats.width)×\(stats.width) statistics, but this model's MLP keys are \(statistics.config.intermediateSize) wide (statistics of another model?)")
            }
            if let n = OfficialStatisticsName(fileName: plan.url.lastPathComponent)?.sampleCount, stats.samples != 0, stats.samples != n {
                throw NPZError.unexpectedValue(path: plan.url.path, member: "sample_size", reason: "is \(stats.samples), but the file name says \(n)")
            }
            try FileManager.default.createDirectory(at: plan.destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try stats.write(to: plan.destination, extra: ["imported_from": plan.url.lastPathComponent])
            result.append(Imported(source: plan.url, destination: plan.destination, layer: plan.layer, module: module,
                                   width: stats.width, count: stats.count, samples: stats.samples,
                                   isEditLayer: statistics.hparams.layers.contains(plan.layer)))
            events(.note("layer \(plan.layer): \(stats.count) tokens from \(stats.samples) samples → \(plan.destination.path)"))
        }
        return result
    }
}
