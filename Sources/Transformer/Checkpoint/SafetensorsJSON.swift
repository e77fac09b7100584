/// The small, strict JSON reader and writer behind safetensors headers and index files.
///
/// Strict where JSONSerialization is lenient, because headers are untrusted input: RFC 8259
/// grammar only, valid UTF-8 only (checked first, so the error can say so), no duplicate keys
/// (a duplicate would make "which tensor is this?" ambiguous), no lone surrogates, bounded
/// nesting depth (no stack overflow on `[[[[…`), and integers kept exactly as `UInt64`.
enum SafetensorsJSON {
    indirect enum Value: Sendable {
        /// Members in file order; keys are unique.
        case object([Member])
        case array([Value])
        case string(String)
        case number(Number)
        case bool(Bool)
        case null
    }

    struct Member: Sendable {
        let key: String
        let value: Value
    }

    struct Number: Sendable {
        /// The literal as written.
        let text: String
        /// The value, if the literal is a plain integer (no sign, fraction or exponent) below 2^64.
        let unsignedInteger: UInt64?
    }

    struct ParseError: Error, Sendable {
        enum Kind: Sendable, Equatable {
            case invalidUTF8
            case syntax
            /// An object has this key twice (valid JSON grammar, but ambiguous).
            case duplicateKey(String)
        }
        let kind: Kind
        let reason: String
        /// Byte offset into the parsed text.
        let offset: Int
    }

    /// Deepest nesting accepted; safetensors headers and index files need 3.
    static let maxDepth = 64

    /// Parses one JSON value filling all of `bytes` (surrounding whitespace allowed).
    /// - Parameter allowDuplicateKeys: keep repeated keys (in order) instead of failing, for
    ///   callers that report them in their own terms.
    static func parse(_ bytes: UnsafeRawBufferPointer, allowDuplicateKeys: Bool = false) throws(ParseError) -> Value {
        if let bad = firstInvalidUTF8(bytes) {
            throw ParseError(kind: .invalidUTF8, reason: "invalid UTF-8", offset: bad)
        }
        var parser = Parser(bytes: bytes, allowDuplicateKeys: allowDuplicateKeys)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != bytes.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the JSON value")
        }
        return value
    }

    static func parse(_ bytes: [UInt8], allowDuplicateKeys: Bool = false) throws(ParseError) -> Value {
        do {
            return try bytes.withUnsafeBytes { raw in try parse(raw, allowDuplicateKeys: allowDuplicateKeys) }
        } catch let error as ParseError {
            throw error
        } catch {
            preconditionFailure("unreachable: \(error)")
        }
    }

    // MARK: UTF-8 validation

    /// Offset of the first byte that is not part of a well-formed UTF-8 sequence, or nil.
    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF   // allowed range of the second byte
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F          // no UTF-16 surrogates
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F          // nothing above U+10FFFF
            default: return i                            // continuation byte, overlong lead, or > F4
            }
            if i + length > n { return i }
            let b1 = bytes[i + 1]
            if b1 < lower || b1 > upper { return i }
            for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }

    // MARK: Parser

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let allowDuplicateKeys: Bool
        var index = 0

        init(bytes: UnsafeRawBufferPointer, allowDuplicateKeys: Bool) {
            self.bytes = bytes
            self.allowDuplicateKeys = allowDuplicateKeys
        }

        func error(_ reason: String) -> ParseError {
            ParseError(kind: .syntax, reason: reason, offset: index)
        }

        func describeCurrent() -> String {
            guard index < bytes.count else { return "end of text" }
            let b = bytes[index]
            if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
            return "byte 0x\(String(b, radix: 16, uppercase: true))"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(ParseError) -> Value {
            guard index < bytes.count else { throw error("unexpected end of text, expected a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error("unexpected \(describeCurrent()), expected a value")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(ParseError) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("unexpected end of text in a literal") }
            let p = literal.utf8Start
            for k in 0..<count where bytes[index + k] != p[k] {
                throw error("invalid literal, expected \(literal)")
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws(ParseError) -> Value {
            if depth > SafetensorsJSON.maxDepth { throw error("nesting deeper than \(SafetensorsJSON.maxDepth)") }
            index += 1   // {
            var members: [Member] = []
            var keys = Set<String>()
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("unexpected \(describeCurrent()), expected a string key")
                }
                let keyOffset = index
                let key = try parseString()
                if !allowDuplicateKeys && !keys.insert(key).inserted {
                    throw ParseError(kind: .duplicateKey(key), reason: "duplicate key \(SafetensorsJSON.quoted(key))", offset: keyOffset)
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("unexpected \(describeCurrent()), expected ':'")
                }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                members.append(Member(key: key, value: value))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of text in an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("unexpected \(describeCurrent()), expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws(ParseError) -> Value {
            if depth > SafetensorsJSON.maxDepth { throw error("nesting deeper than \(SafetensorsJSON.maxDepth)") }
            index += 1   // [
            var elements: [Value] = []
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of text in an array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw error("unexpected \(describeCurrent()), expected ',' or ']'")
            }
        }

        mutating func parseHex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("unexpected end of text in a \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw error("invalid hex digit in a \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        /// Parses a string starting at the opening quote. The text is already known to be valid UTF-8.
        mutating func parseString() throws(ParseError) -> String {
            index += 1   // opening quote
            var out: [UInt8] = []
            var runStart = index
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    out.append(contentsOf: bytes[runStart..<index])
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 { throw error("unescaped control character in a string") }
                if b != UInt8(ascii: "\\") { index += 1; continue }
                out.append(contentsOf: bytes[runStart..<index])
                index += 1
                guard index < bytes.count else { throw error("unterminated escape in a string") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard index + 2 <= bytes.count,
                              bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("lone leading surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw error("invalid trailing surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw error("lone trailing surrogate in a \\u escape")
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    index -= 1
                    throw error("invalid escape \\\(describeCurrent())")
                }
                runStart = index
            }
        }

        mutating func parseNumber() throws(ParseError) -> Number {
            let start = index
            var isPlainInteger = true
            if bytes[index] == UInt8(ascii: "-") {
                isPlainInteger = false
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                isPlainInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected a digit after '.'") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
                isPlainInteger = false
                index += 1
                if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number, expected an exponent digit") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            return Number(text: text, unsignedInteger: isPlainInteger ? UInt64(text) : nil)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    }

    // MARK: Writing

    /// `string` as a JSON string literal, escaped like serde_json (and Python's
    /// `json.dumps(..., ensure_ascii=False)`); with `asciiOnly`, non-ASCII is written as `\uXXXX`
    /// escapes like Python's default `ensure_ascii=True`.
    static func quoted(_ string: String, asciiOnly: Bool = false) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// Orders strings by Unicode code point (= UTF-8 byte order), as Rust's `str` and Python's
    /// `sorted()` do; Swift's `<` on `String` uses canonical equivalence instead.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

extension SafetensorsJSON.Value {
    /// Compact JSON text of the value, cut to about `limit` characters, for error messages.
    func abbreviated(limit: Int = 60) -> String {
        var out = ""
        render(into: &out, limit: limit)
        return out.count > limit ? String(out.prefix(limit)) + "…" : out
    }

    private func render(into out: inout String, limit: Int) {
        if out.count > limit { return }
        switch self {
        case .object(let members):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += "," }
                out += SafetensorsJSON.quoted(member.key) + ":"
                member.value.render(into: &out, limit: limit)
                if out.count > limit { return }
            }
            out += "}"
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                element.render(into: &out, limit: limit)
                if out.count > limit { return }
            }
            out += "]"
        case .string(let s): out += SafetensorsJSON.quoted(s)
        case .number(let n): out += n.text
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }
}
