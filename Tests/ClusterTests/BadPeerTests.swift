import Foundation
import Testing
@testable import Cluster
@testable import Editing

/// A peer that sends garbage gets an ERROR reply naming the fault, the coordinator logs the peer
/// and the fault and keeps running, and the job's result is unaffected.
@Suite(.serialized) struct BadPeerTests {
    /// A raw DEALER next to the workers, sending what it is told.
    final class RawPeer {
        let context: ZMQContext
        let dealer: DealerSocket
        init(endpoint: String) throws {
            context = try ZMQContext()
            dealer = try DealerSocket(context: context, identity: PeerID(bytes: Array("intruder".utf8)))
            try dealer.connect(endpoint)
        }

        /// Sends `frames` and returns the ERROR the coordinator answers with.
        func errorReply(to frames: [Frame], sourceLocation: SourceLocation = #_sourceLocation) throws -> ErrorReport? {
            try dealer.send(frames)
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                guard let reply = try dealer.receive(timeout: .milliseconds(200)) else { continue }
                let message = try MessageCodec.decodePart(reply)
                if case .error(let report) = message.body { return report }
            }
            Issue.record("no ERROR reply within 10 s", sourceLocation: sourceLocation)
            return nil
        }
    }

    func valid(_ coordinator: Coordinator, version: UInt32 = MessageCodec.protocolVersion, job: String? = nil, epoch: UInt64? = nil,
               tensors: [WireTensor] = [], maxChunkBytes: Int = MessageCodec.defaultMaxChunkBytes) -> [Frame] {
        let header = MessageHeader(version: version, jobID: job ?? coordinator.jobID, epoch: epoch ?? coordinator.epoch, sequence: 1)
        return MessageCodec.encode(Message(header: header, body: .heartbeat(Heartbeat(sentUnixMilliseconds: 0)), tensors: tensors),
                                  maxChunkBytes: maxChunkBytes)[0]
    }

    @Test func everyFaultIsAnsweredAndTheJobIsUnaffected() throws {
        let oracle = ClusterOracle("alphaedit-oracle")
        let cluster = try TestCluster(workers: 1, link: .tcp)
        defer { cluster.stop() }
        let peer = try RawPeer(endpoint: cluster.coordinator.endpoint)
        let c = cluster.coordinator
        let tensor = WireTensor(name: "t", floats: [1, 2, 3, 4], shape: [2, 2])

        var badCRC = valid(c, tensors: [tensor])
        badCRC[1][0] ^= 0xFF
        var truncated = valid(c, tensors: [tensor])
        truncated.removeLast()
        let oversized = valid(c, tensors: [WireTensor(name: "big", floats: [Float](repeating: 1, count: (MessageCodec.defaultMaxChunkBytes / 4) + 1024),
                                                      shape: [(MessageCodec.defaultMaxChunkBytes / 4) + 1024])],
                          maxChunkBytes: Int.max)
        // An envelope with protocol_version 1 and kind 999 (field 5, varint): no such kind.
        let unknownKind: [Frame] = [[0x08, 0x01, 0x28, 0xE7, 0x07]]
        let cases: [(String, [Frame], ErrorCode)] = [
            ("malformed envelope", [[0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]], .malformed),
            ("wrong CRC", badCRC, .badCRC),
            ("truncated multipart", truncated, .truncated),
            ("oversized frame", oversized, .oversized),
            ("unknown kind", unknownKind, .unknownKind),
            ("another job", valid(c, job: "another-job"), .wrongJob),
            ("another epoch", valid(c, epoch: 99), .wrongEpoch),
            ("protocol version 2", valid(c, version: 2), .versionMismatch),
        ]
        for (label, frames, code) in cases {
            let report = try peer.errorReply(to: frames)
            #expect(report?.code == code, "\(label): got \(String(describing: report))")
        }
        // Each fault is logged with the peer's identity.
        let logged = cluster.lines.all.filter { $0.contains("intruder") }
        #expect(logged.count >= cases.count, "\(cluster.lines.all)")

        // The job still runs, with the same result as one process.
        let work = try SameBytesTests.work("badpeer")
        let localWork = try SameBytesTests.work("badpeer-local")
        defer { try? FileManager.default.removeItem(at: work); try? FileManager.default.removeItem(at: localWork) }
        let executor = try cluster.executor(oracle)
        let distributed = try SameBytesTests().edit(oracle, in: work) { executor }
        let local = try SameBytesTests().edit(oracle, in: localWork) { LocalExecutor() }
        try expectSameTree(local.output, distributed.output, "after the bad peer")
    }
}
