import Transformer

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
        return "\(code.rawValue)\(sequence): \(detail)".escapingLineBreaks
    }
}
