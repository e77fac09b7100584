import Foundation

/// The character classes the pre-tokenizer regexes and the added-token options look at, as bit flags
/// per Unicode scalar:
/// - `letter`: `\p{L}` (general categories Lu, Ll, Lt, Lm, Lo)
/// - `number`: `\p{N}` (Nd, Nl, No)
/// - `space`: `\s` (the White_Space property, as Oniguruma and Rust's regex use it)
/// - `newline`: `\r` or `\n` only (the Llama-3 pattern names them literally)
/// - `word`: Rust regex's Unicode `\w` (Alphabetic, marks, Nd, Pc, Join_Control), for `single_word`
///
/// A scalar with none of `letter`, `number`, `space` is what `[^\s\p{L}\p{N}]` matches ("other").
enum UnicodeClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    static let newline: UInt8 = 8
    static let word: UInt8 = 16

    /// `letter | number | space`: a scalar with none of these is "other".
    static let letterNumberSpace: UInt8 = 7

    /// Classes of the scalars below `tableLimit`, computed once (planes 0-2: BMP, emoji, CJK extension B).
    static let tableLimit: UInt32 = 0x30000
    static let table = ClassTable()

    /// The class flags of `value` (a valid Unicode scalar value).
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        value < tableLimit ? table.base[Int(value)] : compute(value)
    }

    static func compute(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        if scalar == "\r" || scalar == "\n" { return space | newline }
        let properties = scalar.properties
        var flags: UInt8 = 0
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            flags |= number
        default:
            break
        }
        if properties.isWhitespace { flags |= space }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            flags |= word
        default:
            if properties.isAlphabetic || properties.isJoinControl { flags |= word }
        }
        return flags
    }
}

/// The precomputed class table (never freed; built on first use, thread-safely, by `static let`).
struct ClassTable: @unchecked Sendable {
    let base: UnsafePointer<UInt8>

    init() {
        let count = Int(UnicodeClass.tableLimit)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        for value in 0..<count {
            buffer[value] = UnicodeClass.compute(UInt32(value))
        }
        base = UnsafePointer(buffer)
    }
}

// MARK: UTF-8 scanning

/// The scalar that starts at byte `i` of valid UTF-8 and its length in bytes.
@inline(__always)
func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(bytes[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 {
        return ((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2)
    }
    if b0 < 0xF0 {
        return ((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
    }
    return ((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
        | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F), 4)
}

/// The class flags and byte length of the scalar at byte `i`.
@inline(__always)
func classAt(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> (flags: UInt8, length: Int) {
    let b0 = bytes[i]
    if b0 < 0x80 { return (asciiClass(b0), 1) }
    let (value, length) = decodeScalar(bytes, at: i)
    return (UnicodeClass.of(value), length)
}

@inline(__always)
func asciiClass(_ byte: UInt8) -> UInt8 {
    UnicodeClass.table.base[Int(byte)]
}

/// The start of the scalar that ends just before byte `i` (`i > 0`).
@inline(__always)
func previousScalarStart(_ bytes: UnsafeBufferPointer<UInt8>, before i: Int) -> Int {
    var j = i - 1
    while j > 0 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
    return j
}
