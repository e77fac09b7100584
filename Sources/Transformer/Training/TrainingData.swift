import Foundation

/// Tokenised training documents and the seeded order in which a run visits them.
///
/// Each document is one sequence of the batch (it starts at position 0, as prompts do at
/// inference) and ends with the end-of-text token. An epoch is a seeded permutation of the
/// documents; to keep padding low, the permutation is cut into pools of `poolBatches` batches,
/// each pool sorted by length and cut into batches, and the epoch's batches are then shuffled.
/// The batches of step s depend only on (seed, s), so a resumed run sees the same data as an
/// uninterrupted one.
public struct TrainingData: Sendable {
    /// Token ids of each document, end-of-text included.
    public let documents: [[Int]]
    public let batchSize: Int
    public let seed: UInt64
    /// Batches per length-sorted pool.
    public let poolBatches: Int

    /// - Parameters:
    ///   - documents: token ids, each non-empty; documents with fewer than 2 tokens (nothing to
    ///     predict) are dropped.
    ///   - endOfText: appended to every document.
    ///   - maxLength: documents are cut to this many tokens (end-of-text included).
    public init(documents: [[Int]], endOfText: Int, maxLength: Int, batchSize: Int, seed: UInt64, poolBatches: Int = 16) {
        precondition(maxLength >= 2 && batchSize >= 1)
        self.documents = documents.compactMap { ids in
            let cut = Array((ids + [endOfText]).prefix(maxLength))
            return cut.count >= 2 ? cut : nil
        }
        precondition(!self.documents.isEmpty, "no document has two tokens")
        self.batchSize = batchSize
        self.seed = seed
        self.poolBatches = max(1, poolBatches)
    }

    /// Batches per epoch (the last one of each pool may be short).
    public var batchesPerEpoch: Int { epochBatches(0).count }

    /// Tokens in all documents.
    public var tokenCount: Int { documents.reduce(0) { $0 + $1.count } }

    /// FNV-1a over the token ids and document boundaries, to tell corpora apart on resume.
    public var fingerprint: String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ x: Int) {
            var v = UInt64(bitPattern: Int64(x))
            for _ in 0..<8 { h ^= v & 0xFF; h = h &* 0x0000_0100_0000_01B3; v >>= 8 }
        }
        for document in documents { mix(-1); for id in document { mix(id) } }
        return String(format: "%016llx", h)
    }

    /// The documents of every batch of epoch `epoch`, in order.
    public func epochBatches(_ epoch: Int) -> [[Int]] {
        var generator = SplitMix64(seed: seed ^ (0x5EED_0000_0000_0000 &+ UInt64(epoch) &* 0x9E37_79B9))
        var order = Array(documents.indices)
        Self.shuffle(&order, &generator)
        var batches: [[Int]] = []
        let poolSize = batchSize * poolBatches
        var start = 0
        while start < order.count {
            let pool = order[start..<min(start + poolSize, order.count)].sorted {
                (documents[$0].count, $0) < (documents[$1].count, $1)
            }
            var b = 0
            while b < pool.count {
                batches.append(Array(pool[b..<min(b + batchSize, pool.count)]))
                b += batchSize
            }
            start += poolSize
        }
        Self.shuffle(&batches, &generator)
        return batches
    }

    /// Fisher–Yates with `SplitMix64` (independent of the standard library's algorithm).
    static func shuffle<T>(_ items: inout [T], _ generator: inout SplitMix64) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            items.swapAt(i, j)
        }
    }
}
