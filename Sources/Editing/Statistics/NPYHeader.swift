import Foundation
import Transformer

/// The header of a NumPy `.npy` array: magic `\x93NUMPY`, version (1.0, 2.0 or 3.0), a
/// little-endian header length (2 bytes in version 1, 4 in versions 2 and 3) and a Python dict
/// literal `{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8), }` padded with spaces and a
/// newline. The array's bytes follow, exactly `elementCount · itemSize` of them.
///
/// Only what the official statistics files hold is decoded: booleans, integers and floats of
/// either byte order. Other dtypes (`|O` pickled objects, `<U` strings, structured records…)
/// parse as `NPYDataType.unsupported` so that a caller that does not need the member can ignore it.
public struct NPYHeader: Sendable, Equatable {
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Longest header text accepted (numpy's own reader refuses more than 10 000 bytes by default).
    public static let maxHeaderLength = 1 << 20

    /// Format version, 1, 2 or 3 (the minor version is always 0).
    public var version: Int
    /// The dtype string as written, e.g. `<f4`; for a structured dtype, the literal's text.
    public var descr: String
    public var dataType: NPYDataType
    /// True when the bytes are in column-major (Fortran) order.
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Bytes before the data: magic, version, length field and header text.
    public var dataOffset: Int

    /// Elements: the product of the shape (1 for a 0-d array).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes of data the header promises, or nil for dtypes of unknown size.
    public var dataByteCount: Int? { dataType.itemSize.map { elementCount * $0 } }

    /// Parses a header from the first bytes of an `.npy` stream.
    /// - Returns: nil when `bytes` is too short to hold the whole header yet.
    /// - Throws: `NPYHeaderFault` describing what is wrong.
    public static func parse(_ bytes: [UInt8]) throws(NPYHeaderFault) -> NPYHeader? {
        if bytes.count < 8 {
            if !bytes.elementsEqual(magic.prefix(bytes.count)) { throw .notNPY(found: bytes) }
            return nil
        }
        guard Array(bytes[0..<6]) == magic else { throw .notNPY(found: Array(bytes.prefix(6))) }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        guard (1...3).contains(major), minor == 0 else { throw .version(major: major, minor: minor) }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { return nil }
        var length = 0
        for i in (0..<lengthBytes).reversed() { length = length << 8 | Int(bytes[8 + i]) }
        guard length <= maxHeaderLength else { throw .headerLength(length) }
        let start = 8 + lengthBytes
        guard bytes.count >= start + length else { return nil }
        let textBytes = bytes[start..<(start + length)]
        // Versions 1 and 2 are latin-1; version 3 is UTF-8.
        guard let text = major == 3 ? String(bytes: textBytes, encoding: .utf8) : String(bytes: textBytes, encoding: .isoLatin1) else {
            throw .header(reason: "the header text is not \(major == 3 ? "UTF-8" : "latin-1")")
        }
        let value: PythonLiteral
        do { value = try PythonLiteral.parse(text) } catch { throw .header(reason: "\(error.reason) in \(text.trimmed.debugDescription)") }
        guard case .dict(let entries) = value else { throw .header(reason: "the header is not a dict: \(text.trimmed.debugDescription)") }
        let keys = entries.map(\.key)
        guard Set(keys) == ["descr", "fortran_order", "shape"], keys.count == 3 else {
            throw .header(reason: "the header's keys are \(keys.sorted()), expected descr, fortran_order and shape")
        }
        let dict = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard case .bool(let fortran) = dict["fortran_order"]! else {
            throw .header(reason: "fortran_order is \(dict["fortran_order"]!), not True or False")
        }
        guard let items = dict["shape"]!.sequence else { throw .header(reason: "shape is \(dict["shape"]!), not a tuple") }
        var shape: [Int] = []
        var total = 1
        for item in items {
            guard case .int(let n) = item, n >= 0 else { throw .header(reason: "shape \(dict["shape"]!) holds \(item), not a size") }
            let (product, overflow) = total.multipliedReportingOverflow(by: n)
            guard !overflow else { throw .header(reason: "shape \(dict["shape"]!) is too large") }
            total = product
            shape.append(n)
        }
        let descr: String, type: NPYDataType
        switch dict["descr"]! {
        case .string(let s):
            descr = s
            type = NPYDataType(descr: s)
        case let other:
            descr = "\(other)"
            type = .unsupported
        }
        if let itemSize = type.itemSize {
            guard !total.multipliedReportingOverflow(by: itemSize).overflow else { throw .header(reason: "shape \(shape) is too large") }
        }
        return NPYHeader(version: major, descr: descr, dataType: type, fortranOrder: fortran, shape: shape, dataOffset: start + length)
    }
}

/// The element types alphaedit decodes.
public enum NPYDataType: Sendable, Equatable {
    case float(size: Int, bigEndian: Bool)    // f2, f4, f8
    case int(size: Int, bigEndian: Bool)      // i1, i2, i4, i8
    case uint(size: Int, bigEndian: Bool)     // u1, u2, u4, u8
    case bool                                  // b1
    /// Anything else: objects (`|O`), strings, dates, complex, structured dtypes.
    case unsupported

    /// A numpy dtype string: byte order (`<`, `>`, `=`, `|`), kind and item size.
    public init(descr: String) {
        let chars = Array(descr)
        guard chars.count >= 3, "<>=|".contains(chars[0]), let size = Int(String(chars[2...])) else {
            self = .unsupported
            return
        }
        let big = chars[0] == ">"
        if chars[0] == "|" && size != 1 { self = .unsupported; return }
        switch (chars[1], size) {
        case ("f", 2), ("f", 4), ("f", 8): self = .float(size: size, bigEndian: big)
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): self = .int(size: size, bigEndian: big)
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): self = .uint(size: size, bigEndian: big)
        case ("b", 1): self = .bool
        default: self = .unsupported
        }
    }

    /// Bytes per element, nil when unsupported.
    public var itemSize: Int? {
        switch self {
        case .float(let size, _), .int(let size, _), .uint(let size, _): return size
        case .bool: return 1
        case .unsupported: return nil
        }
    }

    public var isFloatingPoint: Bool { if case .float = self { return true } else { return false } }

    /// The element at `pointer` (any alignment) as a Double (integers above 2⁵³ round).
    @inline(__always)
    func double(at pointer: UnsafeRawPointer) -> Double {
        switch self {
        case .float(4, let big):
            let raw = pointer.loadUnaligned(as: UInt32.self)
            return Double(Float(bitPattern: big ? raw.byteSwapped : raw))
        case .float(8, let big):
            let raw = pointer.loadUnaligned(as: UInt64.self)
            return Double(bitPattern: big ? raw.byteSwapped : raw)
        case .float(_, let big):
            let raw = pointer.loadUnaligned(as: UInt16.self)
            return Double(HalfFloat.float(fromF16: big ? raw.byteSwapped : raw))
        case .int, .uint, .bool:
            return Double(int64(at: pointer))
        case .unsupported:
            preconditionFailure("unsupported dtype")
        }
    }

    /// The element at `pointer` as an Int64 (floats truncate; u8 above Int64.max wraps).
    @inline(__always)
    func int64(at pointer: UnsafeRawPointer) -> Int64 {
        switch self {
        case .int(let size, let big), .uint(let size, let big):
            var raw: UInt64 = 0
            for i in 0..<size { raw |= UInt64(pointer.load(fromByteOffset: big ? size - 1 - i : i, as: UInt8.self)) << (8 * UInt64(i)) }
            if case .int = self, size < 8, raw & (1 << (8 * UInt64(size) - 1)) != 0 {
                raw |= ~0 << (8 * UInt64(size))  // sign-extend
            }
            return Int64(bitPattern: raw)
        case .bool:
            return pointer.load(as: UInt8.self) == 0 ? 0 : 1
        case .float:
            return Int64(exactly: double(at: pointer).rounded(.towardZero)) ?? 0
        case .unsupported:
            preconditionFailure("unsupported dtype")
        }
    }
}

/// What is wrong with an `.npy` header; `NPZError` adds the file and member.
public enum NPYHeaderFault: Error, Equatable, CustomStringConvertible {
    case notNPY(found: [UInt8])
    case version(major: Int, minor: Int)
    case headerLength(Int)
    case header(reason: String)

    public var description: String { message.escapingLineBreaks }

    private var message: String {
        switch self {
        case .notNPY(let found):
            return "not a .npy array (starts with \(found.map { String(format: "%02x", $0) }.joined(separator: " ")), expected the magic 93 4e 55 4d 50 59 = \\x93NUMPY)"
        case .version(let major, let minor):
            return "unsupported .npy format version \(major).\(minor) (1.0, 2.0 and 3.0 are read)"
        case .headerLength(let length): return "implausible .npy header length \(length)"
        case .header(let reason): return "bad .npy header: \(reason)"
        }
    }
}

// MARK: - Python literals

/// The subset of Python literal syntax `.npy` headers use (`ast.literal_eval` of a dict of
/// strings, booleans, integers, tuples and lists).
enum PythonLiteral: Equatable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(key: String, value: PythonLiteral)])

    struct SyntaxError: Error { let reason: String }

    static func == (a: PythonLiteral, b: PythonLiteral) -> Bool { a.description == b.description }

    var sequence: [PythonLiteral]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let n): return String(n)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .tuple(let items): return "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .dict(let entries): return "{" + entries.map { "'\($0.key)': \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    static func parse(_ text: String) throws(SyntaxError) -> PythonLiteral {
        var parser = Parser(chars: Array(text.unicodeScalars))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.index == parser.chars.count else { throw SyntaxError(reason: "unexpected text after the literal") }
        return value
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        var index = 0

        mutating func skipSpace() {
            while index < chars.count, chars[index].properties.isWhitespace { index += 1 }
        }

        mutating func value() throws(SyntaxError) -> PythonLiteral {
            skipSpace()
            guard index < chars.count else { throw SyntaxError(reason: "unexpected end") }
            switch chars[index] {
            case "{":
                index += 1
                var entries: [(key: String, value: PythonLiteral)] = []
                while true {
                    skipSpace()
                    if index < chars.count, chars[index] == "}" { index += 1; return .dict(entries) }
                    guard case .string(let key) = try value() else { throw SyntaxError(reason: "a dict key is not a string") }
                    skipSpace()
                    guard index < chars.count, chars[index] == ":" else { throw SyntaxError(reason: "expected ':' after '\(key)'") }
                    index += 1
                    entries.append((key, try value()))
                    _ = try separator(closing: "}")
                }
            case "(", "[":
                let closing: Unicode.Scalar = chars[index] == "(" ? ")" : "]"
                let isTuple = closing == ")"
                index += 1
                var items: [PythonLiteral] = []
                var trailingComma = false
                while true {
                    skipSpace()
                    if index < chars.count, chars[index] == closing {
                        index += 1
                        // `(8)` is the integer 8; `(8,)` is a tuple.
                        if isTuple, items.count == 1, !trailingComma { return items[0] }
                        return isTuple ? .tuple(items) : .list(items)
                    }
                    items.append(try value())
                    trailingComma = try separator(closing: closing)
                }
            case "'", "\"":
                let quote = chars[index]
                index += 1
                var s = String.UnicodeScalarView()
                while index < chars.count, chars[index] != quote {
                    if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                    s.append(chars[index])
                    index += 1
                }
                guard index < chars.count else { throw SyntaxError(reason: "unterminated string") }
                index += 1
                return .string(String(s))
            default:
                var word = ""
                while index < chars.count, chars[index] == "-" || chars[index] == "_" || chars[index].properties.isAlphabetic
                        || ("0"..."9").contains(chars[index]) {
                    word.unicodeScalars.append(chars[index])
                    index += 1
                }
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default:
                    let digits = word.hasSuffix("L") ? String(word.dropLast()) : word  // Python 2 longs
                    guard let n = Int(digits) else { throw SyntaxError(reason: word.isEmpty ? "unexpected character '\(chars[index])'" : "unexpected '\(word)'") }
                    return .int(n)
                }
            }
        }

        /// After an item: a comma (then maybe the closing bracket) or the closing bracket.
        /// - Returns: whether it was a comma.
        mutating func separator(closing: Unicode.Scalar) throws(SyntaxError) -> Bool {
            skipSpace()
            guard index < chars.count else { throw SyntaxError(reason: "unexpected end, expected '\(closing)'") }
            if chars[index] == "," { index += 1; return true }
            guard chars[index] == closing else { throw SyntaxError(reason: "expected ',' or '\(closing)', found '\(chars[index])'") }
            return false
        }
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
