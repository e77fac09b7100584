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

    /// Loads cached projectors whose provenance matches `stats`, computing the others.
    public func run(stats: [LayerStatistics], events: EditEventHandler = { _ in }) throws -> [NullSpaceProjector] {
        try stats.map { layerStats in
            let path = url(layer: layerStats.layer)
            if FileManager.default.fileExists(atPath: path.path),
               let (projector, provenance) = try? NullSpaceProjector.read(from: path),
               provenance.model == layerStats.provenance.model, provenance.corpus == layerStats.provenance.corpus,
               projector.threshold == threshold, projector.matrix.rows == layerStats.width {
                events(.note("layer \(layerStats.layer): projector from \(path.lastPathComponent) (null space \(projector.nullSpaceDimension) of \(layerStats.width))"))
                return projector
            }
            events(.stage("projector of layer \(layerStats.layer) (\(layerStats.width)×\(layerStats.width) eigendecomposition)"))
            let projector = try NullSpaceProjector(layer: layerStats.layer, secondMoment: layerStats.secondMoment, threshold: threshold)
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try projector.write(to: path, provenance: layerStats.provenance)
            let near = projector.eigenvaluesNearThreshold().map { String(format: "%.4g", $0) }.joined(separator: ", ")
            events(.note("layer \(layerStats.layer): null space \(projector.nullSpaceDimension) of \(layerStats.width) (eigenvalues nearest \(threshold): \(near))"))
            return projector
        }
    }
}
