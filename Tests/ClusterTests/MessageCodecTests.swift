import Foundation
import Testing
@testable import Cluster

/// Messages to frames and back: chunking, parts, reassembly, and the faults a receiver names.
@Suite struct MessageCodecTests {
    func message(_ tensors: [WireTensor], sequence: UInt64 = 7) -> Message {
        Message(header: MessageHeader(version: MessageCodec.protocolVersion, jobID: "job", epoch: 1, sequence: sequence, computeSeconds: 1.5),
                body: .applyDelta(ApplyDelta(batch: 2, layer: 3)), tensors: tensors)
    }

    func tensors() -> [WireTensor] {
        [WireTensor(name: "small", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3]),
         WireTensor(name: "large", doubles: (0..<1000).map { Double($0) * 0.5 }, shape: [10, 100]),
         WireTensor(name: "json", dtype: .u8, shape: [5], bytes: Array("[1,2]".utf8))]
    }

    @Test func aMessageInOnePartRoundTrips() throws {
        let original = message(tensors())
        let parts = MessageCodec.encode(original)
        #expect(parts.count == 1 && parts[0].count == 4)
        var assembler = MessageAssembler()
        let decoded = try assembler.add(try MessageCodec.decodePart(parts[0]))
        #expect(decoded == original)
        #expect(try decoded?.tensors[1].doubles() == (0..<1000).map { Double($0) * 0.5 })
    }

    @Test func largeTensorsTravelInChunksAndParts() throws {
        let original = message(tensors())
        // 8000-byte tensor in 300-byte chunks: 27 chunks, each part at most 300 bytes of payload.
        let parts = MessageCodec.encode(original, maxChunkBytes: 300)
        #expect(parts.count == 28)   // [small], then the 27 chunks of "large" (the last with "json")
        for part in parts { #expect(part.dropFirst().reduce(0) { $0 + $1.count } <= 300) }
        var assembler = MessageAssembler()
        var decoded: Message?
        for (i, part) in parts.enumerated() {
            decoded = try assembler.add(try MessageCodec.decodePart(part, maxFrameBytes: 300))
            #expect((decoded == nil) == (i + 1 < parts.count))
        }
        #expect(decoded == original)
        #expect(assembler.incomplete == 0)
        // Tensors come back in the storage their dtype reads without a copy.
        if case .doubles = decoded?.tensors[1].storage {} else { Issue.record("F64 tensor not assembled as [Double]") }
    }

    @Test func partsOutOfOrderOrMissingAreNamed() throws {
        let parts = MessageCodec.encode(message(tensors()), maxChunkBytes: 1000)
        #expect(parts.count >= 3)
        var assembler = MessageAssembler()
        _ = try assembler.add(try MessageCodec.decodePart(parts[0], maxFrameBytes: 1000))
        #expect(throws: ProtocolError.self) { try assembler.add(try MessageCodec.decodePart(parts[2], maxFrameBytes: 1000)) }
        // A frame cut short is caught by its length or CRC.
        var cut = parts[1]
        cut[1].removeLast()
        #expect(throws: ProtocolError.self) { try MessageCodec.decodePart(cut, maxFrameBytes: 1000) }
    }

    @Test func aTensorLargerThanTheLimitIsRefusedBeforeAllocation() throws {
        let parts = MessageCodec.encode(message([WireTensor(name: "huge", doubles: [Double](repeating: 1, count: 4096), shape: [4096])]),
                                        maxChunkBytes: 1024)
        var assembler = MessageAssembler(maxTensorBytes: 8 * 1024)
        do {
            _ = try assembler.add(try MessageCodec.decodePart(parts[0], maxFrameBytes: 1024))
            Issue.record("a 32 KiB tensor was accepted under an 8 KiB limit")
        } catch {
            #expect(error.code == .oversized && error.description.contains("huge"), "\(error)")
        }
    }

    /// Many messages left half sent are bounded together, not only each tensor: the unfinished
    /// messages of a peer may announce at most `maxPendingBytes`; finishing or refusing one frees
    /// what it announced.
    @Test func unfinishedMessagesAreBoundedTogether() throws {
        func parts(_ sequence: UInt64) -> [[Frame]] {
            MessageCodec.encode(message([WireTensor(name: "t\(sequence)", doubles: [Double](repeating: 1, count: 512), shape: [512])],
                                        sequence: sequence), maxChunkBytes: 1024)   // a 4 KiB tensor in 4 parts
        }
        var assembler = MessageAssembler(maxTensorBytes: 8 * 1024, maxPendingBytes: 10 * 1024)
        let a = parts(1), b = parts(2), c = parts(3)
        #expect(a.count == 4)
        _ = try assembler.add(try MessageCodec.decodePart(a[0], maxFrameBytes: 1024))
        _ = try assembler.add(try MessageCodec.decodePart(b[0], maxFrameBytes: 1024))
        #expect(assembler.pendingBytes == 8 * 1024)
        do {
            _ = try assembler.add(try MessageCodec.decodePart(c[0], maxFrameBytes: 1024))
            Issue.record("a third 4 KiB message was started under a 10 KiB limit for unfinished messages")
        } catch {
            #expect(error.code == .oversized && error.description.contains("unfinished messages"), "\(error)")
        }
        #expect(assembler.pendingBytes == 8 * 1024 && assembler.incomplete == 2)
        // Finishing one frees its bytes; then the third fits.
        for part in a.dropFirst() { _ = try assembler.add(try MessageCodec.decodePart(part, maxFrameBytes: 1024)) }
        #expect(assembler.pendingBytes == 4 * 1024 && assembler.incomplete == 1)
        for part in c { _ = try assembler.add(try MessageCodec.decodePart(part, maxFrameBytes: 1024)) }
        for part in b.dropFirst() { _ = try assembler.add(try MessageCodec.decodePart(part, maxFrameBytes: 1024)) }
        #expect(assembler.pendingBytes == 0 && assembler.incomplete == 0)
    }

    @Test func theChunkLimitNeverOverflows() {
        let parts = MessageCodec.encode(message(tensors()), maxChunkBytes: Int.max)
        #expect(parts.count == 1)
    }
}
