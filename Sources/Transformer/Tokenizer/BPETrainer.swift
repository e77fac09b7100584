import Foundation

/// Trains a byte-level BPE vocabulary, as GPT-2's tokenizer is built: the text is cut into words
/// by the GPT-2 pre-tokenizer regex, every word starts as its bytes (byte-level symbols), and the
/// most frequent adjacent pair of symbols is merged into a new symbol until the vocabulary has
/// `vocabularySize` entries or no pair occurs `minimumFrequency` times.
///
/// Ids: the special tokens first (`<|endoftext|>` = 0), then the 256 byte symbols in the order of
/// their byte-level characters' code points (as the `tokenizers` trainer sorts its alphabet), then
/// one id per merge in the order learned. Ties between pairs of equal count go to the pair with
/// the smaller (left id, right id), which makes training deterministic.
///
/// `write(to:)` produces a `tokenizer.json` and `tokenizer_config.json` that both `Tokenizer` and
/// Hugging Face `tokenizers`/`transformers` load (see `BPETrainer-Files.swift`).
public struct BPETrainer: Sendable {
    public var vocabularySize: Int
    public var minimumFrequency: Int
    /// Added tokens, ids 0, 1, …; the first is bos, eos, pad and unk in tokenizer_config.json.
    public var specialTokens: [String]

    public init(vocabularySize: Int, minimumFrequency: Int = 2, specialTokens: [String] = ["<|endoftext|>"]) {
        precondition(vocabularySize >= 256 + specialTokens.count,
                     "vocabulary size \(vocabularySize) is below the \(256 + specialTokens.count) special and byte tokens")
        self.vocabularySize = vocabularySize
        self.minimumFrequency = max(1, minimumFrequency)
        self.specialTokens = specialTokens
    }

    /// The result: a vocabulary and its merges, in byte-level spelling (`"Ġthe"`).
    public struct Model: Sendable, Equatable {
        /// Token strings by id (special tokens, then bytes, then merges).
        public var tokens: [String]
        /// Merged pairs in rank order.
        public var merges: [(String, String)]
        public var specialTokens: [String]

        public static func == (a: Model, b: Model) -> Bool {
            a.tokens == b.tokens && a.specialTokens == b.specialTokens
                && a.merges.map { $0.0 + " " + $0.1 } == b.merges.map { $0.0 + " " + $0.1 }
        }
    }

    // MARK: Counting words

    /// Occurrences of each pre-tokenized word (UTF-8 bytes) in `texts`. Special tokens written in
    /// the text are cut out and not counted.
    public func wordCounts(_ texts: some Sequence<String>) -> [[UInt8]: Int] {
        var counts: [[UInt8]: Int] = [:]
        for text in texts {
            for piece in splitOutSpecialTokens(text) {
                var piece = piece
                piece.withUTF8 { bytes in
                    splitGPT2(bytes) { start, end in
                        counts[Array(bytes[start..<end]), default: 0] += 1
                    }
                }
            }
        }
        return counts
    }

    private func splitOutSpecialTokens(_ text: String) -> [String] {
        var pieces = [text]
        for special in specialTokens where text.contains(special) {
            pieces = pieces.flatMap { $0.components(separatedBy: special) }
        }
        return pieces.filter { !$0.isEmpty }
    }

    // MARK: Training

    /// Trains on `texts` (e.g. one document per element).
    /// - Complexity: O(words + merges · (log pairs + symbols of the words each merge touches)).
    public func train(_ texts: some Sequence<String>) -> Model {
        train(wordCounts: wordCounts(texts))
    }

    /// Trains on word counts (`wordCounts(_:)`).
    public func train(wordCounts: [[UInt8]: Int]) -> Model {
        // Alphabet: the 256 byte symbols, sorted by code point.
        let byteOrder = (0..<256).sorted { ByteLevel.scalarOf[$0] < ByteLevel.scalarOf[$1] }
        var tokens = specialTokens
        var idOfByte = [Int32](repeating: 0, count: 256)
        for byte in byteOrder {
            idOfByte[byte] = Int32(tokens.count)
            tokens.append(ByteLevel.token(for: [UInt8(byte)]))
        }
        var idOfToken: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() { idOfToken[token] = Int32(id) }

        // Words in a fixed order (by bytes), so that nothing depends on dictionary order.
        let sortedWords = wordCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var words: [[Int32]] = sortedWords.map { $0.map { idOfByte[Int($0)] } }
        let counts: [Int] = sortedWords.map { wordCounts[$0]! }

        var pairCounts: [UInt64: Int] = [:]
        var wordsWithPair: [UInt64: [Int]] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let pair = Self.key(word[i], word[i + 1])
                pairCounts[pair, default: 0] += counts[w]
                if wordsWithPair[pair]?.last != w { wordsWithPair[pair, default: []].append(w) }
            }
        }
        var heap = PairHeap()
        for (pair, count) in pairCounts { heap.push(count: count, pair: pair) }

        var merges: [(String, String)] = []
        while tokens.count < vocabularySize, let top = heap.pop() {
            let current = pairCounts[top.pair] ?? 0
            if current != top.count {
                if current > 0 { heap.push(count: current, pair: top.pair) }
                continue
            }
            if current < minimumFrequency { break }
            let (a, b) = Self.split(top.pair)
            let merged = tokens[Int(a)] + tokens[Int(b)]
            // A string reached by two different splits ("ab c", "a bc") keeps its first id; both
            // merges are recorded, as the `tokenizers` trainer does.
            let c: Int32
            if let existing = idOfToken[merged] {
                c = existing
            } else {
                c = Int32(tokens.count)
                tokens.append(merged)
                idOfToken[merged] = c
            }
            merges.append((tokens[Int(a)], tokens[Int(b)]))

            var touched = Set<UInt64>()
            var seen = Set<Int>()
            for w in wordsWithPair[top.pair] ?? [] where seen.insert(w).inserted {
                let old = words[w]
                guard let new = Self.merge(old, a, b, into: c) else { continue }
                let count = counts[w]
                for i in 0..<(old.count - 1) { pairCounts[Self.key(old[i], old[i + 1]), default: 0] -= count }
                for i in 0..<max(0, new.count - 1) {
                    let pair = Self.key(new[i], new[i + 1])
                    pairCounts[pair, default: 0] += count
                    if new[i] == c || new[i + 1] == c {
                        touched.insert(pair)
                        if wordsWithPair[pair]?.last != w { wordsWithPair[pair, default: []].append(w) }
                    }
                }
                words[w] = new
            }
            wordsWithPair[top.pair] = nil
            pairCounts[top.pair] = nil
            for pair in touched { if let count = pairCounts[pair], count > 0 { heap.push(count: count, pair: pair) } }
        }
        return Model(tokens: tokens, merges: merges, specialTokens: specialTokens)
    }

    /// `word` with every non-overlapping (a, b), left to right, replaced by c; nil if none.
    static func merge(_ word: [Int32], _ a: Int32, _ b: Int32, into c: Int32) -> [Int32]? {
        var out: [Int32] = []
        out.reserveCapacity(word.count)
        var i = 0
        var changed = false
        while i < word.count {
            if i + 1 < word.count && word[i] == a && word[i + 1] == b {
                out.append(c)
                i += 2
                changed = true
            } else {
                out.append(word[i])
                i += 1
            }
        }
        return changed ? out : nil
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    static func split(_ key: UInt64) -> (Int32, Int32) {
        (Int32(bitPattern: UInt32(key >> 32)), Int32(bitPattern: UInt32(key & 0xFFFF_FFFF)))
    }
}

/// A binary max-heap of (count, pair): larger count first, then the smaller pair key.
struct PairHeap {
    private var items: [(count: Int, pair: UInt64)] = []

    @inline(__always)
    private static func before(_ x: (count: Int, pair: UInt64), _ y: (count: Int, pair: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.pair < y.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && Self.before(items[l], items[best]) { best = l }
                if r < items.count && Self.before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
