import Foundation
import Testing
@testable import Cluster

/// The seed corpus of the FuzzEnvelope harness (Fuzz/): real messages of every body kind, with
/// tensors, encoded by `MessageCodec` into the harness's input format (records of a UInt32
/// little-endian length and the frame; 0xFFFFFFFF between the parts of a message).
///
/// The test checks that every committed seed decodes to a complete message; with
/// `ALPHAEDIT_FUZZ_SEEDS=<directory>` it writes the seeds there (`scripts/fuzz-seeds.sh --envelope`).
@Suite struct FuzzRegressionTests {
    static let header = MessageHeader(version: MessageCodec.protocolVersion, jobID: "job-7f3a", epoch: 2, sequence: 41, computeSeconds: 0.25)

    static let messages: [(name: String, message: Message, maxChunkBytes: Int)] = {
        let tensors = [WireTensor(name: "delta.layer.3", floats: [1, -2, 0.5, 4, 0, 3.25], shape: [2, 3]),
                       WireTensor(name: "mom2.sum", doubles: [1, 0, 0, 1], shape: [2, 2]),
                       WireTensor(name: "ids", dtype: .i64, shape: [2], bytes: [1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]),
                       WireTensor(name: "mask", dtype: .u8, shape: [3], bytes: [0, 1, 1]),
                       WireTensor(name: "count", dtype: .i32, shape: [], bytes: [5, 0, 0, 0])]
        let bodies: [(String, MessageBody, [WireTensor])] = [
            ("register", .register(Register(protocolVersion: 1, host: "node-3", pid: 4242, cores: 8, memoryBytes: 1 << 34, threads: 4,
                                            version: "0.9.0", peerEndpoint: "tcp://10.0.0.3:5601", curvePublicKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")), []),
            ("welcome", .welcome(Welcome(workerIndex: 1, workerCount: 3, heartbeatIntervalMilliseconds: 1000, liveness: 3)), []),
            ("plan", .plan(Plan(modelDirectory: "/models/gpt2", hparamsJSON: #"{"layers":[3,4]}"#, algorithm: "alphaedit",
                                corpusPath: "/data/corpus.txt", sampleCount: 1000, chunkSamples: 64, layers: [3, 4], owners: [0, 1],
                                contextTemplatesJSON: #"[["{}"]]"#, threads: 2, requestsJSON: #"[{"prompt":"{} is","subject":"A","target_new":"B"}]"#,
                                corpusFingerprint: "fnv:01", peerEndpoints: ["tcp://a:1", "tcp://b:2"], peerPublicKeys: ["k1", "k2"],
                                stageFirst: [0, 2], stageEnd: [2, 4])), []),
            ("ready", .ready(Ready(modelFingerprint: "fnv:0123456789abcdef", loadSeconds: 1.5)), []),
            ("statistics-work", .statisticsWork(StatisticsWork(chunkIndices: [0, 2, 4], firstChunk: 0, endChunk: 6, checkpointEvery: 2,
                                                               initial: [StatisticsReduced(layer: 3, tokenCount: 10, sampleCount: 2, chunks: 1)])), []),
            ("statistics-part", .statisticsPart(StatisticsPart(layer: 3, chunkIndex: 2, tokenCount: 640, sampleCount: 64)), [tensors[1]]),
            ("statistics-reduced", .statisticsReduced(StatisticsReduced(layer: 4, tokenCount: 6400, sampleCount: 640, chunks: 10)), [tensors[1]]),
            ("layer-state", .layerState(LayerState(layer: 3, position: 0, algorithm: "memit")), [tensors[0], tensors[1]]),
            ("projector-work", .projectorWork(ProjectorWork(layer: 3, threshold: 0.02, useReduced: true, tokenCount: 99)), []),
            ("projector-result", .projectorResult(ProjectorResult(layer: 3, nullSpaceDimension: 5, eigenvaluesNearThreshold: [0.019, 0.021])), [tensors[0]]),
            ("targets-work", .targetsWork(TargetsWork(batch: 1, requestIndices: [0, 1, 5])), []),
            ("targets-result", .targetsResult(TargetsResult(batch: 1, summaries: [
                TargetSummary(requestIndex: 0, probabilityBefore: 0.01, probabilityAfter: 0.9, initialGradient: 2.5, steps: 25, losses: [3, 1, 0.1])])),
             [tensors[0]]),
            ("layer-update-work", .layerUpdateWork(LayerUpdateWork(batch: 1, layer: 4, position: 1, requestIndices: [0, 1])), [tensors[0], tensors[2]]),
            ("layer-update-result", .layerUpdateResult(LayerUpdateResult(batch: 1, layer: 4)), [tensors[0]]),
            ("apply-delta", .applyDelta(ApplyDelta(batch: 2, layer: 3)), [tensors[0]]),
            ("delta-applied", .deltaApplied(DeltaApplied(batch: 2, layer: 3)), []),
            ("batch-end", .batchEnd(BatchEnd(batch: 2, editCount: 20)), []),
            ("credit", .credit(Credit(credits: 4)), []),
            ("heartbeat", .heartbeat(Heartbeat(sentUnixMilliseconds: 1_764_000_000_000)), []),
            ("error", .error(ErrorReport(code: .badCRC, message: "frame 1: CRC-32C 0x1, expected 0x2", refersToSequence: 40)), []),
            ("shutdown", .shutdown(Shutdown(reason: "job done")), []),
            ("bye", .bye, []),
            ("chunk-done", .chunkDone(ChunkDone(chunkIndex: 3, tokenCount: 640, sampleCount: 64)), []),
            ("status-request", .statusRequest, []),
            ("status-report", .statusReport(StatusReport(jobID: "job-7f3a", state: "running", phase: "statistics", phaseDone: 3, phaseTotal: 10,
                                                         phaseSeconds: 12.5, jobSeconds: 60, placement: "replicated",
                                                         workers: [WorkerStatus(index: 0, host: "node-3", pid: 4242, shard: "blocks 0..<2",
                                                                                piecesDone: 3, computeSeconds: 11, secondsSinceSeen: 0.5)])), []),
            ("stage-pass", .stagePass(StagePass(pass: 9, operation: .backward, fromBlock: 2, stopAfterBlock: -1, keepTape: true,
                                                specJSON: #"{"rows":2}"#, capacity: 16, chunk: 1, chunkEnds: true, chunkSamples: 8)),
             [tensors[0], tensors[3], tensors[4]]),
            ("stage-result", .stageResult(StageResult(pass: 9)), [tensors[0]]),
        ]
        var messages = bodies.map { (name: $0.0, message: Message(header: header, body: $0.1, tensors: $0.2), maxChunkBytes: MessageCodec.defaultMaxChunkBytes) }
        // Several parts and chunks: the assembler's path.
        messages.append((name: "multipart-chunks", message: Message(header: header, body: .applyDelta(ApplyDelta(batch: 3, layer: 1)),
                                                                   tensors: Array(tensors.prefix(3))), maxChunkBytes: 16))
        return messages
    }()

    /// `parts` in the FuzzEnvelope input format.
    static func fuzzInput(_ parts: [[Frame]]) -> [UInt8] {
        var out: [UInt8] = []
        func length(_ n: UInt32) { withUnsafeBytes(of: n.littleEndian) { out += $0 } }
        for (p, frames) in parts.enumerated() {
            if p > 0 { length(0xFFFF_FFFF) }
            for frame in frames {
                length(UInt32(frame.count))
                out += frame
            }
        }
        return out
    }

    @Test func envelopeSeedsDecode() throws {
        let directory = ProcessInfo.processInfo.environment["ALPHAEDIT_FUZZ_SEEDS"].map { URL(fileURLWithPath: $0) }
        for (name, message, maxChunkBytes) in Self.messages {
            let parts = MessageCodec.encode(message, maxChunkBytes: maxChunkBytes)
            var assembler = MessageAssembler()
            var decoded: Message?
            for part in parts { decoded = try assembler.add(try MessageCodec.decodePart(part)) }
            #expect(decoded == message, "\(name)")
            if let directory {
                try Data(Self.fuzzInput(parts)).write(to: directory.appendingPathComponent("\(name).bin"))
            }
        }
    }

    /// FuzzEnvelope: a tensor name holding a line break gave a two-line ProtocolError.
    @Test func protocolErrorsAreOneLine() throws {
        let message = Message(header: Self.header, body: .applyDelta(ApplyDelta(batch: 1, layer: 2)),
                              tensors: [WireTensor(name: "delta\nlayer", floats: [1, 2], shape: [2])])
        var frames = MessageCodec.encode(message)[0]
        frames[1][0] ^= 0xFF   // breaks the CRC
        let error = #expect(throws: ProtocolError.self) { try MessageCodec.decodePart(frames) }
        #expect(error?.code == .badCRC)
        #expect(error?.description.contains("\n") == false && error?.description.contains(#"delta\nlayer"#) == true)
    }
}
