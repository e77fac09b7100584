import Foundation

/// One received ZeroMQ message: a part of a logical message, validated.
public struct MessagePart: Sendable {
    public var header: MessageHeader
    public var body: MessageBody
    public var partIndex: Int
    public var partCount: Int
    /// Each tensor chunk with its descriptor, in frame order.
    var chunks: [(descriptor: TensorDescriptor, bytes: [UInt8])]

    /// REGISTER is the one kind a peer may send before it knows the job.
    public var isRegister: Bool {
        if case .register = body { return true }
        return false
    }

    /// WELCOME (a new epoch after a lost worker) and SHUTDOWN (to a worker declared lost) are
    /// taken from the coordinator of the same job at another epoch.
    public var crossesEpochs: Bool {
        switch body {
        case .welcome, .shutdown: return true
        default: return false
        }
    }
}

/// Messages to and from ZeroMQ multipart frames: frame 0 the protobuf envelope, frames 1…n the
/// tensors' raw bytes, each with a CRC-32C in its descriptor. Tensors larger than the chunk
/// limit are split into chunks; a message whose tensors exceed the limit is sent as several
/// parts (ZeroMQ messages) of at most one limit of payload each, reassembled by
/// ``MessageAssembler``.
public enum MessageCodec {
    public static let protocolVersion: UInt32 = 1
    public static let defaultMaxChunkBytes = 64 << 20

    /// The parts of `message`, each a list of frames (every part encoded at once: for tests and
    /// small messages; links send through a ``PartEncoder``, one part at a time).
    public static func encode(_ message: Message, maxChunkBytes: Int = defaultMaxChunkBytes) -> [[Frame]] {
        let encoder = PartEncoder(message, maxChunkBytes: maxChunkBytes)
        return (0..<encoder.partCount).map { encoder.part($0) }
    }

    /// Decodes and validates one part. Never traps: every fault is a ``ProtocolError`` naming the
    /// frame or field.
    public static func decodePart(_ frames: [Frame], maxFrameBytes: Int = defaultMaxChunkBytes) throws(ProtocolError) -> MessagePart {
        guard let first = frames.first else { throw ProtocolError(code: .truncated, detail: "a message without frames") }
        for (i, frame) in frames.enumerated() where frame.count > maxFrameBytes {
            throw ProtocolError(code: .oversized, detail: "frame \(i) holds \(frame.count) bytes, more than the \(maxFrameBytes)-byte limit")
        }
        let fields = try EnvelopeCodec.unpack(first)
        let header = fields.header
        guard header.version == protocolVersion else {
            throw ProtocolError(code: .versionMismatch, detail: "protocol version \(header.version), this is version \(protocolVersion); run the same alphaedit release everywhere", header: header)
        }
        guard fields.partCount >= 1, fields.partIndex < fields.partCount else {
            throw ProtocolError(code: .malformed, detail: "part \(fields.partIndex) of \(fields.partCount)", header: header)
        }
        let descriptors = fields.descriptors
        if frames.count - 1 < descriptors.count {
            throw ProtocolError(code: .truncated, detail: "\(descriptors.count) tensor frames announced, \(frames.count - 1) received", header: header)
        }
        if frames.count - 1 > descriptors.count {
            throw ProtocolError(code: .malformed, detail: "\(frames.count - 1) tensor frames for \(descriptors.count) descriptors", header: header)
        }
        var chunks: [(descriptor: TensorDescriptor, bytes: [UInt8])] = []
        for (i, d) in descriptors.enumerated() {
            let frame = frames[i + 1]
            let label = "frame \(i + 1) (tensor \"\(d.name)\" chunk \(d.chunkIndex + 1)/\(d.chunkCount))"
            let elements = WireTensor(name: d.name, dtype: d.dtype, shape: d.shape, bytes: []).elementCount
            guard let elements, elements.multipliedReportingOverflow(by: d.dtype.elementSize) == (d.byteLength, false) else {
                throw ProtocolError(code: .malformed, detail: "\(label): shape \(d.shape) of \(d.dtype.rawValue) is not \(d.byteLength) bytes", header: header)
            }
            guard d.chunkCount >= 1, d.chunkIndex < d.chunkCount, d.chunkOffset <= d.byteLength,
                  frame.count <= d.byteLength - d.chunkOffset else {
                throw ProtocolError(code: .malformed, detail: "\(label): \(frame.count) bytes at offset \(d.chunkOffset) of \(d.byteLength)", header: header)
            }
            if d.chunkCount == 1, frame.count != d.byteLength {
                throw ProtocolError(code: .truncated, detail: "\(label): \(frame.count) of \(d.byteLength) bytes", header: header)
            }
            let crc = CRC32C.checksum(frame)
            guard crc == d.crc32c else {
                throw ProtocolError(code: .badCRC, detail: "\(label): CRC-32C \(hex(crc)), expected \(hex(d.crc32c))", header: header)
            }
            chunks.append((d, frame))
        }
        return MessagePart(header: header, body: fields.body, partIndex: fields.partIndex, partCount: fields.partCount, chunks: chunks)
    }

    static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16, uppercase: false) }
}

/// Cuts a message into parts lazily: the chunk layout is planned up front, and each part's
/// frames (its envelope and a copy of its chunks' bytes, with their CRC-32C) are made only when
/// the part is sent, so a large tensor is never held twice by the sender.
public struct PartEncoder: Sendable {
    struct Chunk: Sendable {
        var tensor: Int
        var index: Int
        var count: Int
        var range: Range<Int>
    }

    public let message: Message
    /// Chunks of each part, in order.
    let parts: [[Chunk]]

    public init(_ message: Message, maxChunkBytes: Int = MessageCodec.defaultMaxChunkBytes) {
        precondition(maxChunkBytes > 0)
        self.message = message
        var chunks: [Chunk] = []
        for (t, tensor) in message.tensors.enumerated() {
            let total = tensor.byteCount
            let count = max(1, total / maxChunkBytes + (total % maxChunkBytes == 0 ? 0 : 1))
            for c in 0..<count {
                let start = c * maxChunkBytes
                chunks.append(Chunk(tensor: t, index: c, count: count, range: start..<(start + min(maxChunkBytes, total - start))))
            }
        }
        // Parts: consecutive chunks while the payload stays within the limit (at least one each).
        var groups: [[Chunk]] = [[]]
        var payload = 0
        for chunk in chunks {
            if !groups[groups.count - 1].isEmpty, payload + chunk.range.count > maxChunkBytes {
                groups.append([])
                payload = 0
            }
            groups[groups.count - 1].append(chunk)
            payload += chunk.range.count
        }
        parts = groups
    }

    public var partCount: Int { parts.count }

    /// Part `i`'s frames: the envelope, then one frame per chunk.
    public func part(_ i: Int) -> [Frame] {
        var frames: [Frame] = [[]]
        var descriptors: [TensorDescriptor] = []
        for chunk in parts[i] {
            let tensor = message.tensors[chunk.tensor]
            let bytes = tensor.frame(chunk.range)
            descriptors.append(TensorDescriptor(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, byteLength: tensor.byteCount,
                                                crc32c: CRC32C.checksum(bytes), chunkIndex: chunk.index, chunkCount: chunk.count,
                                                chunkOffset: chunk.range.lowerBound))
            frames.append(bytes)
        }
        frames[0] = EnvelopeCodec.pack(EnvelopeFields(header: message.header, body: message.body, descriptors: descriptors,
                                                      partIndex: i, partCount: parts.count))
        return frames
    }
}

/// Reassembles the parts of messages (keyed by sequence number) into whole messages. Each
/// tensor is allocated once, at its first chunk, and chunks are copied in as they arrive, so a
/// tensor is held once (plus the chunks in flight). What a peer can make this process hold is
/// bounded twice: one tensor by `maxTensorBytes`, all its unfinished messages together by
/// `maxPendingBytes` (many half-sent messages are refused like one oversized tensor).
public struct MessageAssembler: Sendable {
    private struct Pending: Sendable {
        var header: MessageHeader
        var body: MessageBody
        var partCount: Int
        var nextPart = 0
        var tensors: [TensorBuilder] = []
        var nextChunk: [String: Int] = [:]
        var expected: [String: Int] = [:]
        /// Bytes of the tensors announced so far.
        var announced = 0
    }

    private var pending: [UInt64: Pending] = [:]
    /// Bytes announced by the unfinished messages.
    public private(set) var pendingBytes = 0
    /// The largest tensor a peer may announce (default: half of this host's memory).
    public let maxTensorBytes: Int
    /// The most the unfinished messages together may announce (default: `maxTensorBytes`).
    public let maxPendingBytes: Int

    public init(maxTensorBytes: Int = Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max))),
                maxPendingBytes: Int? = nil) {
        self.maxTensorBytes = maxTensorBytes
        self.maxPendingBytes = maxPendingBytes ?? maxTensorBytes
    }

    /// Messages still waiting for parts.
    public var incomplete: Int { pending.count }

    /// Forgets an unfinished message (completed or refused).
    private mutating func drop(_ sequence: UInt64) {
        if let message = pending.removeValue(forKey: sequence) { pendingBytes -= message.announced }
    }

    /// Adds a part; returns the message when it is complete.
    public mutating func add(_ part: MessagePart) throws(ProtocolError) -> Message? {
        let sequence = part.header.sequence
        var message = pending[sequence] ?? Pending(header: part.header, body: part.body, partCount: part.partCount)
        guard part.partIndex == message.nextPart, part.partCount == message.partCount else {
            drop(sequence)
            throw ProtocolError(code: .outOfOrder, detail: "part \(part.partIndex + 1)/\(part.partCount) after \(message.nextPart) of \(message.partCount)", header: part.header)
        }
        for (d, bytes) in part.chunks {
            let next = message.nextChunk[d.name] ?? 0
            guard d.chunkIndex == next else {
                drop(sequence)
                throw ProtocolError(code: .outOfOrder, detail: "tensor \"\(d.name)\" chunk \(d.chunkIndex + 1) after \(next)", header: part.header)
            }
            if next == 0 {
                guard d.byteLength <= maxTensorBytes else {
                    drop(sequence)
                    throw ProtocolError(code: .oversized, detail: "tensor \"\(d.name)\" announces \(d.byteLength) bytes, more than the \(maxTensorBytes)-byte limit", header: part.header)
                }
                // What this message already announced is counted in pendingBytes only once it is stored.
                let stored = pending[sequence]?.announced ?? 0
                let total = pendingBytes - stored + message.announced + d.byteLength
                guard total <= maxPendingBytes else {
                    drop(sequence)
                    throw ProtocolError(code: .oversized, detail: "tensor \"\(d.name)\" would make the unfinished messages hold \(total) bytes, more than the \(maxPendingBytes)-byte limit", header: part.header)
                }
                message.tensors.append(TensorBuilder(name: d.name, dtype: d.dtype, shape: d.shape, byteLength: d.byteLength))
                message.expected[d.name] = d.chunkCount
                message.announced += d.byteLength
            }
            guard let i = message.tensors.lastIndex(where: { $0.tensor.name == d.name }), message.tensors[i].filled == d.chunkOffset,
                  message.tensors[i].byteLength == d.byteLength, d.chunkOffset + bytes.count <= d.byteLength else {
                drop(sequence)
                throw ProtocolError(code: .malformed, detail: "tensor \"\(d.name)\" chunk \(d.chunkIndex + 1) at offset \(d.chunkOffset) does not continue it", header: part.header)
            }
            message.tensors[i].append(bytes)
            message.nextChunk[d.name] = next + 1
        }
        message.nextPart += 1
        guard message.nextPart == message.partCount else {
            pendingBytes += message.announced - (pending[sequence]?.announced ?? 0)
            pending[sequence] = message
            return nil
        }
        drop(sequence)
        for builder in message.tensors {
            let name = builder.tensor.name
            guard message.nextChunk[name] == message.expected[name], builder.filled == builder.byteLength else {
                throw ProtocolError(code: .truncated, detail: "tensor \"\(name)\" ended after \(message.nextChunk[name] ?? 0) of \(message.expected[name] ?? 0) chunks", header: part.header)
            }
        }
        return Message(header: message.header, body: message.body, tensors: message.tensors.map(\.tensor))
    }
}
