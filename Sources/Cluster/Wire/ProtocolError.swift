/// What is wrong with a message, as the ERROR reply's code says it.
public enum ErrorCode: String, Sendable, Equatable, CaseIterable {
    case malformed, badCRC, truncated, oversized, unknownKind, wrongJob, wrongEpoch, versionMismatch, outOfOrder, workFailed, `internal`
}

/// A message that cannot be taken, with the field or frame at fault. `header` is set when the
/// envelope could be read (so that the reply can name the sequence number).
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var detail: String
    public var header: MessageHeader?

    public init(code: ErrorCode, detail: String, header: MessageHeader? = nil) {
        self.code = code
        self.detail = detail
        self.header = header
    }

    public var description: String {
        let sequence = header.map { " (message \($0.sequence))" } ?? ""
        return Self.oneLine("\(code.rawValue)\(sequence): \(detail)")
    }

    /// `text` with control characters and line or paragraph separators escaped: details quote
    /// names from the peer's message, and a log line or ERROR reply must stay one line.
    static func oneLine(_ text: String) -> String {
        func breaks(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
        guard text.unicodeScalars.contains(where: breaks) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard breaks(scalar) else { out.append(scalar); continue }
            switch scalar {
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default: out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            }
        }
        return String(out)
    }
}
