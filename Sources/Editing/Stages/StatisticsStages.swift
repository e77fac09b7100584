import Foundation
import Linalg
import Transformer

/// The statistics pass cut into fixed chunks of the sample order. The chunk length is a property
/// of the job, never of the number of workers or threads: each chunk is summed from zero, and the
/// chunks' sums are added in chunk order in float64, so one process, any number of workers and a
/// resumed pass give the same bytes.
public struct StatisticsPlan: Sendable, Equatable {
    /// The edit layers, lowest first.
    public let layers: [Int]
    /// Corpus sample indices in pass order (the official seed-1 shuffle).
    public let order: [Int]
    /// Samples per chunk (the last chunk may be shorter).
    public let chunkSamples: Int

    public init(layers: [Int], order: [Int], chunkSamples: Int) {
        precondition(chunkSamples > 0 && !layers.isEmpty)
        self.layers = layers
        self.order = order
        self.chunkSamples = chunkSamples
    }

    public var chunkCount: Int { (order.count + chunkSamples - 1) / chunkSamples }

    /// Positions in `order` of chunk `c`.
    public func samples(ofChunk c: Int) -> Range<Int> {
        (c * chunkSamples)..<min(order.count, (c + 1) * chunkSamples)
    }

    /// The chunk that starts at `sample`, if a chunk starts there.
    public func chunk(startingAt sample: Int) -> Int? {
        sample % chunkSamples == 0 && sample <= order.count ? sample / chunkSamples : nil
    }
}

/// Who computes the chunks: this process (``LocalStatisticsStages``) or the cluster's workers.
public protocol StatisticsStages: AnyObject {
    /// Adds chunks `chunks` of `plan`, each summed from zero, to `totals` (one per plan layer) in
    /// chunk order.
    /// - Parameters:
    ///   - checkpoint: called with the next chunk and the totals after each chunk whose index + 1
    ///     is a multiple of `checkpointEvery` (not after the last).
    ///   - progress: samples and tokens done so far in this call.
    func reduce(_ plan: StatisticsPlan, chunks: Range<Int>, into totals: inout [LayerStatistics], checkpointEvery: Int,
                checkpoint: (Int, [LayerStatistics]) throws -> Void, progress: (Int, Int) -> Void) throws
}

extension StatisticsCollector {
    /// The statistics of chunk `c` alone, one per plan layer (provenance left empty: the chunk's
    /// sums are added into statistics that carry it).
    public func chunk(_ c: Int, of plan: StatisticsPlan, corpus: Corpus, progress: (Int, Int) -> Void = { _, _ in }) -> [LayerStatistics] {
        let empty = StatisticsProvenance(model: "", module: "", corpus: "", dtype: "")
        var statistics = plan.layers.map { LayerStatistics(layer: $0, width: model.config.intermediateSize, provenance: empty) }
        oneWindowPerChunk(of: plan).accumulate(corpus: corpus, order: plan.order, range: plan.samples(ofChunk: c), into: &statistics, progress: progress)
        return statistics
    }

    /// This collector with one window per chunk of `plan`: samples are sorted within a chunk only,
    /// so a chunk's sums do not depend on which process collects it.
    func oneWindowPerChunk(of plan: StatisticsPlan) -> StatisticsCollector {
        var collector = self
        collector.windowSize = max(windowSize, plan.chunkSamples)
        return collector
    }
}

extension LayerStatistics {
    /// Adds a chunk's sums: S += S_chunk (float64), counts added.
    public mutating func add(chunk: LayerStatistics) {
        precondition(chunk.layer == layer && chunk.width == width, "chunk of layer \(chunk.layer) added to layer \(layer)")
        sum += chunk.sum
        count += chunk.count
        samples += chunk.samples
    }
}

/// The chunks computed one after another in this process.
public final class LocalStatisticsStages: StatisticsStages {
    public let collector: StatisticsCollector
    public let corpus: Corpus

    public init(collector: StatisticsCollector, corpus: Corpus) {
        self.collector = collector
        self.corpus = corpus
    }

    public func reduce(_ plan: StatisticsPlan, chunks: Range<Int>, into totals: inout [LayerStatistics], checkpointEvery: Int,
                       checkpoint: (Int, [LayerStatistics]) throws -> Void, progress: (Int, Int) -> Void) throws {
        var samplesDone = 0, tokensDone = 0
        for c in chunks {
            let base = samplesDone, baseTokens = tokensDone
            // Packed chunk sums: the totals and one chunk's sums are held together (see packedChunk).
            let sums = collector.packedChunk(c, of: plan, corpus: corpus) { done, tokens in progress(base + done, baseTokens + tokens) }
            for i in totals.indices { totals[i].add(packedChunk: sums[i]) }
            samplesDone += plan.samples(ofChunk: c).count
            tokensDone += sums[0].count
            if c + 1 < plan.chunkCount, (c + 1) % max(1, checkpointEvery) == 0 { try checkpoint(c + 1, totals) }
        }
    }
}
