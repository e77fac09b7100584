import Foundation
import Linalg
import Transformer

/// Null-space projectors of the edit layers from their statistics, cached next to them:
/// `<stats-dir>/<model>/<dataset>_stats/<module>_projector_<threshold>_<samples>.safetensors`.
public struct ProjectorJob: Sendable {
    public let statistics: StatisticsJob
    public let threshold: Double

    public init(statistics: StatisticsJob, threshold: Double) {
        self.statistics = statistics
        self.threshold = threshold
    }

    public func url(layer: Int) -> URL {
        statistics.url(layer: layer).deletingLastPathComponent()
            .appendingPathComponent("\(statistics.module(layer))_projector_\(threshold)_\(statistics.sampleCount).safetensors")
    }

    /// The projector of one layer's statistics (spec §3), as a worker that owns the layer computes it.
    public static func compute(_ stats: LayerStatistics, threshold: Double) throws -> NullSpaceProjector {
        try NullSpaceProjector(layer: stats.layer, secondMoment: stats.secondMoment, threshold: threshold)
    }

    /// Loads cached projectors whose provenance matches `stats`, computing the others with
    /// `compute` (all missing layers in one call, so that owners can work in parallel) and caching them.
    public func run(stats: [LayerStatistics], events: EditEventHandler = { _ in },
                    compute: (([LayerStatistics]) throws -> [NullSpaceProjector])? = nil) throws -> [NullSpaceProjector] {
        var result: [Int: NullSpaceProjector] = [:]
        var missing: [LayerStatistics] = []
        for layerStats in stats {
            let path = url(layer: layerStats.layer)
            if FileManager.default.fileExists(atPath: path.path),
               let (projector, provenance) = try? NullSpaceProjector.read(from: path),
               provenance.model == layerStats.provenance.model, provenance.corpus == layerStats.provenance.corpus,
               projector.threshold == threshold, projector.matrix.rows == layerStats.width {
                events(.note("layer \(layerStats.layer): projector from \(path.lastPathComponent) (null space \(projector.nullSpaceDimension) of \(layerStats.width))"))
                result[layerStats.layer] = projector
            } else {
                missing.append(layerStats)
            }
        }
        if !missing.isEmpty {
            let threshold = self.threshold
            events(.stage("projectors of layers \(missing.map { String($0.layer) }.joined(separator: ", ")) (\(missing[0].width)×\(missing[0].width) eigendecompositions)"))
            let computed = try compute?(missing) ?? missing.map { try Self.compute($0, threshold: threshold) }
            for (layerStats, projector) in zip(missing, computed) {
                let path = url(layer: layerStats.layer)
                try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try projector.write(to: path, provenance: layerStats.provenance)
                let near = projector.eigenvaluesNearThreshold().map { String(format: "%.4g", $0) }.joined(separator: ", ")
                events(.note("layer \(layerStats.layer): null space \(projector.nullSpaceDimension) of \(layerStats.width) (eigenvalues nearest \(threshold): \(near))"))
                result[layerStats.layer] = projector
            }
        }
        return stats.map { result[$0.layer]! }
    }
}
