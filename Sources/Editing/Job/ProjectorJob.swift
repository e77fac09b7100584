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

    /// The projectors of several layers in this process, as many at once as the threads and the
    /// memory allow (below d0 = 2048 each layer's tridiagonal reduction runs on one core, so one
    /// layer at a time would leave the others idle for most of its time; from 2048 the reductions
    /// take two OpenBLAS threads each, one at a time, and the layers overlap in the rest). Each
    /// projector is computed exactly as `compute` computes it alone: the bytes do not depend on
    /// how many run together.
    /// - Parameter availableBytes: memory the computations may take (default: the host's).
    public static func computeConcurrently(_ stats: [LayerStatistics], threshold: Double,
                                           availableBytes: UInt64 = HostMemory.available()) throws -> [NullSpaceProjector] {
        let concurrency = Self.concurrency(layers: stats.count, width: stats.map(\.width).max() ?? 0,
                                           threads: Linalg.threadCount, availableBytes: availableBytes)
        guard concurrency > 1 else { return try stats.map { try compute($0, threshold: threshold) } }
        let results = LockedResults<NullSpaceProjector>(count: stats.count)
        DispatchQueue.concurrentPerform(iterations: concurrency) { _ in
            while let index = results.claim() {
                results.set(index, Result { try compute(stats[index], threshold: threshold) })
            }
        }
        return try results.values()
    }

    /// How many layers of width `width` to decompose at once: at most one per thread and per
    /// `bytesPerLayer(width)` of `availableBytes`, at least one.
    static func concurrency(layers: Int, width: Int, threads: Int, availableBytes: UInt64) -> Int {
        guard layers > 1, width > 0 else { return 1 }
        let byMemory = Int(min(availableBytes / UInt64(bytesPerLayer(width: width)), UInt64(Int.max)))
        return max(1, min(layers, threads, byMemory))
    }

    /// Peak memory of one layer's projector beyond its statistics: the reduced matrix, the
    /// eigenvectors, P in float64 and its float32 copy (about 3.5·d0² doubles), with margin.
    static func bytesPerLayer(width: Int) -> Int { 32 * width * width }

    /// Loads cached projectors whose provenance matches `stats`, computing the others with
    /// `compute` (all missing layers in one call, so that owners can work in parallel; default: in this
    /// process, `computeConcurrently`) and caching them.
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
            let computed = try compute?(missing) ?? Self.computeConcurrently(missing, threshold: threshold)
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

/// Results of concurrent work, one slot each, handed out in order by `claim`.
private final class LockedResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]
    private var counter = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, any Error>) {
        lock.lock(); defer { lock.unlock() }
        slots[index] = result
    }

    /// The next unclaimed slot, or nil when all are taken.
    func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard counter < slots.count else { return nil }
        counter += 1
        return counter - 1
    }

    /// Every slot's value in order; the first error (by index) is thrown.
    func values() throws -> [Value] {
        lock.lock(); defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
