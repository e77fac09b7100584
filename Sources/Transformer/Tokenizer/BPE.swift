import Foundation

/// Byte-level BPE: turns one pre-tokenized word (UTF-8 bytes) into token ids.
///
/// A word starts as one symbol per byte (the vocabulary id of the byte's byte-level scalar), then the
/// adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a merge — as
/// the `tokenizers` library's `Word::merge_all` does. Merges are keyed by id pairs, so no strings are
/// built while encoding. Results for words shorter than 256 bytes are cached.
final class BytePairEncoder: Sendable {
    /// `byteSymbol[b]`: the vocabulary id of byte `b`'s scalar, or -1 when the vocabulary lacks it.
    private let byteSymbol: [Int32]
    /// `(left << 32 | right)` -> `(rank << 32 | merged id)`.
    private let merges: [UInt64: UInt64]
    /// ignore_merges: a word that is a vocabulary entry is that entry, whatever the merges say.
    private let wholeWords: [WordKey: Int]?
    /// unk_token's id: bytes without a symbol become it (consecutive ones fused with fuse_unk),
    /// or are dropped when there is no unk_token, as in `tokenizers`.
    private let unknownID: Int32?
    private let fuseUnknown: Bool
    private let cache = WordCache(capacity: 1 << 17)

    /// Words longer than this many symbols use the heap-based merge loop.
    private static let quadraticLimit = 96
    /// Words of at least this many bytes are not cached (as in `tokenizers`).
    private static let cacheableLength = 256

    /// - Throws: `TokenizerError.unknownMergeToken` for a merge whose parts or result are not in `vocab`,
    ///   `.unknownToken` for an `unkToken` not in `vocab`.
    init(vocab: [String: Int], merges: [(String, String)], unkToken: String?, fuseUnk: Bool,
         ignoreMerges: Bool, path: String) throws {
        var symbols = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let token = ByteLevel.token(for: [UInt8(byte)])
            if let id = vocab[token] { symbols[byte] = Int32(id) }
        }
        byteSymbol = symbols

        var table = [UInt64: UInt64](minimumCapacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = vocab[left] else {
                throw TokenizerError.unknownMergeToken(path: path, merge: rank, token: left)
            }
            guard let b = vocab[right] else {
                throw TokenizerError.unknownMergeToken(path: path, merge: rank, token: right)
            }
            guard let merged = vocab[left + right] else {
                throw TokenizerError.unknownMergeToken(path: path, merge: rank, token: left + right)
            }
            table[Self.key(Int32(a), Int32(b))] = UInt64(rank) << 32 | UInt64(merged)
        }
        self.merges = table

        if ignoreMerges {
            var words: [WordKey: Int] = [:]
            for (token, id) in vocab {
                guard let bytes = ByteLevel.bytes(of: token) else { continue }
                bytes.withUnsafeBufferPointer { words[WordKey($0)] = id }
            }
            wholeWords = words
        } else {
            wholeWords = nil
        }

        if let unkToken {
            guard let id = vocab[unkToken] else {
                throw TokenizerError.unknownToken(path: path, field: "model.unk_token", token: unkToken)
            }
            unknownID = Int32(id)
        } else {
            unknownID = nil
        }
        fuseUnknown = fuseUnk
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Appends the ids of `word` (a non-empty pre-tokenized word, UTF-8) to `ids`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if let wholeWords, let id = wholeWords[WordKey(word)] {
            ids.append(id)
            return
        }
        guard word.count < Self.cacheableLength else {
            ids.append(contentsOf: merge(word))
            return
        }
        let key = WordKey(word)
        if let cached = cache[key] {
            ids.append(contentsOf: cached)
            return
        }
        let result = merge(word)
        cache[key] = result
        ids.append(contentsOf: result)
    }

    // MARK: merging

    /// The initial symbols of `word`: one per byte, unknown bytes as unk (fused) or dropped.
    private func symbols(of word: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(word.count)
        var lastWasUnknown = false
        for byte in word {
            let id = byteSymbol[Int(byte)]
            if id >= 0 {
                out.append(id)
                lastWasUnknown = false
            } else if let unknownID {
                if !(fuseUnknown && lastWasUnknown) { out.append(unknownID) }
                lastWasUnknown = true
            }
        }
        return out
    }

    private func merge(_ word: UnsafeBufferPointer<UInt8>) -> [Int] {
        let start = symbols(of: word)
        let merged = start.count > Self.quadraticLimit ? mergeWithHeap(start) : mergeByScanning(start)
        return merged.map { Int($0) }
    }

    /// The merge loop for short words: keeps each adjacent pair's rank and merges the lowest (leftmost
    /// on ties). O(n²) compares, O(n) table lookups.
    func mergeByScanning(_ start: [Int32]) -> [Int32] {
        var symbols = start
        guard symbols.count > 1 else { return symbols }
        let none = UInt64.max
        var ranks = [UInt64](repeating: none, count: symbols.count - 1)  // rank << 32 | merged, per pair
        for p in 0..<ranks.count {
            ranks[p] = merges[Self.key(symbols[p], symbols[p + 1])] ?? none
        }
        while true {
            var best = none
            var bestPosition = -1
            for p in 0..<ranks.count where ranks[p] >> 32 < best >> 32 {
                best = ranks[p]
                bestPosition = p
            }
            if bestPosition < 0 { break }
            let p = bestPosition
            symbols[p] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: p + 1)
            ranks.remove(at: p)
            if p > 0 {
                ranks[p - 1] = merges[Self.key(symbols[p - 1], symbols[p])] ?? none
            }
            if p < ranks.count {
                ranks[p] = merges[Self.key(symbols[p], symbols[p + 1])] ?? none
            }
        }
        return symbols
    }

    /// The merge loop for long words (e.g. a run of 10,000 spaces): a min-heap of candidate merges
    /// ordered by (rank, position) over a linked list of symbols, as `tokenizers`' `Word::merge_all`.
    /// O(n log n).
    func mergeWithHeap(_ start: [Int32]) -> [Int32] {
        let n = start.count
        var symbol = start
        var next = Array(1...n)  // n = none
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        next[n - 1] = n
        var heap = MergeHeap()
        for p in 0..<(n - 1) {
            if let m = merges[Self.key(symbol[p], symbol[p + 1])] {
                heap.push(MergeCandidate(rank: UInt32(m >> 32), position: Int32(p), merged: Int32(truncatingIfNeeded: m)))
            }
        }
        while let top = heap.pop() {
            let p = Int(top.position)
            guard alive[p], next[p] < n else { continue }
            let q = next[p]
            // The pair may have changed since this candidate was pushed.
            guard let m = merges[Self.key(symbol[p], symbol[q])], Int32(truncatingIfNeeded: m) == top.merged else {
                continue
            }
            symbol[p] = top.merged
            alive[q] = false
            next[p] = next[q]
            if next[q] < n { previous[next[q]] = p }
            if previous[p] >= 0 {
                let o = previous[p]
                if let m = merges[Self.key(symbol[o], symbol[p])] {
                    heap.push(MergeCandidate(rank: UInt32(m >> 32), position: Int32(o), merged: Int32(truncatingIfNeeded: m)))
                }
            }
            if next[p] < n {
                if let m = merges[Self.key(symbol[p], symbol[next[p]])] {
                    heap.push(MergeCandidate(rank: UInt32(m >> 32), position: Int32(p), merged: Int32(truncatingIfNeeded: m)))
                }
            }
        }
        var out: [Int32] = []
        var p = 0
        while p < n {
            out.append(symbol[p])
            p = next[p]
        }
        return out
    }
}

// MARK: heap

struct MergeCandidate {
    var rank: UInt32
    var position: Int32
    var merged: Int32

    @inline(__always)
    func precedes(_ other: MergeCandidate) -> Bool {
        rank != other.rank ? rank < other.rank : position < other.position
    }
}

/// A binary min-heap of merge candidates.
struct MergeHeap {
    private var items: [MergeCandidate] = []

    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].precedes(items[smallest]) { smallest = left }
            if right < items.count && items[right].precedes(items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
