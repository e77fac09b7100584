/// The wire protocol: frame 0 the protobuf-c `Envelope` (header, every body kind, tensor
/// descriptors), frames 1…n tensor chunks with CRC-32C, and the reassembly of multi-part
/// messages (`MessageAssembler`).
///
/// Input: records `[UInt32 little-endian length][bytes]` (a length past the end takes the rest);
/// a length of 0xFFFFFFFF ends one ZeroMQ message (part) and starts the next. Every part is
/// decoded and handed to one assembler (tensors limited to 4 MiB, frames to 1 MiB). A complete
/// message has its tensors read, is encoded again in small chunks, and must decode and encode
/// to the same frames.
import Cluster
import Foundation
import FuzzSupport

func frames(of input: UnsafeRawBufferPointer) -> [[Frame]] {
    var parts: [[Frame]] = [[]]
    var i = 0
    var total = 0
    while i < input.count && total < 64 {
        var length = 0
        for k in 0..<4 where i + k < input.count { length |= Int(input[i + k]) << (8 * k) }
        i += 4
        if length == 0xFFFF_FFFF {
            parts.append([])
            continue
        }
        let end = min(input.count, i + length)
        parts[parts.count - 1].append(i < end ? Array(input[i..<end]) : [])
        total += 1
        i = end
    }
    return parts.filter { !$0.isEmpty }
}

/// Decodes and reassembles `parts`; every fault must be a `ProtocolError`.
func decode(_ parts: [[Frame]], assembler: inout MessageAssembler) -> [Message] {
    var messages: [Message] = []
    for frames in parts {
        let part = expectTypedError("decodePart", { $0 is ProtocolError }) { try MessageCodec.decodePart(frames, maxFrameBytes: 1 << 20) }
        guard let part else { continue }
        let message = expectTypedError("assembler.add", { $0 is ProtocolError }) { try assembler.add(part) }
        if let message = message ?? nil { messages.append(message) }
    }
    return messages
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var assembler = MessageAssembler(maxTensorBytes: 4 << 20)
    for message in decode(frames(of: fuzzInput(start, count)), assembler: &assembler) {
        for tensor in message.tensors {
            expectTypedError("floats", { $0 is ProtocolError }) { try tensor.floats() }
            expectTypedError("doubles", { $0 is ProtocolError }) { try tensor.doubles() }
        }
        // Round trip through the encoder, in chunks small enough to make several parts.
        let encoded = MessageCodec.encode(message, maxChunkBytes: 64)
        var again = MessageAssembler(maxTensorBytes: 4 << 20)
        let decoded = encoded.compactMap { frames -> Message? in
            do {
                return try again.add(try MessageCodec.decodePart(frames, maxFrameBytes: 1 << 20))
            } catch {
                fuzzFailure("a re-encoded message does not decode: \(error)")
            }
        }
        guard decoded.count == 1, MessageCodec.encode(decoded[0], maxChunkBytes: 64) == encoded else {
            fuzzFailure("a message does not survive encode → decode → encode (\(decoded.count) messages back)")
        }
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzEnvelope_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
