// A chunk's sums as upper triangles: what a local statistics pass holds beside its totals.

import Linalg
import Transformer

/// One layer's sums over one chunk, the upper triangle only, packed row by row over `i <= j`
/// (``Matrix/packedUpper()`` order): half the memory of a chunk's d0 × d0 matrix, and the same
/// bits once added to the totals (``LayerStatistics/add(packedChunk:)``).
public struct PackedChunkSum: Sendable, Equatable {
    public var layer: Int
    /// Tokens accumulated.
    public var count = 0
    /// Samples accumulated.
    public var samples = 0
    /// Σ k·kᵀ over the chunk's tokens, upper triangle, d0·(d0 + 1)/2 values.
    public var upper: [Double]

    public init(layer: Int, width: Int) {
        self.layer = layer
        upper = [Double](repeating: 0, count: width * (width + 1) / 2)
    }

    /// Adds a pass's keys `[tokens, d0]` (see `accumulateGram(of:intoPackedUpper:)`).
    public mutating func accumulate(keys: Matrix<Float>) {
        guard keys.rows > 0 else { return }
        accumulateGram(of: keys, intoPackedUpper: &upper)
        count += keys.rows
    }
}

extension StatisticsCollector {
    /// ``chunk(_:of:corpus:progress:)`` with each layer's sums as a packed upper triangle: a local
    /// pass holds the totals and one chunk's sums at once, so this halves the chunk's share
    /// (5 layers of d0 = 4096: 336 MB instead of 671 MB). Added to the totals, the same bits.
    public func packedChunk(_ c: Int, of plan: StatisticsPlan, corpus: Corpus,
                            progress: (Int, Int) -> Void = { _, _ in }) -> [PackedChunkSum] {
        var sums = plan.layers.map { PackedChunkSum(layer: $0, width: model.config.intermediateSize) }
        let range = plan.samples(ofChunk: c)
        oneWindowPerChunk(of: plan).forEachKeys(corpus: corpus, order: plan.order, range: range, progress: progress) { layer, keys in
            for i in sums.indices where sums[i].layer == layer { sums[i].accumulate(keys: keys) }
        }
        for i in sums.indices { sums[i].samples = range.count }
        return sums
    }
}

extension LayerStatistics {
    /// Adds one chunk's packed sums: the upper triangle element by element, then mirrored. The
    /// totals are symmetric, so this gives the bits ``add(chunk:)`` gives with the same chunk
    /// as a full (mirrored) matrix.
    public mutating func add(packedChunk chunk: PackedChunkSum) {
        let d = width
        precondition(chunk.layer == layer && chunk.upper.count == d * (d + 1) / 2,
                     "packed chunk of layer \(chunk.layer) (\(chunk.upper.count) values) added to layer \(layer) (width \(d))")
        sum.elements.withUnsafeMutableBufferPointer { s in
            chunk.upper.withUnsafeBufferPointer { u in
                var k = 0
                for i in 0..<d {
                    for j in i..<d {
                        s[i * d + j] += u[k]
                        k += 1
                    }
                }
            }
        }
        sum.mirrorUpperTriangle()
        count += chunk.count
        samples += chunk.samples
    }
}
