import Foundation

/// A token of tokenizer.json's `added_tokens` (special tokens such as `<|endoftext|>` and user-added ones).
struct AddedToken: Sendable {
    let id: Int
    let content: String
    /// Only match where no word character (`\w`) touches either end.
    let singleWord: Bool
    /// Swallow the whitespace before the token.
    let lstrip: Bool
    /// Swallow the whitespace after the token.
    let rstrip: Bool
    /// Match in the normalized text (else in the raw text, before normalization).
    let normalized: Bool
    /// Skipped by `decode(skipSpecialTokens: true)`.
    let special: Bool

    init(_ json: AddedTokenJSON) {
        id = json.id
        content = json.content
        singleWord = json.singleWord
        lstrip = json.lstrip
        rstrip = json.rstrip
        normalized = json.normalized
        special = json.special
    }
}

/// Finds added tokens in text the way the `tokenizers` library's AddedVocabulary does: leftmost-longest
/// matching (Aho-Corasick), a rejected `single_word` match is skipped over, `lstrip`/`rstrip` extend the
/// match over neighbouring whitespace. The text between matches is left for the normal pipeline.
struct AddedTokenMatcher: Sendable {
    private struct Pattern: Sendable {
        let bytes: [UInt8]
        let token: AddedToken
    }

    /// Patterns by first byte, longest first.
    private let byFirstByte: [[Pattern]]
    let isEmpty: Bool

    /// - Parameter patterns: each token with the text to find (its content, normalized when the token is).
    init(_ patterns: [(token: AddedToken, text: String)]) {
        var table = [[Pattern]](repeating: [], count: 256)
        for (token, text) in patterns where !text.isEmpty {
            let bytes = Array(text.utf8)
            table[Int(bytes[0])].append(Pattern(bytes: bytes, token: token))
        }
        for i in 0..<256 {
            table[i].sort { $0.bytes.count > $1.bytes.count }
        }
        byFirstByte = table
        isEmpty = patterns.isEmpty
    }

    enum Segment {
        case text(start: Int, end: Int)
        case token(id: Int)
    }

    /// Calls `body` with the segments of `text` (valid UTF-8) in order; text segments are never empty.
    /// - Complexity: O(n · k) for n bytes and k patterns sharing a first byte.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ body: (Segment) -> Void) {
        let n = text.count
        var pieceStart = 0
        var i = 0
        byFirstByte.withUnsafeBufferPointer { table in
            while i < n {
                let candidates = table[Int(text[i])]
                if candidates.isEmpty {
                    i += 1
                    continue
                }
                guard let pattern = candidates.first(where: { matches($0.bytes, text, at: i) }) else {
                    i += 1
                    continue
                }
                var start = i
                var stop = i + pattern.bytes.count
                i = stop
                let token = pattern.token
                if token.singleWord {
                    let wordBefore = start > 0 && isWordScalar(text, at: previousScalarStart(text, before: start))
                    let wordAfter = stop < n && isWordScalar(text, at: stop)
                    if wordBefore || wordAfter { continue }
                }
                if token.lstrip {
                    var j = start
                    while j > pieceStart {
                        let k = previousScalarStart(text, before: j)
                        if classAt(text, k).flags & UnicodeClass.space == 0 { break }
                        j = k
                    }
                    start = j
                }
                if token.rstrip {
                    while stop < n {
                        let (flags, length) = classAt(text, stop)
                        if flags & UnicodeClass.space == 0 { break }
                        stop += length
                    }
                    i = stop
                }
                if start > pieceStart { body(.text(start: pieceStart, end: start)) }
                body(.token(id: token.id))
                pieceStart = stop
            }
        }
        if pieceStart < n { body(.text(start: pieceStart, end: n)) }
    }

    @inline(__always)
    private func matches(_ pattern: [UInt8], _ text: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard i + pattern.count <= text.count else { return false }
        for k in 1..<pattern.count where pattern[k] != text[i + k] { return false }
        return true
    }

    private func isWordScalar(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        classAt(text, i).flags & UnicodeClass.word != 0
    }
}
