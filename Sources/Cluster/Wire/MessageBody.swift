/// The header every part of a message carries.
public struct MessageHeader: Sendable, Equatable {
    public var version: UInt32
    public var jobID: String
    public var epoch: UInt64
    public var sequence: UInt64
    /// On results: seconds of computation on the sender that produced the message.
    public var computeSeconds: Double

    public init(version: UInt32, jobID: String, epoch: UInt64, sequence: UInt64, computeSeconds: Double = 0) {
        self.version = version
        self.jobID = jobID
        self.epoch = epoch
        self.sequence = sequence
        self.computeSeconds = computeSeconds
    }
}

/// A whole message: header, body and tensors (reassembled from its parts).
public struct Message: Sendable, Equatable {
    public var header: MessageHeader
    public var body: MessageBody
    public var tensors: [WireTensor]

    public init(header: MessageHeader, body: MessageBody, tensors: [WireTensor] = []) {
        self.header = header
        self.body = body
        self.tensors = tensors
    }
}

// MARK: Bodies (fields as in proto/alphaedit.proto)

public struct Register: Sendable, Equatable {
    var protocolVersion: UInt32, host: String, pid: UInt32, cores: UInt32, memoryBytes: UInt64, threads: UInt32, version: String
    var peerEndpoint = ""
    var curvePublicKey = ""
}
public struct Welcome: Sendable, Equatable {
    var workerIndex: UInt32, workerCount: UInt32, heartbeatIntervalMilliseconds: UInt32, liveness: UInt32
}
public struct Plan: Sendable, Equatable {
    var modelDirectory: String, hparamsJSON: String, algorithm: String, corpusPath: String
    var sampleCount: UInt64, chunkSamples: UInt64, layers: [UInt32], owners: [UInt32]
    var contextTemplatesJSON: String, threads: UInt32, requestsJSON: String
    var corpusFingerprint = ""
    var peerEndpoints: [String] = []
    var peerPublicKeys: [String] = []
    /// Layer-sharded placement: worker w holds blocks `stageFirst[w]..<stageEnd[w]`; empty: replicated.
    var stageFirst: [UInt32] = []
    var stageEnd: [UInt32] = []
}
public struct Ready: Sendable, Equatable { var modelFingerprint: String, loadSeconds: Double }
public struct StatisticsWork: Sendable, Equatable {
    var chunkIndices: [UInt32], firstChunk: UInt32, endChunk: UInt32, checkpointEvery: UInt32, initial: [StatisticsReduced]
}
public struct ChunkDone: Sendable, Equatable { var chunkIndex: UInt32, tokenCount: UInt64, sampleCount: UInt64 }
public struct StatusReport: Sendable, Equatable, Codable {
    public var jobID: String, state: String, phase: String, phaseDone: UInt64, phaseTotal: UInt64
    public var phaseSeconds: Double, jobSeconds: Double, placement: String
    public var workers: [WorkerStatus]
}
public struct WorkerStatus: Sendable, Equatable, Codable {
    public var index: UInt32, host: String, pid: UInt32, shard: String, piecesDone: UInt64, computeSeconds: Double, secondsSinceSeen: Double
}
public struct StatisticsPart: Sendable, Equatable { var layer: UInt32, chunkIndex: UInt32, tokenCount: UInt64, sampleCount: UInt64 }
public struct StatisticsReduced: Sendable, Equatable { var layer: UInt32, tokenCount: UInt64, sampleCount: UInt64, chunks: UInt32 }
public struct LayerState: Sendable, Equatable { var layer: UInt32, position: UInt32, algorithm: String }
public struct ProjectorWork: Sendable, Equatable { var layer: UInt32, threshold: Double, useReduced = false, tokenCount: UInt64 = 0 }
public struct ProjectorResult: Sendable, Equatable { var layer: UInt32, nullSpaceDimension: UInt32, eigenvaluesNearThreshold: [Double] }
public struct TargetsWork: Sendable, Equatable { var batch: UInt32, requestIndices: [UInt32] }
public struct TargetSummary: Sendable, Equatable {
    var requestIndex: UInt32, probabilityBefore: Float, probabilityAfter: Float, initialGradient: Float, steps: UInt32, losses: [Float]
}
public struct TargetsResult: Sendable, Equatable { var batch: UInt32, summaries: [TargetSummary] }
public struct LayerUpdateWork: Sendable, Equatable { var batch: UInt32, layer: UInt32, position: UInt32, requestIndices: [UInt32] }
public struct LayerUpdateResult: Sendable, Equatable { var batch: UInt32, layer: UInt32 }
/// W += Δ, or with `restore` W = the tensor "weight" (a batch redone after a lost worker).
public struct ApplyDelta: Sendable, Equatable { var batch: UInt32, layer: UInt32, restore = false }
public struct DeltaApplied: Sendable, Equatable { var batch: UInt32, layer: UInt32, restore = false }
public struct BatchEnd: Sendable, Equatable { var batch: UInt32, editCount: UInt64 }
public struct Credit: Sendable, Equatable { var credits: UInt32 }
public struct Heartbeat: Sendable, Equatable { var sentUnixMilliseconds: UInt64 }
public struct ErrorReport: Sendable, Equatable { var code: ErrorCode, message: String, refersToSequence: UInt64 }
public struct Shutdown: Sendable, Equatable { var reason: String }

/// Every kind of message and its body.
public enum MessageBody: Sendable, Equatable {
    case register(Register), welcome(Welcome), plan(Plan), ready(Ready)
    case statisticsWork(StatisticsWork), statisticsPart(StatisticsPart), statisticsReduced(StatisticsReduced)
    case layerState(LayerState), projectorWork(ProjectorWork), projectorResult(ProjectorResult)
    case targetsWork(TargetsWork), targetsResult(TargetsResult), layerUpdateWork(LayerUpdateWork), layerUpdateResult(LayerUpdateResult)
    case applyDelta(ApplyDelta), deltaApplied(DeltaApplied), batchEnd(BatchEnd)
    case credit(Credit), heartbeat(Heartbeat), error(ErrorReport), shutdown(Shutdown), bye, chunkDone(ChunkDone)
    case statusRequest, statusReport(StatusReport)
    case stagePass(StagePass), stageResult(StageResult)

    /// The proto enum name, for logs: "REGISTER", "PLAN", ….
    public var kindName: String {
        switch self {
        case .register: return "REGISTER"
        case .welcome: return "WELCOME"
        case .plan: return "PLAN"
        case .ready: return "READY"
        case .statisticsWork: return "STATISTICS_WORK"
        case .statisticsPart: return "STATISTICS_PART"
        case .statisticsReduced: return "STATISTICS_REDUCED"
        case .layerState: return "LAYER_STATE"
        case .projectorWork: return "PROJECTOR_WORK"
        case .projectorResult: return "PROJECTOR_RESULT"
        case .targetsWork: return "TARGETS_WORK"
        case .targetsResult: return "TARGETS_RESULT"
        case .layerUpdateWork: return "LAYER_UPDATE_WORK"
        case .layerUpdateResult: return "LAYER_UPDATE_RESULT"
        case .applyDelta: return "APPLY_DELTA"
        case .deltaApplied: return "DELTA_APPLIED"
        case .batchEnd: return "BATCH_END"
        case .credit: return "CREDIT"
        case .heartbeat: return "HEARTBEAT"
        case .error: return "ERROR"
        case .shutdown: return "SHUTDOWN"
        case .bye: return "BYE"
        case .chunkDone: return "CHUNK_DONE"
        case .statusRequest: return "STATUS_REQUEST"
        case .statusReport: return "STATUS_REPORT"
        case .stagePass: return "STAGE_PASS"
        case .stageResult: return "STAGE_RESULT"
        }
    }
}

/// A piece of a pass through a layer-sharded pipeline (see proto/alphaedit.proto).
public struct StagePass: Sendable, Equatable {
    public enum Operation: UInt32, Sendable { case forward = 1, backward, generate, release, statistics }
    var pass: UInt64
    var operation: Operation
    var fromBlock: UInt32 = 0
    /// -1: through the head.
    var stopAfterBlock: Int32 = -1
    var keepTape = false
    var specJSON = ""
    var capacity: UInt32 = 0
    var chunk: UInt32 = 0
    var chunkEnds = false
    var chunkSamples: UInt64 = 0
}
public struct StageResult: Sendable, Equatable { var pass: UInt64 }
