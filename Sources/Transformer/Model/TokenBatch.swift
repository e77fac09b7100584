/// A padded batch of token sequences: ids, attention mask and position ids, each `[B, T]` row-major.
/// A packed batch (``init(packing:rowLength:padID:)``) holds several sequences per row, each
/// attending only to itself.
public struct TokenBatch: Sendable, Equatable {
    public enum PaddingSide: Sendable { case left, right }

    public let batchSize: Int
    /// T: the padded length.
    public let length: Int
    public var ids: [Int]
    /// true = real token.
    public var mask: [Bool]
    /// `clamp(cumsum(mask) − 1, 0)`: real tokens are numbered 0, 1, … whatever the padding side.
    public var positions: [Int]
    /// Per token, the index within its row of the first token of its sequence: a query attends
    /// only to keys from there on. nil: every row is one sequence (from index 0).
    public var segmentStarts: [Int]?
    /// Per sequence of a packed batch, the flat row of its token 0; nil: sequence b is row b.
    public var sequenceStarts: [Int]?

    /// Pads `sequences` to the longest with `padID` on `side`.
    public init(_ sequences: [[Int]], padding side: PaddingSide = .right, padID: Int = 0) {
        precondition(!sequences.isEmpty, "a batch needs at least one sequence")
        let length = sequences.map(\.count).max() ?? 0
        precondition(length > 0, "a batch needs at least one token")
        var ids = [Int](), mask = [Bool]()
        ids.reserveCapacity(sequences.count * length)
        for sequence in sequences {
            let pad = length - sequence.count
            switch side {
            case .right:
                ids += sequence + [Int](repeating: padID, count: pad)
                mask += [Bool](repeating: true, count: sequence.count) + [Bool](repeating: false, count: pad)
            case .left:
                ids += [Int](repeating: padID, count: pad) + sequence
                mask += [Bool](repeating: false, count: pad) + [Bool](repeating: true, count: sequence.count)
            }
        }
        self.init(batchSize: sequences.count, length: length, ids: ids, mask: mask)
    }

    /// A batch from explicit `[B·T]` ids and mask; positions follow the mask.
    public init(batchSize: Int, length: Int, ids: [Int], mask: [Bool], positions: [Int]? = nil) {
        precondition(ids.count == batchSize * length && mask.count == ids.count)
        self.batchSize = batchSize
        self.length = length
        self.ids = ids
        self.mask = mask
        if let positions {
            precondition(positions.count == ids.count)
            self.positions = positions
        } else {
            var computed = [Int](repeating: 0, count: ids.count)
            for b in 0..<batchSize {
                var seen = 0
                for t in 0..<length {
                    if mask[b * length + t] { seen += 1 }
                    computed[b * length + t] = max(seen - 1, 0)
                }
            }
            self.positions = computed
        }
    }

    /// Rows of the flattened `[B·T, …]` activations.
    public var tokenCount: Int { batchSize * length }

    /// The flat row of token t of batch row b.
    @inline(__always)
    public func row(_ b: Int, _ t: Int) -> Int { b * length + t }

    /// Sequences in the batch: one per row unless packed.
    public var sequenceCount: Int { sequenceStarts?.count ?? batchSize }

    /// The flat row of token t of sequence s (the s-th sequence the batch was made from).
    @inline(__always)
    public func row(sequence s: Int, token t: Int) -> Int {
        if let sequenceStarts { return sequenceStarts[s] + t }
        return s * length + t
    }

    /// Real tokens of sequence b.
    public func realLength(_ b: Int) -> Int {
        (0..<length).reduce(0) { $0 + (mask[b * length + $1] ? 1 : 0) }
    }

    /// Index within the padded row of the last real token of sequence b.
    public func lastRealIndex(_ b: Int) -> Int {
        var last = 0
        for t in 0..<length where mask[b * length + t] { last = t }
        return last
    }
}
