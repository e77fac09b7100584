import Editing
import Foundation
import Linalg

/// An owner's side of a statistics pass: the chunks' sums of the layers it owns, added in chunk
/// order whichever worker computed them and whenever they arrive, starting from the pass's
/// initial totals (zero, or a checkpoint's). Reports each layer's totals at every checkpoint
/// boundary and at the end of the pass. The same additions in the same order as one process.
struct StatisticsReducer {
    struct Report {
        var layer: Int
        /// Chunks [first, boundary) are in `totals`.
        var boundary: Int
        var totals: LayerStatistics
    }

    let end: Int
    let checkpointEvery: Int
    let chunkCount: Int
    private(set) var totals: [Int: LayerStatistics]
    private var next: [Int: Int]
    private var arrived: [Int: [Int: LayerStatistics]] = [:]

    /// - Parameters:
    ///   - initial: the totals of each owned layer before chunk `first`.
    ///   - checkpointEvery: report at chunk boundaries that are multiples of this (0: never).
    init(initial: [LayerStatistics], first: Int, end: Int, checkpointEvery: Int, chunkCount: Int) {
        self.end = end
        self.checkpointEvery = checkpointEvery
        self.chunkCount = chunkCount
        totals = Dictionary(uniqueKeysWithValues: initial.map { ($0.layer, $0) })
        next = Dictionary(uniqueKeysWithValues: initial.map { ($0.layer, first) })
    }

    var layers: [Int] { totals.keys.sorted() }
    var isComplete: Bool { next.values.allSatisfy { $0 == end } }

    /// Takes chunk `c`'s sums of one owned layer; returns the reports it completes.
    mutating func add(chunk c: Int, _ part: LayerStatistics) throws -> [Report] {
        let layer = part.layer
        guard let expected = next[layer], let current = totals[layer] else {
            throw ClusterError.badPayload("STATISTICS_PART of layer \(layer), which this worker does not own in this pass")
        }
        guard c >= expected, c < end, arrived[layer]?[c] == nil, part.width == current.width else {
            throw ClusterError.badPayload("STATISTICS_PART of layer \(layer), chunk \(c) (\(part.width) wide) does not fit the pass (next chunk \(expected), end \(end), width \(current.width))")
        }
        arrived[layer, default: [:]][c] = part
        var reports: [Report] = []
        while let ready = arrived[layer]?[next[layer]!] {
            arrived[layer]![next[layer]!] = nil
            totals[layer]!.add(chunk: ready)
            next[layer]! += 1
            let boundary = next[layer]!
            if boundary == end || (checkpointEvery > 0 && boundary % checkpointEvery == 0 && boundary < chunkCount) {
                reports.append(Report(layer: layer, boundary: boundary, totals: totals[layer]!))
            }
        }
        return reports
    }
}
