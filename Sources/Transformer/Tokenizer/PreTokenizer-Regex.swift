import Foundation

/// A `Split` pattern that no hand-written scanner knows, run with NSRegularExpression (ICU).
///
/// The pattern is Oniguruma syntax as the `tokenizers` library runs it; ICU accepts the constructs
/// byte-level tokenizers use (`\p{L}`, `(?i:...)`, `(?!...)`, `{1,3}`), but its `\s` lacks U+000B and
/// U+0085, which Oniguruma's has, so `\s` and `\S` are widened to the White_Space property.
struct RegexSplitter: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
    let regex: NSRegularExpression

    /// - Throws: NSRegularExpression's error for a pattern ICU rejects.
    init(pattern: String, isRegex: Bool) throws {
        let icuPattern = isRegex ? Self.icuPattern(pattern) : NSRegularExpression.escapedPattern(for: pattern)
        regex = try NSRegularExpression(pattern: icuPattern, options: [])
    }

    /// Reports the matches and the gaps between them (`Isolated`), as byte ranges of `b` (valid UTF-8).
    func split(_ b: UnsafeBufferPointer<UInt8>, _ emit: (Int, Int) -> Void) {
        let text = String(decoding: b, as: UTF8.self)
        let utf16 = text.utf16
        var last = 0
        var lastUTF16 = 0
        var lastIndex = text.startIndex
        for match in regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)) {
            let range = match.range
            guard range.length > 0, range.location >= lastUTF16 else { continue }
            let lower = utf16.index(lastIndex, offsetBy: range.location - lastUTF16)
            let upper = utf16.index(lower, offsetBy: range.length)
            let start = last + text.utf8.distance(from: lastIndex, to: lower)
            let end = start + text.utf8.distance(from: lower, to: upper)
            if start > last { emit(last, start) }
            emit(start, end)
            last = end
            lastUTF16 = range.location + range.length
            lastIndex = upper
        }
        if last < b.count { emit(last, b.count) }
    }

    /// `pattern` with `\s` -> `[\s\x{0B}\x{85}]` (`\s\x{0B}\x{85}` inside a class) and
    /// `\S` -> `[^\s\x{0B}\x{85}]` outside a class.
    static func icuPattern(_ pattern: String) -> String {
        var out = ""
        var inClass = 0
        var escaped = false
        for ch in pattern {
            if escaped {
                escaped = false
                switch ch {
                case "s": out += inClass > 0 ? #"\s\x{0B}\x{85}"# : #"[\s\x{0B}\x{85}]"#
                case "S": out += inClass > 0 ? #"\S"# : #"[^\s\x{0B}\x{85}]"#
                default: out += "\\" + String(ch)
                }
                continue
            }
            switch ch {
            case "\\": escaped = true
            case "[": inClass += 1; out.append(ch)
            case "]": inClass = max(0, inClass - 1); out.append(ch)
            default: out.append(ch)
            }
        }
        if escaped { out += "\\" }
        return out
    }
}
