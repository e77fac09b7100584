import Foundation

// Hand-written scanners for the two split regexes that byte-level BPE tokenizers use. Each one reports
// the same pieces as the regex run by the `tokenizers` library (Oniguruma, leftmost alternative first,
// greedy quantifiers with backtracking), over valid UTF-8, as byte ranges `[start, end)` that cover the
// input. They are an order of magnitude faster than NSRegularExpression and need no String bridging.

/// The GPT-2 pattern, as the ByteLevel pre-tokenizer (use_regex) applies it.
let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

/// The Llama-3 pattern (Split, Isolated).
let llama3Pattern =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

/// Qwen2's pattern: Llama-3's with single digits.
let qwen2Pattern =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

private let L = UnicodeClass.letter
private let N = UnicodeClass.number
private let S = UnicodeClass.space
private let LNS = UnicodeClass.letterNumberSpace

/// The end of the run of scalars from `i` whose flags intersect `mask`.
@inline(__always)
private func run(_ b: UnsafeBufferPointer<UInt8>, from i: Int, _ mask: UInt8) -> Int {
    var j = i
    while j < b.count {
        let (flags, length) = classAt(b, j)
        if flags & mask == 0 { break }
        j += length
    }
    return j
}

/// The end of the run of "other" scalars (`[^\s\p{L}\p{N}]`) from `i`.
@inline(__always)
private func otherRun(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
    var j = i
    while j < b.count {
        let (flags, length) = classAt(b, j)
        if flags & LNS != 0 { break }
        j += length
    }
    return j
}

/// `\s+(?!\S)|\s+` at `i` (a whitespace scalar): the whole run when it ends the text or is one scalar,
/// else the run without its last scalar (which then prefixes the next word).
@inline(__always)
private func whitespaceEnd(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
    var j = i
    var lastStart = i
    while j < b.count {
        let (flags, length) = classAt(b, j)
        if flags & S == 0 { break }
        lastStart = j
        j += length
    }
    return (j == b.count || lastStart == i) ? j : lastStart
}

/// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (which holds `'`): the match length or 0. With `ignoreCase`,
/// ASCII case is ignored and `ſ` (U+017F, which case-folds to `s`) counts as `s`, as Oniguruma's `(?i)` does.
@inline(__always)
private func contractionLength(_ b: UnsafeBufferPointer<UInt8>, at i: Int, ignoreCase: Bool) -> Int {
    let n = b.count
    guard i + 1 < n else { return 0 }
    let fold: UInt8 = ignoreCase ? 0x20 : 0
    let c1 = b[i + 1]
    let l1 = c1 | (c1 >= 0x41 && c1 <= 0x5A ? fold : 0)
    switch l1 {
    case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
        return 2
    default:
        break
    }
    if ignoreCase && c1 == 0xC5 && i + 2 < n && b[i + 2] == 0xBF { return 3 }  // 'ſ
    guard i + 2 < n else { return 0 }
    let c2 = b[i + 2]
    let l2 = c2 | (c2 >= 0x41 && c2 <= 0x5A ? fold : 0)
    switch (l1, l2) {
    case (UInt8(ascii: "r"), UInt8(ascii: "e")), (UInt8(ascii: "v"), UInt8(ascii: "e")),
        (UInt8(ascii: "l"), UInt8(ascii: "l")):
        return 3
    default:
        return 0
    }
}

// MARK: GPT-2

/// Splits `b` as `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// - Complexity: O(n) in the byte count.
func splitGPT2(_ b: UnsafeBufferPointer<UInt8>, _ emit: (Int, Int) -> Void) {
    let n = b.count
    var i = 0
    while i < n {
        let c0 = b[i]
        if c0 == UInt8(ascii: "'") {
            let length = contractionLength(b, at: i, ignoreCase: false)
            if length > 0 {
                emit(i, i + length)
                i += length
                continue
            }
        }
        var flags = classAt(b, i).flags
        var j = i
        // ` ?` before a letter, number or other run.
        if c0 == 0x20 && i + 1 < n {
            let next = classAt(b, i + 1).flags
            if next & S == 0 {
                flags = next
                j = i + 1
            }
        }
        if flags & S == 0 {
            let end: Int
            if flags & L != 0 {
                end = run(b, from: j, L)
            } else if flags & N != 0 {
                end = run(b, from: j, N)
            } else {
                end = otherRun(b, from: j)
            }
            emit(i, end)
            i = end
            continue
        }
        let end = whitespaceEnd(b, from: i)
        emit(i, end)
        i = end
    }
}

// MARK: Llama-3 / Qwen2

/// Splits `b` as Llama-3's pattern
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// with `maxDigits` = 3 (Qwen2's pattern has `\p{N}`, i.e. `maxDigits` = 1).
/// - Complexity: O(n) in the byte count.
func splitLlama3(_ b: UnsafeBufferPointer<UInt8>, maxDigits: Int, _ emit: (Int, Int) -> Void) {
    let n = b.count
    var i = 0
    while i < n {
        let c0 = b[i]
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c0 == UInt8(ascii: "'") {
            let length = contractionLength(b, at: i, ignoreCase: true)
            if length > 0 {
                emit(i, i + length)
                i += length
                continue
            }
        }
        let (flags, length) = classAt(b, i)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if flags & L != 0 {
            let end = run(b, from: i + length, L)
            emit(i, end)
            i = end
            continue
        }
        if flags & (N | UnicodeClass.newline) == 0 && i + length < n && classAt(b, i + length).flags & L != 0 {
            let end = run(b, from: i + length, L)
            emit(i, end)
            i = end
            continue
        }
        // \p{N}{1,maxDigits}
        if flags & N != 0 {
            var end = i + length
            var count = 1
            while count < maxDigits && end < n {
                let (next, nextLength) = classAt(b, end)
                if next & N == 0 { break }
                end += nextLength
                count += 1
            }
            emit(i, end)
            i = end
            continue
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var otherStart = -1
        if flags & LNS == 0 {
            otherStart = i
        } else if c0 == 0x20 && i + 1 < n && classAt(b, i + 1).flags & LNS == 0 {
            otherStart = i + 1
        }
        if otherStart >= 0 {
            var end = otherRun(b, from: otherStart)
            while end < n && (b[end] == 0x0A || b[end] == 0x0D) { end += 1 }
            emit(i, end)
            i = end
            continue
        }
        // Here the scalar is whitespace. `\s*[\r\n]+`: up to the last \r or \n of the whitespace run.
        var j = i
        var newlineEnd = -1
        while j < n {
            let (next, nextLength) = classAt(b, j)
            if next & S == 0 { break }
            if b[j] == 0x0A || b[j] == 0x0D { newlineEnd = j + 1 }
            j += nextLength
        }
        if newlineEnd > 0 {
            emit(i, newlineEnd)
            i = newlineEnd
            continue
        }
        // \s+(?!\S)|\s+
        let end = whitespaceEnd(b, from: i)
        emit(i, end)
        i = end
    }
}
