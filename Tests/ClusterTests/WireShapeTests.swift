import Foundation
import Testing
@testable import Cluster
import Linalg

/// The matrices a peer sends are checked against the shape the receiver needs
/// (`Message.floatMatrix(_:rows:cols:)`, used for deltas, statistics sums, projectors,
/// constraints, caches, targets, keys and residuals): another shape is a `badPayload` naming the
/// message and the tensor, never a shape trap in the arithmetic that follows.
@Suite struct WireShapeTests {
    static func message(_ tensors: [WireTensor]) -> Message {
        Message(header: MessageHeader(version: MessageCodec.protocolVersion, jobID: "job", epoch: 1, sequence: 1),
                body: .applyDelta(ApplyDelta(batch: 0, layer: 1)), tensors: tensors)
    }

    @Test func aMatrixOfTheExpectedShapeIsReturned() throws {
        let m = Self.message([WireTensor(name: "delta", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])])
        let delta = try m.floatMatrix("delta", rows: 2, cols: 3)
        #expect(delta.elements == [1, 2, 3, 4, 5, 6])
    }

    @Test func anotherShapeIsABadPayloadNamingTheTensor() {
        let m = Self.message([WireTensor(name: "delta", floats: [1, 2, 3, 4, 5, 6], shape: [3, 2]),
                              WireTensor(name: "sum", doubles: [1, 0, 0, 1], shape: [2, 2])])
        #expect(throws: ClusterError.badPayload("APPLY_DELTA tensor \"delta\" is 3×2, expected 2×3")) {
            try m.floatMatrix("delta", rows: 2, cols: 3)
        }
        #expect(throws: ClusterError.badPayload("APPLY_DELTA tensor \"sum\" is 2×2, expected 4×4")) {
            try m.doubleMatrix("sum", rows: 4, cols: 4)
        }
        #expect(throws: ClusterError.self) { try m.floatMatrix("missing", rows: 1, cols: 1) }
    }

    @Test func aShapeWhoseByteCountOverflowsIsMalformed() {
        let huge = WireTensor(name: "sum", dtype: .f64, shape: [1 << 62], bytes: [])
        #expect(throws: ProtocolError.self) { try huge.doubles() }
        let m = Self.message([WireTensor(name: "sum", dtype: .f64, shape: [1 << 61, 2], bytes: [])])
        #expect(throws: ProtocolError.self) { try m.doubleMatrix("sum", rows: 1 << 61, cols: 2) }
    }

    @Test func aCountAboveIntMaxIsMalformedAtDecoding() throws {
        let header = MessageHeader(version: MessageCodec.protocolVersion, jobID: "job", epoch: 1, sequence: 1)
        let bad = Message(header: header, body: .statisticsPart(StatisticsPart(layer: 1, chunkIndex: 0, tokenCount: .max, sampleCount: 3)),
                          tensors: [])
        let frames = MessageCodec.encode(bad)[0]
        let error = #expect(throws: ProtocolError.self) { try MessageCodec.decodePart(frames) }
        #expect(error?.code == .malformed)
        #expect(error?.detail.contains("STATISTICS_PART token_count 18446744073709551615 is out of range") == true)
        let good = Message(header: header, body: .statisticsPart(StatisticsPart(layer: 1, chunkIndex: 0, tokenCount: 7, sampleCount: 3)),
                           tensors: [])
        #expect(try MessageCodec.decodePart(MessageCodec.encode(good)[0]).body == good.body)
    }
}
