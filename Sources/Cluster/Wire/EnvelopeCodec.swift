internal import CAlphaEditProto
import Foundation

// The only code that touches protobuf-c: Swift values to a packed Envelope and back. Every C
// object built for packing lives in a CArena freed when packing is done; every unpacked envelope
// is freed before decode returns.

/// One tensor frame's descriptor.
struct TensorDescriptor: Sendable, Equatable {
    var name: String
    var dtype: TensorDType
    var shape: [Int]
    var byteLength: Int
    var crc32c: UInt32
    var chunkIndex: Int
    var chunkCount: Int
    var chunkOffset: Int
}

/// The envelope of one part, decoded.
struct EnvelopeFields: Sendable {
    var header: MessageHeader
    var body: MessageBody
    var descriptors: [TensorDescriptor]
    var partIndex: Int
    var partCount: Int
}

enum EnvelopeCodec {
    /// Packs an envelope (deterministic: same fields, same bytes).
    static func pack(_ fields: EnvelopeFields) -> [UInt8] {
        let arena = CArena()
        var envelope = Alphaedit__V1__Envelope()
        alphaedit__v1__envelope__init(&envelope)
        envelope.protocol_version = fields.header.version
        envelope.job_id = arena.string(fields.header.jobID)
        envelope.epoch = fields.header.epoch
        envelope.sequence = fields.header.sequence
        envelope.compute_seconds = fields.header.computeSeconds
        envelope.kind = kind(of: fields.body)
        envelope.part_index = UInt32(fields.partIndex)
        envelope.part_count = UInt32(fields.partCount)
        envelope.n_tensors = fields.descriptors.count
        envelope.tensors = arena.array(fields.descriptors.map { d -> UnsafeMutablePointer<Alphaedit__V1__TensorDescriptor>? in
            let c = arena.object(Alphaedit__V1__TensorDescriptor.self)
            alphaedit__v1__tensor_descriptor__init(c)
            c.pointee.name = arena.string(d.name)
            c.pointee.dtype = Alphaedit__V1__DType(rawValue: UInt32(TensorDType.allCases.firstIndex(of: d.dtype)! + 1))
            c.pointee.n_shape = d.shape.count
            c.pointee.shape = arena.array(d.shape.map { UInt64($0) })
            c.pointee.byte_length = UInt64(d.byteLength)
            c.pointee.crc32c = d.crc32c
            c.pointee.chunk_index = UInt32(d.chunkIndex)
            c.pointee.chunk_count = UInt32(d.chunkCount)
            c.pointee.chunk_offset = UInt64(d.chunkOffset)
            return c
        })
        setBody(fields.body, of: &envelope, arena: arena)
        let size = withUnsafePointer(to: &envelope) { $0.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { protobuf_c_message_get_packed_size($0) } }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            withUnsafePointer(to: &envelope) { $0.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { protobuf_c_message_pack($0, buffer.baseAddress!) } }
        }
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return bytes
    }

    /// Unpacks an envelope; never traps on malformed input.
    static func unpack(_ bytes: [UInt8]) throws(ProtocolError) -> EnvelopeFields {
        let unpacked = bytes.withUnsafeBufferPointer { alphaedit__v1__envelope__unpack(nil, $0.count, $0.baseAddress) }
        guard let unpacked else {
            throw ProtocolError(code: .malformed, detail: "frame 0 (\(bytes.count) bytes) is not an alphaedit.v1.Envelope")
        }
        defer { alphaedit__v1__envelope__free_unpacked(unpacked, nil) }
        let e = unpacked.pointee
        let header = MessageHeader(version: e.protocol_version, jobID: swiftString(e.job_id), epoch: e.epoch, sequence: e.sequence,
                                   computeSeconds: e.compute_seconds.isFinite ? e.compute_seconds : 0)
        do throws(ProtocolError) {
            guard (e.kind.rawValue >= 1 && e.kind.rawValue <= ALPHAEDIT__V1__KIND__STATUS_REPORT.rawValue)
                    || e.kind == ALPHAEDIT__V1__KIND__STAGE_PASS || e.kind == ALPHAEDIT__V1__KIND__STAGE_RESULT else {
                throw ProtocolError(code: .unknownKind, detail: "kind \(e.kind.rawValue) is not a message kind of protocol version \(MessageCodec.protocolVersion)")
            }
            guard bodyKind(e.body_case) == e.kind else {
                throw ProtocolError(code: .unknownKind, detail: "kind \(e.kind.rawValue) with body field \(e.body_case.rawValue)")
            }
            let body = try decodeBody(e)
            try checkCounts(body)
            var descriptors: [TensorDescriptor] = []
            for (i, pointer) in swiftArray(e.tensors, e.n_tensors).enumerated() {
                guard let d = pointer?.pointee else { throw ProtocolError(code: .malformed, detail: "tensor descriptor \(i) is NULL") }
                let name = swiftString(d.name)
                guard d.dtype.rawValue >= 1, d.dtype.rawValue <= UInt32(TensorDType.allCases.count) else {
                    throw ProtocolError(code: .malformed, detail: "tensor \"\(name)\": dtype \(d.dtype.rawValue) is unknown")
                }
                let shape = swiftArray(d.shape, d.n_shape)
                guard shape.allSatisfy({ $0 <= UInt64(Int.max) }), d.byte_length <= UInt64(Int.max), d.chunk_offset <= UInt64(Int.max) else {
                    throw ProtocolError(code: .malformed, detail: "tensor \"\(name)\": shape \(shape) or length \(d.byte_length) out of range")
                }
                descriptors.append(TensorDescriptor(name: name, dtype: TensorDType.allCases[Int(d.dtype.rawValue) - 1], shape: shape.map { Int($0) },
                                                    byteLength: Int(d.byte_length), crc32c: d.crc32c, chunkIndex: Int(d.chunk_index),
                                                    chunkCount: Int(d.chunk_count), chunkOffset: Int(d.chunk_offset)))
            }
            return EnvelopeFields(header: header, body: body, descriptors: descriptors, partIndex: Int(e.part_index), partCount: Int(e.part_count))
        } catch {
            var error = error
            error.header = header
            throw error
        }
    }

    private static func kind(of body: MessageBody) -> Alphaedit__V1__Kind {
        switch body {
        case .register: return ALPHAEDIT__V1__KIND__REGISTER
        case .welcome: return ALPHAEDIT__V1__KIND__WELCOME
        case .plan: return ALPHAEDIT__V1__KIND__PLAN
        case .ready: return ALPHAEDIT__V1__KIND__READY
        case .statisticsWork: return ALPHAEDIT__V1__KIND__STATISTICS_WORK
        case .statisticsPart: return ALPHAEDIT__V1__KIND__STATISTICS_PART
        case .statisticsReduced: return ALPHAEDIT__V1__KIND__STATISTICS_REDUCED
        case .layerState: return ALPHAEDIT__V1__KIND__LAYER_STATE
        case .projectorWork: return ALPHAEDIT__V1__KIND__PROJECTOR_WORK
        case .projectorResult: return ALPHAEDIT__V1__KIND__PROJECTOR_RESULT
        case .targetsWork: return ALPHAEDIT__V1__KIND__TARGETS_WORK
        case .targetsResult: return ALPHAEDIT__V1__KIND__TARGETS_RESULT
        case .layerUpdateWork: return ALPHAEDIT__V1__KIND__LAYER_UPDATE_WORK
        case .layerUpdateResult: return ALPHAEDIT__V1__KIND__LAYER_UPDATE_RESULT
        case .applyDelta: return ALPHAEDIT__V1__KIND__APPLY_DELTA
        case .deltaApplied: return ALPHAEDIT__V1__KIND__DELTA_APPLIED
        case .batchEnd: return ALPHAEDIT__V1__KIND__BATCH_END
        case .credit: return ALPHAEDIT__V1__KIND__CREDIT
        case .heartbeat: return ALPHAEDIT__V1__KIND__HEARTBEAT
        case .error: return ALPHAEDIT__V1__KIND__ERROR
        case .shutdown: return ALPHAEDIT__V1__KIND__SHUTDOWN
        case .bye: return ALPHAEDIT__V1__KIND__BYE
        case .chunkDone: return ALPHAEDIT__V1__KIND__CHUNK_DONE
        case .statusRequest: return ALPHAEDIT__V1__KIND__STATUS_REQUEST
        case .statusReport: return ALPHAEDIT__V1__KIND__STATUS_REPORT
        case .stagePass: return ALPHAEDIT__V1__KIND__STAGE_PASS
        case .stageResult: return ALPHAEDIT__V1__KIND__STAGE_RESULT
        }
    }

    private static func bodyKind(_ c: Alphaedit__V1__Envelope__BodyCase) -> Alphaedit__V1__Kind? {
        switch c {
        case ALPHAEDIT__V1__ENVELOPE__BODY_REGISTER: return ALPHAEDIT__V1__KIND__REGISTER
        case ALPHAEDIT__V1__ENVELOPE__BODY_WELCOME: return ALPHAEDIT__V1__KIND__WELCOME
        case ALPHAEDIT__V1__ENVELOPE__BODY_PLAN: return ALPHAEDIT__V1__KIND__PLAN
        case ALPHAEDIT__V1__ENVELOPE__BODY_READY: return ALPHAEDIT__V1__KIND__READY
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_WORK: return ALPHAEDIT__V1__KIND__STATISTICS_WORK
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_PART: return ALPHAEDIT__V1__KIND__STATISTICS_PART
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_REDUCED: return ALPHAEDIT__V1__KIND__STATISTICS_REDUCED
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_STATE: return ALPHAEDIT__V1__KIND__LAYER_STATE
        case ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_WORK: return ALPHAEDIT__V1__KIND__PROJECTOR_WORK
        case ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_RESULT: return ALPHAEDIT__V1__KIND__PROJECTOR_RESULT
        case ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_WORK: return ALPHAEDIT__V1__KIND__TARGETS_WORK
        case ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_RESULT: return ALPHAEDIT__V1__KIND__TARGETS_RESULT
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_WORK: return ALPHAEDIT__V1__KIND__LAYER_UPDATE_WORK
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_RESULT: return ALPHAEDIT__V1__KIND__LAYER_UPDATE_RESULT
        case ALPHAEDIT__V1__ENVELOPE__BODY_APPLY_DELTA: return ALPHAEDIT__V1__KIND__APPLY_DELTA
        case ALPHAEDIT__V1__ENVELOPE__BODY_DELTA_APPLIED: return ALPHAEDIT__V1__KIND__DELTA_APPLIED
        case ALPHAEDIT__V1__ENVELOPE__BODY_BATCH_END: return ALPHAEDIT__V1__KIND__BATCH_END
        case ALPHAEDIT__V1__ENVELOPE__BODY_CREDIT: return ALPHAEDIT__V1__KIND__CREDIT
        case ALPHAEDIT__V1__ENVELOPE__BODY_HEARTBEAT: return ALPHAEDIT__V1__KIND__HEARTBEAT
        case ALPHAEDIT__V1__ENVELOPE__BODY_ERROR: return ALPHAEDIT__V1__KIND__ERROR
        case ALPHAEDIT__V1__ENVELOPE__BODY_SHUTDOWN: return ALPHAEDIT__V1__KIND__SHUTDOWN
        case ALPHAEDIT__V1__ENVELOPE__BODY_BYE: return ALPHAEDIT__V1__KIND__BYE
        case ALPHAEDIT__V1__ENVELOPE__BODY_CHUNK_DONE: return ALPHAEDIT__V1__KIND__CHUNK_DONE
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REQUEST: return ALPHAEDIT__V1__KIND__STATUS_REQUEST
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REPORT: return ALPHAEDIT__V1__KIND__STATUS_REPORT
        case ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_PASS: return ALPHAEDIT__V1__KIND__STAGE_PASS
        case ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_RESULT: return ALPHAEDIT__V1__KIND__STAGE_RESULT
        default: return nil
        }
    }

    private static func errorCode(_ c: Alphaedit__V1__Error__Code) throws(ProtocolError) -> ErrorCode {
        let i = Int(c.rawValue) - 1
        guard ErrorCode.allCases.indices.contains(i) else { throw ProtocolError(code: .malformed, detail: "error code \(c.rawValue) is unknown") }
        return ErrorCode.allCases[i]
    }

    private static func setBody(_ body: MessageBody, of envelope: inout Alphaedit__V1__Envelope, arena: CArena) {
        switch body {
        case .register(let b):
            let m = arena.object(Alphaedit__V1__Register.self)
            alphaedit__v1__register__init(m)
            m.pointee.protocol_version = b.protocolVersion
            m.pointee.host = arena.string(b.host)
            m.pointee.pid = b.pid
            m.pointee.cores = b.cores
            m.pointee.memory_bytes = b.memoryBytes
            m.pointee.threads = b.threads
            m.pointee.version = arena.string(b.version)
            m.pointee.peer_endpoint = arena.string(b.peerEndpoint)
            m.pointee.curve_public_key = arena.string(b.curvePublicKey)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_REGISTER
            envelope.register_ = m
        case .welcome(let b):
            let m = arena.object(Alphaedit__V1__Welcome.self)
            alphaedit__v1__welcome__init(m)
            m.pointee.worker_index = b.workerIndex
            m.pointee.worker_count = b.workerCount
            m.pointee.heartbeat_interval_ms = b.heartbeatIntervalMilliseconds
            m.pointee.liveness = b.liveness
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_WELCOME
            envelope.welcome = m
        case .plan(let b):
            let m = arena.object(Alphaedit__V1__Plan.self)
            alphaedit__v1__plan__init(m)
            m.pointee.model_directory = arena.string(b.modelDirectory)
            m.pointee.hparams_json = arena.string(b.hparamsJSON)
            m.pointee.algorithm = arena.string(b.algorithm)
            m.pointee.corpus_path = arena.string(b.corpusPath)
            m.pointee.sample_count = b.sampleCount
            m.pointee.chunk_samples = b.chunkSamples
            m.pointee.n_layers = b.layers.count
            m.pointee.layers = arena.array(b.layers)
            m.pointee.n_owners = b.owners.count
            m.pointee.owners = arena.array(b.owners)
            m.pointee.context_templates_json = arena.string(b.contextTemplatesJSON)
            m.pointee.threads = b.threads
            m.pointee.requests_json = arena.string(b.requestsJSON)
            m.pointee.corpus_fingerprint = arena.string(b.corpusFingerprint)
            m.pointee.n_peer_endpoints = b.peerEndpoints.count
            m.pointee.peer_endpoints = arena.array(b.peerEndpoints.map { arena.string($0) })
            m.pointee.n_peer_public_keys = b.peerPublicKeys.count
            m.pointee.peer_public_keys = arena.array(b.peerPublicKeys.map { arena.string($0) })
            m.pointee.n_stage_first = b.stageFirst.count
            m.pointee.stage_first = arena.array(b.stageFirst)
            m.pointee.n_stage_end = b.stageEnd.count
            m.pointee.stage_end = arena.array(b.stageEnd)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_PLAN
            envelope.plan = m
        case .ready(let b):
            let m = arena.object(Alphaedit__V1__Ready.self)
            alphaedit__v1__ready__init(m)
            m.pointee.model_fingerprint = arena.string(b.modelFingerprint)
            m.pointee.load_seconds = b.loadSeconds
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_READY
            envelope.ready = m
        case .statisticsWork(let b):
            let m = arena.object(Alphaedit__V1__StatisticsWork.self)
            alphaedit__v1__statistics_work__init(m)
            m.pointee.n_chunk_indices = b.chunkIndices.count
            m.pointee.chunk_indices = arena.array(b.chunkIndices)
            m.pointee.first_chunk = b.firstChunk
            m.pointee.end_chunk = b.endChunk
            m.pointee.checkpoint_every = b.checkpointEvery
            m.pointee.n_initial = b.initial.count
            m.pointee.initial = arena.array(b.initial.map { totals -> UnsafeMutablePointer<Alphaedit__V1__StatisticsReduced>? in
                let t = arena.object(Alphaedit__V1__StatisticsReduced.self)
                alphaedit__v1__statistics_reduced__init(t)
                t.pointee.layer = totals.layer
                t.pointee.token_count = totals.tokenCount
                t.pointee.sample_count = totals.sampleCount
                t.pointee.chunks = totals.chunks
                return t
            })
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_WORK
            envelope.statistics_work = m
        case .statisticsPart(let b):
            let m = arena.object(Alphaedit__V1__StatisticsPart.self)
            alphaedit__v1__statistics_part__init(m)
            m.pointee.layer = b.layer
            m.pointee.chunk_index = b.chunkIndex
            m.pointee.token_count = b.tokenCount
            m.pointee.sample_count = b.sampleCount
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_PART
            envelope.statistics_part = m
        case .statisticsReduced(let b):
            let m = arena.object(Alphaedit__V1__StatisticsReduced.self)
            alphaedit__v1__statistics_reduced__init(m)
            m.pointee.layer = b.layer
            m.pointee.token_count = b.tokenCount
            m.pointee.sample_count = b.sampleCount
            m.pointee.chunks = b.chunks
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_REDUCED
            envelope.statistics_reduced = m
        case .layerState(let b):
            let m = arena.object(Alphaedit__V1__LayerState.self)
            alphaedit__v1__layer_state__init(m)
            m.pointee.layer = b.layer
            m.pointee.position = b.position
            m.pointee.algorithm = arena.string(b.algorithm)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_STATE
            envelope.layer_state = m
        case .stagePass(let b):
            let m = arena.object(Alphaedit__V1__StagePass.self)
            alphaedit__v1__stage_pass__init(m)
            m.pointee.pass = b.pass
            m.pointee.op = Alphaedit__V1__StagePass__Op(rawValue: b.operation.rawValue)
            m.pointee.from_block = b.fromBlock
            m.pointee.stop_after_block = b.stopAfterBlock
            m.pointee.keep_tape = b.keepTape ? 1 : 0
            m.pointee.spec_json = arena.string(b.specJSON)
            m.pointee.capacity = b.capacity
            m.pointee.chunk = b.chunk
            m.pointee.chunk_ends = b.chunkEnds ? 1 : 0
            m.pointee.chunk_samples = b.chunkSamples
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_PASS
            envelope.stage_pass = m
        case .stageResult(let b):
            let m = arena.object(Alphaedit__V1__StageResult.self)
            alphaedit__v1__stage_result__init(m)
            m.pointee.pass = b.pass
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_RESULT
            envelope.stage_result = m
        case .projectorWork(let b):
            let m = arena.object(Alphaedit__V1__ProjectorWork.self)
            alphaedit__v1__projector_work__init(m)
            m.pointee.layer = b.layer
            m.pointee.threshold = b.threshold
            m.pointee.use_reduced = b.useReduced ? 1 : 0
            m.pointee.token_count = b.tokenCount
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_WORK
            envelope.projector_work = m
        case .projectorResult(let b):
            let m = arena.object(Alphaedit__V1__ProjectorResult.self)
            alphaedit__v1__projector_result__init(m)
            m.pointee.layer = b.layer
            m.pointee.null_space_dimension = b.nullSpaceDimension
            m.pointee.n_eigenvalues_near_threshold = b.eigenvaluesNearThreshold.count
            m.pointee.eigenvalues_near_threshold = arena.array(b.eigenvaluesNearThreshold)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_RESULT
            envelope.projector_result = m
        case .targetsWork(let b):
            let m = arena.object(Alphaedit__V1__TargetsWork.self)
            alphaedit__v1__targets_work__init(m)
            m.pointee.batch = b.batch
            m.pointee.n_request_indices = b.requestIndices.count
            m.pointee.request_indices = arena.array(b.requestIndices)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_WORK
            envelope.targets_work = m
        case .targetsResult(let b):
            let m = arena.object(Alphaedit__V1__TargetsResult.self)
            alphaedit__v1__targets_result__init(m)
            m.pointee.batch = b.batch
            m.pointee.n_summaries = b.summaries.count
            m.pointee.summaries = arena.array(b.summaries.map { s -> UnsafeMutablePointer<Alphaedit__V1__TargetSummary>? in
                let c = arena.object(Alphaedit__V1__TargetSummary.self)
                alphaedit__v1__target_summary__init(c)
                c.pointee.request_index = s.requestIndex
                c.pointee.probability_before = s.probabilityBefore
                c.pointee.probability_after = s.probabilityAfter
                c.pointee.initial_gradient = s.initialGradient
                c.pointee.steps = s.steps
                c.pointee.n_losses = s.losses.count
                c.pointee.losses = arena.array(s.losses)
                return c
            })
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_RESULT
            envelope.targets_result = m
        case .layerUpdateWork(let b):
            let m = arena.object(Alphaedit__V1__LayerUpdateWork.self)
            alphaedit__v1__layer_update_work__init(m)
            m.pointee.batch = b.batch
            m.pointee.layer = b.layer
            m.pointee.position = b.position
            m.pointee.n_request_indices = b.requestIndices.count
            m.pointee.request_indices = arena.array(b.requestIndices)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_WORK
            envelope.layer_update_work = m
        case .layerUpdateResult(let b):
            let m = arena.object(Alphaedit__V1__LayerUpdateResult.self)
            alphaedit__v1__layer_update_result__init(m)
            m.pointee.batch = b.batch
            m.pointee.layer = b.layer
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_RESULT
            envelope.layer_update_result = m
        case .applyDelta(let b):
            let m = arena.object(Alphaedit__V1__ApplyDelta.self)
            alphaedit__v1__apply_delta__init(m)
            m.pointee.batch = b.batch
            m.pointee.layer = b.layer
            m.pointee.restore = b.restore ? 1 : 0
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_APPLY_DELTA
            envelope.apply_delta = m
        case .deltaApplied(let b):
            let m = arena.object(Alphaedit__V1__DeltaApplied.self)
            alphaedit__v1__delta_applied__init(m)
            m.pointee.batch = b.batch
            m.pointee.layer = b.layer
            m.pointee.restore = b.restore ? 1 : 0
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_DELTA_APPLIED
            envelope.delta_applied = m
        case .batchEnd(let b):
            let m = arena.object(Alphaedit__V1__BatchEnd.self)
            alphaedit__v1__batch_end__init(m)
            m.pointee.batch = b.batch
            m.pointee.edit_count = b.editCount
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_BATCH_END
            envelope.batch_end = m
        case .credit(let b):
            let m = arena.object(Alphaedit__V1__Credit.self)
            alphaedit__v1__credit__init(m)
            m.pointee.credits = b.credits
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_CREDIT
            envelope.credit = m
        case .heartbeat(let b):
            let m = arena.object(Alphaedit__V1__Heartbeat.self)
            alphaedit__v1__heartbeat__init(m)
            m.pointee.sent_unix_ms = b.sentUnixMilliseconds
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_HEARTBEAT
            envelope.heartbeat = m
        case .error(let b):
            let m = arena.object(Alphaedit__V1__Error.self)
            alphaedit__v1__error__init(m)
            m.pointee.code = Alphaedit__V1__Error__Code(rawValue: UInt32(ErrorCode.allCases.firstIndex(of: b.code)! + 1))
            m.pointee.message = arena.string(b.message)
            m.pointee.refers_to_sequence = b.refersToSequence
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_ERROR
            envelope.error = m
        case .shutdown(let b):
            let m = arena.object(Alphaedit__V1__Shutdown.self)
            alphaedit__v1__shutdown__init(m)
            m.pointee.reason = arena.string(b.reason)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_SHUTDOWN
            envelope.shutdown = m
        case .bye:
            let m = arena.object(Alphaedit__V1__Bye.self)
            alphaedit__v1__bye__init(m)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_BYE
            envelope.bye = m
        case .chunkDone(let b):
            let m = arena.object(Alphaedit__V1__ChunkDone.self)
            alphaedit__v1__chunk_done__init(m)
            m.pointee.chunk_index = b.chunkIndex
            m.pointee.token_count = b.tokenCount
            m.pointee.sample_count = b.sampleCount
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_CHUNK_DONE
            envelope.chunk_done = m
        case .statusRequest:
            let m = arena.object(Alphaedit__V1__StatusRequest.self)
            alphaedit__v1__status_request__init(m)
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REQUEST
            envelope.status_request = m
        case .statusReport(let b):
            let m = arena.object(Alphaedit__V1__StatusReport.self)
            alphaedit__v1__status_report__init(m)
            m.pointee.job_id = arena.string(b.jobID)
            m.pointee.state = arena.string(b.state)
            m.pointee.phase = arena.string(b.phase)
            m.pointee.phase_done = b.phaseDone
            m.pointee.phase_total = b.phaseTotal
            m.pointee.phase_seconds = b.phaseSeconds
            m.pointee.job_seconds = b.jobSeconds
            m.pointee.placement = arena.string(b.placement)
            m.pointee.n_workers = b.workers.count
            m.pointee.workers = arena.array(b.workers.map { w -> UnsafeMutablePointer<Alphaedit__V1__WorkerStatus>? in
                let t = arena.object(Alphaedit__V1__WorkerStatus.self)
                alphaedit__v1__worker_status__init(t)
                t.pointee.index = w.index
                t.pointee.host = arena.string(w.host)
                t.pointee.pid = w.pid
                t.pointee.shard = arena.string(w.shard)
                t.pointee.pieces_done = w.piecesDone
                t.pointee.compute_seconds = w.computeSeconds
                t.pointee.seconds_since_seen = w.secondsSinceSeen
                return t
            })
            envelope.body_case = ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REPORT
            envelope.status_report = m
        }
    }

    /// Counts travel as uint64 but are used as `Int`: one above `Int.max` is malformed here, so that
    /// no receiver traps converting it.
    private static func checkCounts(_ body: MessageBody) throws(ProtocolError) {
        func fits(_ values: [(String, UInt64)]) throws(ProtocolError) {
            for (field, value) in values where value > UInt64(Int.max) {
                throw ProtocolError(code: .malformed, detail: "\(body.kindName) \(field) \(value) is out of range")
            }
        }
        switch body {
        case .register(let b): try fits([("memory_bytes", b.memoryBytes)])
        case .plan(let b): try fits([("sample_count", b.sampleCount), ("chunk_samples", b.chunkSamples)])
        case .statisticsWork(let b):
            for t in b.initial { try fits([("initial.token_count", t.tokenCount), ("initial.sample_count", t.sampleCount)]) }
        case .chunkDone(let b): try fits([("token_count", b.tokenCount), ("sample_count", b.sampleCount)])
        case .statisticsPart(let b): try fits([("token_count", b.tokenCount), ("sample_count", b.sampleCount)])
        case .statisticsReduced(let b): try fits([("token_count", b.tokenCount), ("sample_count", b.sampleCount)])
        case .projectorWork(let b): try fits([("token_count", b.tokenCount)])
        case .stagePass(let b): try fits([("pass", b.pass), ("chunk_samples", b.chunkSamples)])
        case .stageResult(let b): try fits([("pass", b.pass)])
        case .batchEnd(let b): try fits([("edit_count", b.editCount)])
        case .statusReport(let b):
            try fits([("phase_done", b.phaseDone), ("phase_total", b.phaseTotal)])
            for w in b.workers { try fits([("workers.pieces_done", w.piecesDone)]) }
        default: break
        }
    }

    private static func decodeBody(_ e: Alphaedit__V1__Envelope) throws(ProtocolError) -> MessageBody {
        let missingBody = ProtocolError(code: .malformed, detail: "the envelope has no body")
        switch e.body_case {
        case ALPHAEDIT__V1__ENVELOPE__BODY_REGISTER:
            guard let p = e.register_?.pointee else { throw missingBody }
            return .register(Register(protocolVersion: p.protocol_version,
                         host: swiftString(p.host),
                         pid: p.pid,
                         cores: p.cores,
                         memoryBytes: p.memory_bytes,
                         threads: p.threads,
                         version: swiftString(p.version),
                         peerEndpoint: swiftString(p.peer_endpoint),
                         curvePublicKey: swiftString(p.curve_public_key)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_WELCOME:
            guard let p = e.welcome?.pointee else { throw missingBody }
            return .welcome(Welcome(workerIndex: p.worker_index,
                        workerCount: p.worker_count,
                        heartbeatIntervalMilliseconds: p.heartbeat_interval_ms,
                        liveness: p.liveness))
        case ALPHAEDIT__V1__ENVELOPE__BODY_PLAN:
            guard let p = e.plan?.pointee else { throw missingBody }
            return .plan(Plan(modelDirectory: swiftString(p.model_directory),
                     hparamsJSON: swiftString(p.hparams_json),
                     algorithm: swiftString(p.algorithm),
                     corpusPath: swiftString(p.corpus_path),
                     sampleCount: p.sample_count,
                     chunkSamples: p.chunk_samples,
                     layers: swiftArray(p.layers, p.n_layers),
                     owners: swiftArray(p.owners, p.n_owners),
                     contextTemplatesJSON: swiftString(p.context_templates_json),
                     threads: p.threads,
                     requestsJSON: swiftString(p.requests_json),
                     corpusFingerprint: swiftString(p.corpus_fingerprint),
                     peerEndpoints: swiftArray(p.peer_endpoints, p.n_peer_endpoints).map { swiftString($0) },
                     peerPublicKeys: swiftArray(p.peer_public_keys, p.n_peer_public_keys).map { swiftString($0) },
                     stageFirst: swiftArray(p.stage_first, p.n_stage_first),
                     stageEnd: swiftArray(p.stage_end, p.n_stage_end)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_READY:
            guard let p = e.ready?.pointee else { throw missingBody }
            return .ready(Ready(modelFingerprint: swiftString(p.model_fingerprint),
                      loadSeconds: p.load_seconds))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_WORK:
            guard let p = e.statistics_work?.pointee else { throw missingBody }
            return .statisticsWork(StatisticsWork(
                chunkIndices: swiftArray(p.chunk_indices, p.n_chunk_indices), firstChunk: p.first_chunk, endChunk: p.end_chunk,
                checkpointEvery: p.checkpoint_every,
                initial: try swiftArray(p.initial, p.n_initial).map { t throws(ProtocolError) in
                    guard let t = t?.pointee else { throw ProtocolError(code: .malformed, detail: "a NULL initial statistics entry") }
                    return StatisticsReduced(layer: t.layer, tokenCount: t.token_count, sampleCount: t.sample_count, chunks: t.chunks)
                }))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_PART:
            guard let p = e.statistics_part?.pointee else { throw missingBody }
            return .statisticsPart(StatisticsPart(layer: p.layer,
                               chunkIndex: p.chunk_index,
                               tokenCount: p.token_count,
                               sampleCount: p.sample_count))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATISTICS_REDUCED:
            guard let p = e.statistics_reduced?.pointee else { throw missingBody }
            return .statisticsReduced(StatisticsReduced(layer: p.layer,
                                  tokenCount: p.token_count,
                                  sampleCount: p.sample_count,
                                  chunks: p.chunks))
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_STATE:
            guard let p = e.layer_state?.pointee else { throw missingBody }
            return .layerState(LayerState(layer: p.layer,
                           position: p.position,
                           algorithm: swiftString(p.algorithm)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_PASS:
            guard let p = e.stage_pass?.pointee else { throw missingBody }
            guard let operation = StagePass.Operation(rawValue: p.op.rawValue) else {
                throw ProtocolError(code: .malformed, detail: "STAGE_PASS op \(p.op.rawValue) is not an operation of this protocol")
            }
            return .stagePass(StagePass(pass: p.pass, operation: operation, fromBlock: p.from_block, stopAfterBlock: p.stop_after_block,
                                        keepTape: p.keep_tape != 0, specJSON: swiftString(p.spec_json), capacity: p.capacity,
                                        chunk: p.chunk, chunkEnds: p.chunk_ends != 0, chunkSamples: p.chunk_samples))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STAGE_RESULT:
            guard let p = e.stage_result?.pointee else { throw missingBody }
            return .stageResult(StageResult(pass: p.pass))
        case ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_WORK:
            guard let p = e.projector_work?.pointee else { throw missingBody }
            return .projectorWork(ProjectorWork(layer: p.layer,
                              threshold: p.threshold, useReduced: p.use_reduced != 0, tokenCount: p.token_count))
        case ALPHAEDIT__V1__ENVELOPE__BODY_PROJECTOR_RESULT:
            guard let p = e.projector_result?.pointee else { throw missingBody }
            return .projectorResult(ProjectorResult(layer: p.layer,
                                nullSpaceDimension: p.null_space_dimension,
                                eigenvaluesNearThreshold: swiftArray(p.eigenvalues_near_threshold, p.n_eigenvalues_near_threshold)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_WORK:
            guard let p = e.targets_work?.pointee else { throw missingBody }
            return .targetsWork(TargetsWork(batch: p.batch,
                            requestIndices: swiftArray(p.request_indices, p.n_request_indices)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_TARGETS_RESULT:
            guard let p = e.targets_result?.pointee else { throw missingBody }
            return .targetsResult(TargetsResult(batch: p.batch,
                              summaries: try swiftArray(p.summaries, p.n_summaries).map { s throws(ProtocolError) in
                guard let s = s?.pointee else { throw ProtocolError(code: .malformed, detail: "a NULL target summary") }
                return TargetSummary(requestIndex: s.request_index, probabilityBefore: s.probability_before, probabilityAfter: s.probability_after,
                                     initialGradient: s.initial_gradient, steps: s.steps, losses: swiftArray(s.losses, s.n_losses))
            }))
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_WORK:
            guard let p = e.layer_update_work?.pointee else { throw missingBody }
            return .layerUpdateWork(LayerUpdateWork(batch: p.batch,
                                layer: p.layer,
                                position: p.position,
                                requestIndices: swiftArray(p.request_indices, p.n_request_indices)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_LAYER_UPDATE_RESULT:
            guard let p = e.layer_update_result?.pointee else { throw missingBody }
            return .layerUpdateResult(LayerUpdateResult(batch: p.batch,
                                  layer: p.layer))
        case ALPHAEDIT__V1__ENVELOPE__BODY_APPLY_DELTA:
            guard let p = e.apply_delta?.pointee else { throw missingBody }
            return .applyDelta(ApplyDelta(batch: p.batch,
                           layer: p.layer, restore: p.restore != 0))
        case ALPHAEDIT__V1__ENVELOPE__BODY_DELTA_APPLIED:
            guard let p = e.delta_applied?.pointee else { throw missingBody }
            return .deltaApplied(DeltaApplied(batch: p.batch,
                             layer: p.layer, restore: p.restore != 0))
        case ALPHAEDIT__V1__ENVELOPE__BODY_BATCH_END:
            guard let p = e.batch_end?.pointee else { throw missingBody }
            return .batchEnd(BatchEnd(batch: p.batch,
                         editCount: p.edit_count))
        case ALPHAEDIT__V1__ENVELOPE__BODY_CREDIT:
            guard let p = e.credit?.pointee else { throw missingBody }
            return .credit(Credit(credits: p.credits))
        case ALPHAEDIT__V1__ENVELOPE__BODY_HEARTBEAT:
            guard let p = e.heartbeat?.pointee else { throw missingBody }
            return .heartbeat(Heartbeat(sentUnixMilliseconds: p.sent_unix_ms))
        case ALPHAEDIT__V1__ENVELOPE__BODY_ERROR:
            guard let p = e.error?.pointee else { throw missingBody }
            return .error(ErrorReport(code: try errorCode(p.code),
                            message: swiftString(p.message),
                            refersToSequence: p.refers_to_sequence))
        case ALPHAEDIT__V1__ENVELOPE__BODY_SHUTDOWN:
            guard let p = e.shutdown?.pointee else { throw missingBody }
            return .shutdown(Shutdown(reason: swiftString(p.reason)))
        case ALPHAEDIT__V1__ENVELOPE__BODY_BYE:
            return .bye
        case ALPHAEDIT__V1__ENVELOPE__BODY_CHUNK_DONE:
            guard let p = e.chunk_done?.pointee else { throw missingBody }
            return .chunkDone(ChunkDone(chunkIndex: p.chunk_index, tokenCount: p.token_count, sampleCount: p.sample_count))
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REQUEST:
            return .statusRequest
        case ALPHAEDIT__V1__ENVELOPE__BODY_STATUS_REPORT:
            guard let p = e.status_report?.pointee else { throw missingBody }
            return .statusReport(StatusReport(
                jobID: swiftString(p.job_id), state: swiftString(p.state), phase: swiftString(p.phase),
                phaseDone: p.phase_done, phaseTotal: p.phase_total, phaseSeconds: p.phase_seconds, jobSeconds: p.job_seconds,
                placement: swiftString(p.placement),
                workers: try swiftArray(p.workers, p.n_workers).map { t throws(ProtocolError) in
                    guard let t = t?.pointee else { throw ProtocolError(code: .malformed, detail: "a NULL worker status") }
                    return WorkerStatus(index: t.index, host: swiftString(t.host), pid: t.pid, shard: swiftString(t.shard),
                                        piecesDone: t.pieces_done, computeSeconds: t.compute_seconds, secondsSinceSeen: t.seconds_since_seen)
                }))
        default:
            throw ProtocolError(code: .unknownKind, detail: "body field \(e.body_case.rawValue) is not a message of this protocol")
        }
    }
}
