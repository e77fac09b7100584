extension TokenBatch {
    /// Packs `sequences` into rows of `max(rowLength, longest)` tokens, several to a row where
    /// they fit, so that a pass computes few padding rows: each sequence attends only to itself
    /// (``segmentStarts``) and is numbered from position 0, so every real token gets the
    /// activations it gets in a padded batch, up to float32 summation order.
    ///
    /// Placement is first fit, longest sequence first (ties in input order): a function of the
    /// lengths only. The unused tail of a row is padding (mask false) that attends only to
    /// itself. ``row(sequence:token:)`` finds a sequence's tokens.
    public init(packing sequences: [[Int]], rowLength: Int, padID: Int = 0) {
        precondition(!sequences.isEmpty, "a batch needs at least one sequence")
        let length = max(rowLength, sequences.map(\.count).max() ?? 0)
        precondition(length > 0, "a batch needs at least one token")
        let lengths = sequences.map(\.count)
        let (starts, used) = Self.firstFit(lengths, order: Self.longestFirst(lengths), rowLength: length)
        var ids = [Int](repeating: padID, count: used.count * length)
        var mask = [Bool](repeating: false, count: ids.count)
        var positions = [Int](repeating: 0, count: ids.count)
        var segments = [Int](repeating: 0, count: ids.count)
        for (s, sequence) in sequences.enumerated() {
            let offset = starts[s] % length
            for (t, token) in sequence.enumerated() {
                ids[starts[s] + t] = token
                mask[starts[s] + t] = true
                positions[starts[s] + t] = t
                segments[starts[s] + t] = offset
            }
        }
        for (row, taken) in used.enumerated() {
            for t in taken..<length { segments[row * length + t] = taken }   // the tail pads among themselves
        }
        self.init(batchSize: used.count, length: length, ids: ids, mask: mask, positions: positions)
        segmentStarts = segments
        sequenceStarts = starts
    }

    /// Rows packed by ``init(packing:rowLength:padID:)`` are at most this long, unless one
    /// sequence is longer.
    public static let maxPackedRowLength = 256

    /// ``init(packing:rowLength:padID:)`` in rows of the length that costs least for the blocks
    /// of a model `hiddenSize` wide (``cheapestRowLength(packing:maxRowLength:attentionBalance:)``,
    /// up to ``maxPackedRowLength``).
    public init(packing sequences: [[Int]], hiddenSize: Int, padID: Int = 0) {
        let rowLength = Self.cheapestRowLength(packing: sequences.map(\.count), maxRowLength: Self.maxPackedRowLength,
                                               attentionBalance: 6 * Double(hiddenSize))
        self.init(packing: sequences, rowLength: rowLength, padID: padID)
    }

    /// The row length, from the longest sequence to `maxRowLength`, whose packing costs least when
    /// a row of L tokens costs L · (1 + L / `attentionBalance`): a block's dense products grow
    /// with the tokens, its attention over a whole row with L² (for GPT-2's blocks, 24·d² and
    /// 4·L·d multiply-adds per token, so the balance is 6·d). Ties go to the shorter row.
    public static func cheapestRowLength(packing lengths: [Int], maxRowLength: Int, attentionBalance: Double) -> Int {
        let longest = lengths.max() ?? 1
        let order = longestFirst(lengths)
        var best = longest, bestCost = Double.infinity
        for length in longest...max(longest, maxRowLength) {
            let rows = Double(firstFit(lengths, order: order, rowLength: length).used.count)
            let cost = rows * Double(length) * (1 + Double(length) / attentionBalance)
            if cost < bestCost { (best, bestCost) = (length, cost) }
        }
        return best
    }

    /// The sequences' indices, longest first (ties in input order): the order first fit places them in.
    private static func longestFirst(_ lengths: [Int]) -> [Int] {
        lengths.indices.sorted { lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) }
    }

    /// First fit in `order`: each sequence's flat start and the tokens taken in each row.
    private static func firstFit(_ lengths: [Int], order: [Int], rowLength: Int) -> (starts: [Int], used: [Int]) {
        var used: [Int] = []
        var starts = [Int](repeating: 0, count: lengths.count)
        for s in order {
            let row = used.firstIndex { $0 + lengths[s] <= rowLength } ?? { used.append(0); return used.count - 1 }()
            starts[s] = row * rowLength + used[row]
            used[row] += lengths[s]
        }
        return (starts, used)
    }
}
