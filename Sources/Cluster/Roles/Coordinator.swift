import Foundation

/// The coordinator's side of the protocol, as an explicit state machine:
/// `waitingForWorkers` → `running` (work sent, results collected) → `stopped` (SHUTDOWN sent,
/// BYE or silence awaited). It binds the ROUTER, admits workers that REGISTER with this protocol
/// version (WELCOME gives each its index), and offers request/response helpers to the executor.
/// A worker that falls silent is reported to the caller (``WorkerLost``), which may declare it
/// lost (``declareLost(_:reason:)``: the job moves to a new epoch, so its late results are
/// refused) and redo its work on the survivors; a failed piece of work ends the job with an error
/// that names the worker.
public final class Coordinator: @unchecked Sendable {
    public struct WorkerInfo: Sendable, CustomStringConvertible {
        public let index: Int
        public let peer: PeerID
        public let host: String
        public let pid: Int
        public let threads: Int
        /// Where fellow workers reach it.
        public let peerEndpoint: String
        /// Its peer socket's CURVE public key ("" without CURVE).
        public let curvePublicKey: String
        /// The memory it may use (its --max-memory, or its host's available memory).
        public let memoryBytes: UInt64
        public var description: String { "\(index) (\(host), pid \(pid))" }
    }

    public enum State: Sendable, Equatable { case waitingForWorkers, running, stopped }

    public let endpoint: String
    public let jobID: String
    /// Raised at each worker declared lost; every message carries it.
    public private(set) var epoch: UInt64 = 1
    public private(set) var state = State.waitingForWorkers
    /// Every worker admitted, by index (lost ones included: indices never change).
    public private(set) var workers: [WorkerInfo] = []
    /// The indices of the workers still in the job, ascending.
    public private(set) var active: [Int] = []
    let link: PeerLink
    private let context: ZMQContext?
    /// The ZAP handler guarding the ROUTER (CURVE only); stopped after the ROUTER closes.
    private var authenticator: ZAPAuthenticator?
    private let log: @Sendable (String) -> Void
    /// What the job is doing, for STATUS_REQUEST (answered by the link's I/O thread).
    let status: JobStatus
    /// Where the job's plan and timings go (nil: nowhere).
    public var jobDirectory: JobDirectory? {
        didSet { writeJobFile() }
    }
    /// Messages that arrived while waiting for something else, in arrival order.
    private var pending: [(Int, Message)] = []

    /// Binds `endpoint` (tcp://host:port, tcp://host:* or ipc://path). With `security`, the
    /// ROUTER is a CURVE server that admits only the authorised keys (the ZAP handler starts
    /// first); a tcp endpoint without it is refused unless `insecure`.
    public convenience init(binding endpoint: String, log: @escaping @Sendable (String) -> Void,
                            heartbeat: Duration = .seconds(1), liveness: Int = 3,
                            maxChunkBytes: Int = MessageCodec.defaultMaxChunkBytes,
                            security: ClusterSecurity? = nil, insecure: Bool = false) throws {
        try ClusterSecurity.check(endpoint: endpoint, security: security, insecure: insecure, role: "coordinator")
        let context = try ZMQContext()
        var options = SocketOptions()
        var authenticator: ZAPAuthenticator?
        if let security {
            authenticator = try ZAPAuthenticator(context: context, authorized: security.authorized, log: log)
            options.curve = .server(security.keys)
        }
        let router = try RouterSocket(context: context, options: options)
        let bound = try router.bind(endpoint)
        self.init(router: router, endpoint: bound, context: context, log: log, heartbeat: heartbeat, liveness: liveness,
                  maxChunkBytes: maxChunkBytes)
        self.authenticator = authenticator
        if let security { log("CURVE on: admitting the \(security.authorized.names.count) key(s) of \(security.authorized.source); coordinator key \(security.keys.publicKey)") }
    }

    /// Over any router transport (the in-process hub in tests).
    /// - Parameter maxChunkBytes: the largest tensor chunk per frame (tests use small ones).
    public init(router: any RouterTransport, endpoint: String, context: ZMQContext? = nil,
                log: @escaping @Sendable (String) -> Void, heartbeat: Duration = .seconds(1), liveness: Int = 3,
                maxChunkBytes: Int = MessageCodec.defaultMaxChunkBytes) {
        self.endpoint = endpoint
        self.context = context
        self.log = log
        self.jobID = UUID().uuidString.lowercased()
        self.link = PeerLink(socket: .router(router), jobID: jobID, epoch: 1, heartbeat: heartbeat, liveness: liveness,
                             maxChunkBytes: maxChunkBytes, authoritativeEpoch: true, log: log)
        let status = JobStatus(jobID: jobID)
        self.status = status
        link.statusResponder = { status.report() }
    }

    /// Messages and bytes exchanged with the workers so far, by kind (with the workers'
    /// reported computation on their results).
    public var traffic: Traffic { link.traffic }

    deinit {
        link.close()
        // Ends every blocking call of the context (the ZAP handler's too) so it can terminate;
        // no handshake is admitted after this.
        if authenticator != nil { context?.shutdown() }
        authenticator?.stop()
    }

    /// Handshakes the ZAP handler refused (unknown keys, plain text, other domains).
    public var refusedConnections: Int { authenticator?.refusals ?? 0 }

    // MARK: Registration

    /// Admits workers until `count` have registered, or fails after `timeout`.
    public func waitForWorkers(_ count: Int, timeout: Duration) throws {
        precondition(state == .waitingForWorkers)
        let deadline = ContinuousClock.now + timeout
        while workers.count < count {
            let left = deadline - .now
            guard left > .zero else {
                throw ClusterError.notEnoughWorkers(have: workers.count, need: count, seconds: Int(timeout / .seconds(1)), endpoint: endpoint)
            }
            guard let incoming = link.receive(timeout: min(left, .milliseconds(100))) else { continue }
            switch incoming {
            case .message(let peer?, let message):
                if case .register(let register) = message.body {
                    admit(peer, register)
                } else if let index = workers.firstIndex(where: { $0.peer == peer }) {
                    pending.append((index, message))
                } else {
                    refuse(peer, message, "send REGISTER first")
                }
            case .lost(let peer, let reason):
                if let worker = workers.first(where: { $0.peer == peer }) { throw ClusterError.workerLost(worker: "\(worker)", reason: reason) }
            case .message(nil, _), .refused: break     // the coordinator's ROUTER has no server to be refused by
            }
        }
        state = .running
        status.setState("running")
        writeJobFile()
    }

    private func admit(_ peer: PeerID, _ register: Register) {
        if workers.contains(where: { $0.peer == peer }) { return }
        let info = WorkerInfo(index: workers.count, peer: peer, host: register.host, pid: Int(register.pid), threads: Int(register.threads),
                              peerEndpoint: register.peerEndpoint, curvePublicKey: register.curvePublicKey,
                              memoryBytes: register.memoryBytes)
        workers.append(info)
        active.append(info.index)
        status.admit(index: info.index, host: info.host, pid: info.pid)
        log("worker \(info) registered: \(register.cores) cores, \(register.memoryBytes >> 20) MiB, \(register.threads) threads")
        link.send(.welcome(Welcome(workerIndex: UInt32(info.index), workerCount: 0,
                                   heartbeatIntervalMilliseconds: UInt32(link.heartbeat / .milliseconds(1)),
                                   liveness: UInt32(link.liveness))), to: peer)
    }

    private func refuse(_ peer: PeerID, _ message: Message, _ why: String) {
        log("peer \(peer): unexpected \(message.body.kindName): \(why)")
        link.send(.error(ErrorReport(code: .outOfOrder, message: "unexpected \(message.body.kindName): \(why)",
                                     refersToSequence: message.header.sequence)), to: peer)
    }

    // MARK: Work

    public func send(_ body: MessageBody, tensors: [WireTensor] = [], to worker: Int) {
        link.send(body, tensors: tensors, to: workers[worker].peer)
    }

    /// To every worker still in the job.
    public func broadcast(_ body: MessageBody, tensors: [WireTensor] = []) {
        for index in active { link.send(body, tensors: tensors, to: workers[index].peer) }
    }

    /// Takes worker `index` out of the job: the job moves to the next epoch (the survivors are
    /// told with a WELCOME of it, and anything the lost worker still sends is refused as of
    /// another epoch), results not yet taken are dropped (the caller redoes the phase), and the
    /// lost worker, should it be alive, is told to shut down.
    public func declareLost(_ index: Int, reason: String) {
        guard active.contains(index) else { return }
        active.removeAll { $0 == index }
        epoch += 1
        link.adopt(jobID: jobID, epoch: epoch)
        pending.removeAll()
        log("worker \(workers[index]) declared lost (\(reason)); epoch \(epoch), \(active.count) worker\(active.count == 1 ? "" : "s") left")
        status.lose(index: index)
        link.send(.shutdown(Shutdown(reason: "declared lost by the coordinator: \(reason)")), to: workers[index].peer)
        for survivor in active {
            link.send(.welcome(Welcome(workerIndex: UInt32(survivor), workerCount: 0,
                                       heartbeatIntervalMilliseconds: UInt32(link.heartbeat / .milliseconds(1)),
                                       liveness: UInt32(link.liveness))), to: workers[survivor].peer)
        }
    }

    /// Waits for the next message that `accept` takes (returns non-nil for), from any worker.
    /// Messages it does not take stay pending for a later call. A worker's ERROR or loss ends the wait with an error.
    public func next<T>(_ what: String, timeout: Duration = .seconds(24 * 3600),
                        _ accept: (_ worker: Int, _ message: Message) throws -> T?) throws -> T {
        for (i, (worker, message)) in pending.enumerated() {
            if let value = try take(worker, message, accept) { pending.remove(at: i); return value }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let incoming = link.receive(timeout: .milliseconds(200)) else { continue }
            switch incoming {
            case .message(let peer?, let message):
                guard let worker = workers.firstIndex(where: { $0.peer == peer }), active.contains(worker) else {
                    if let lost = workers.firstIndex(where: { $0.peer == peer }) {
                        log("worker \(workers[lost]) was declared lost: its \(message.body.kindName) is refused")
                        continue
                    }
                    if case .register(let register) = message.body {
                        log("peer \(peer) (\(register.host), pid \(register.pid)) registered after the job started; it is not used")
                        link.send(.shutdown(Shutdown(reason: "the job started without this worker")), to: peer)
                    } else {
                        refuse(peer, message, "not a worker of this job")
                    }
                    continue
                }
                if let value = try take(worker, message, accept) { return value }
                pending.append((worker, message))
            case .lost(let peer, let reason):
                if let worker = workers.firstIndex(where: { $0.peer == peer }), active.contains(worker) {
                    throw WorkerLost(index: worker, description: "\(workers[worker])", reason: reason)
                }
            case .message(nil, _), .refused: break     // the coordinator's ROUTER has no server to be refused by
            }
        }
        throw ClusterError.workerLost(worker: "?", reason: "no \(what) within \(timeout)")
    }

    private func take<T>(_ worker: Int, _ message: Message, _ accept: (Int, Message) throws -> T?) throws -> T? {
        if case .error(let report) = message.body {
            throw ClusterError.workFailed(worker: "\(workers[worker])", reason: report.message)
        }
        let value = try accept(worker, message)
        if value != nil { status.piece(from: worker, computeSeconds: message.header.computeSeconds) }
        return value
    }

    // MARK: Progress and the job directory

    /// Starts a phase of the job (for `alphaedit status` and `timings.json`).
    func beginPhase(_ phase: String, total: Int = 0) {
        status.begin(phase, total: total)
        writeTimings()
    }

    private struct JobFile: Encodable {
        struct Worker: Encodable { let index: Int, host: String, pid: Int, threads: Int, memoryBytes: UInt64 }
        let jobID: String, endpoint: String, command: [String], workers: [Worker]
    }

    func writeJobFile() {
        jobDirectory?.write("job.json", json: JobFile(
            jobID: jobID, endpoint: endpoint, command: CommandLine.arguments,
            workers: workers.map { .init(index: $0.index, host: $0.host, pid: $0.pid, threads: $0.threads, memoryBytes: $0.memoryBytes) }))
    }

    private struct TimingsFile: Encodable { let phases: [PhaseTiming], jobSeconds: Double }

    func writeTimings() {
        guard let jobDirectory else { return }
        let (phases, seconds) = status.timings()
        jobDirectory.write("timings.json", json: TimingsFile(phases: phases, jobSeconds: seconds))
    }

    // MARK: Shutdown

    /// Tells every worker to stop and waits (up to `grace`) for their BYE.
    public func shutdown(reason: String = "the job is done", grace: Duration = .seconds(5)) {
        guard state != .stopped else { return }
        state = .stopped
        status.setState("stopped")
        status.end()
        writeTimings()
        broadcast(.shutdown(Shutdown(reason: reason)))
        var left = Set(workers.map(\.peer))
        let deadline = ContinuousClock.now + grace
        while !left.isEmpty, ContinuousClock.now < deadline {
            guard let incoming = link.receive(timeout: .milliseconds(50)) else { continue }
            switch incoming {
            case .message(let peer?, let message):
                if case .bye = message.body { left.remove(peer) }
            case .lost(let peer?, _): left.remove(peer)
            default: break
            }
        }
        link.close()
    }
}

/// A worker of the job fell silent (or its process died) while the coordinator waited.
public struct WorkerLost: Error, CustomStringConvertible {
    public let index: Int
    let description_: String
    public let reason: String

    init(index: Int, description: String, reason: String) {
        self.index = index
        self.description_ = description
        self.reason = reason
    }

    public var description: String { "worker \(description_) was lost: \(reason)" }
    /// The error a job stops with when no worker is left to take over.
    var asClusterError: ClusterError { .workerLost(worker: description_, reason: reason) }
}
