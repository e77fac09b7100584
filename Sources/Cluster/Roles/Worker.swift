import Editing
import Foundation
import Linalg
import Transformer

/// `alphaedit worker`: connects a DEALER to the coordinator and serves its jobs, as an explicit
/// state machine:
///
///     connecting ──REGISTER/WELCOME──▶ idle ──PLAN──▶ planned ──(work…)──▶ planned
///          ▲                             └──────────SHUTDOWN──────────────▶ stopped
///          └── coordinator silent: reconnect with backoff, or exit after `reconnects`
///
/// Heartbeats go both ways from the links' own threads, so a long piece of work does not look
/// like a dead worker; a coordinator silent for `liveness` heartbeats ends the session. The
/// worker also binds a peer socket (``PeerMesh``): statistics parts of the layers it owns come
/// straight from the workers that computed them.
public final class Worker {
    public struct Options: Sendable {
        public var endpoint: String
        public var name: String
        public var threads: Int?
        public var heartbeat: Duration = .seconds(1)
        public var liveness = 3
        /// How many times to reconnect after the coordinator fell silent (0: exit at once).
        public var reconnects = 0
        /// How long to wait for the coordinator's WELCOME before giving up.
        public var registrationTimeout: Duration = .seconds(60)
        /// The largest tensor chunk per frame (tests use small ones to exercise chunking).
        public var maxChunkBytes = MessageCodec.defaultMaxChunkBytes
        /// Where fellow workers reach this one (default: next to the coordinator's endpoint).
        public var peerEndpoint: String?
        /// CURVE keys (own pair, authorised keys for the peer socket, the coordinator's key).
        public var security: ClusterSecurity?
        /// Plain text over tcp (a network you trust).
        public var insecure = false
        /// Called when the coordinator admits this worker: the job id and this worker's index.
        public var joined: (@Sendable (_ jobID: String, _ index: Int) -> Void)?
        /// The memory this worker may use (`--max-memory`), announced in REGISTER for the shard
        /// plan; default: the host's available memory.
        public var maxMemory: UInt64?

        public init(endpoint: String, name: String, threads: Int? = nil) {
            self.endpoint = endpoint
            self.name = name
            self.threads = threads
        }
    }

    public enum State: Sendable, Equatable { case connecting, idle, planned, stopped }

    public let options: Options
    public private(set) var state = State.connecting
    private let log: @Sendable (String) -> Void
    private let network: any WorkerNetwork
    private var session: WorkerSession?
    /// The job's epoch as this worker last learned it.
    private var epoch: UInt64 = 0
    /// Fellow workers' messages of a later epoch than this worker has learned (taken in order
    /// once it has).
    private var future: [(PeerID, Message)] = []
    private var workerIndex = 0

    /// Over ZeroMQ: a DEALER connected to `options.endpoint`.
    public convenience init(options: Options, log: @escaping @Sendable (String) -> Void) throws {
        self.init(options: options, log: log, network: try ZMQNetwork(coordinator: options.endpoint, peerEndpoint: options.peerEndpoint,
                                                                   security: options.security, insecure: options.insecure, log: log))
    }

    /// Over any network (the in-process hubs in tests).
    public init(options: Options, log: @escaping @Sendable (String) -> Void, network: any WorkerNetwork) {
        self.options = options
        self.log = log
        self.network = network
        if let threads = options.threads { Linalg.setThreadCount(threads) }
    }

    /// Serves until SHUTDOWN (returns) or until the coordinator is lost for good (throws).
    public func run() throws {
        var attempts = 0
        while true {
            do {
                try serve()
                return
            } catch let error as ClusterError {
                guard case .coordinatorLost = error, attempts < options.reconnects else { throw error }
                attempts += 1
                let backoff = Duration.milliseconds(250 << min(attempts, 6))
                log("\(error); reconnecting in \(backoff) (attempt \(attempts) of \(options.reconnects))")
                Thread.sleep(forTimeInterval: Double(backoff / .milliseconds(1)) / 1000)
            }
        }
    }

    private func serve() throws {
        state = .connecting
        let inbox = Mailbox<PeerLink.Incoming>()
        let identity = PeerID(bytes: Array("\(options.name)-\(UUID().uuidString.prefix(8))".utf8))
        let link = PeerLink(socket: .dealer(try network.connectCoordinator(identity: identity)), jobID: "", epoch: 0,
                            heartbeat: options.heartbeat, liveness: options.liveness, maxChunkBytes: options.maxChunkBytes,
                            inbox: inbox, log: log)
        defer { link.close() }
        let mesh = try PeerMesh(network: network, name: options.name, inbox: inbox, heartbeat: options.heartbeat,
                                liveness: options.liveness, maxChunkBytes: options.maxChunkBytes, log: log)
        defer { mesh.close() }
        link.send(.register(Register(protocolVersion: MessageCodec.protocolVersion, host: ProcessInfo.processInfo.hostName,
                                     pid: UInt32(getpid()), cores: UInt32(ProcessInfo.processInfo.activeProcessorCount),
                                     memoryBytes: options.maxMemory ?? HostMemory.available(), threads: UInt32(Linalg.threadCount),
                                     version: alphaeditVersion, peerEndpoint: mesh.endpoint,
                                     curvePublicKey: network.publicKey ?? "")))
        let out = WorkerOutbox(link: link, mesh: mesh)
        let registered = ContinuousClock.now
        while true {
            let busy = session?.hasQueuedWork == true
            guard let incoming = inbox.take(timeout: busy ? .zero : .milliseconds(200)) else {
                if busy { step(out) }
                if state == .connecting, ContinuousClock.now - registered > options.registrationTimeout {
                    throw ClusterError.coordinatorLost(endpoint: options.endpoint, seconds: Double(options.registrationTimeout / .seconds(1)))
                }
                continue
            }
            switch incoming {
            case .lost(nil, let reason):
                log("coordinator lost: \(reason)")
                throw ClusterError.coordinatorLost(endpoint: options.endpoint, seconds: Double((options.heartbeat * options.liveness) / .milliseconds(1)) / 1000)
            case .refused(let reason):
                throw ClusterError.refused(endpoint: options.endpoint, reason: reason)
            case .lost(let peer?, let reason):
                log("a fellow worker's link (\(peer)) was lost: \(reason)")
            case .message(nil, let message):
                // Anything of an epoch the job has left behind is dropped (SHUTDOWN excepted).
                if case .shutdown = message.body {} else if epoch > 0 && message.header.epoch < epoch { continue }
                if try handle(message, link: link, mesh: mesh, out: out) == .stopped { return }
                if epoch > 0 {
                    // Fellow workers' messages of the epoch just adopted.
                    let ready = future.filter { $0.1.header.epoch == epoch }
                    future.removeAll { $0.1.header.epoch <= epoch }
                    for (peer, message) in ready { fromPeer(peer, message, out: out) }
                }
            case .message(let peer?, let message):
                fromPeer(peer, message, out: out)
            }
        }
    }

    /// One transition of the state machine (a message from the coordinator).
    private func handle(_ message: Message, link: PeerLink, mesh: PeerMesh, out: WorkerOutbox) throws -> State {
        switch (state, message.body) {
        case (.connecting, .welcome(let welcome)):
            link.adopt(jobID: message.header.jobID, epoch: message.header.epoch)
            mesh.adopt(jobID: message.header.jobID, epoch: message.header.epoch)
            epoch = message.header.epoch
            workerIndex = Int(welcome.workerIndex)
            options.joined?(message.header.jobID, workerIndex)
            log("registered as worker \(welcome.workerIndex) of job \(message.header.jobID)")
            state = .idle
        case (_, .error(let report)):
            log("the coordinator reports: \(report.message)")
        case (.idle, .welcome), (.planned, .welcome):
            // A fellow worker was lost: the job moved to a new epoch. Work queued under the old
            // one is dropped (the coordinator redoes its phase and plans again).
            link.adopt(jobID: message.header.jobID, epoch: message.header.epoch)
            mesh.adopt(jobID: message.header.jobID, epoch: message.header.epoch)
            epoch = message.header.epoch
            session?.abandonWork()
            log("the job moved to epoch \(epoch) (a worker was lost); waiting for the new plan")
        case (_, .shutdown(let shutdown)):
            log("shutting down: \(shutdown.reason)")
            link.send(.bye)
            state = .stopped
        case (.idle, .plan(let plan)), (.planned, .plan(let plan)):
            do {
                let started = ContinuousClock.now
                session = try WorkerSession(plan: plan, workerIndex: workerIndex, reusing: session)
                mesh.setPeers(plan.peerEndpoints, publicKeys: plan.peerPublicKeys)
                state = .planned
                link.send(.ready(Ready(modelFingerprint: session!.fingerprint, loadSeconds: (ContinuousClock.now - started) / .seconds(1))))
            } catch {
                report(error, of: message, link: link)
            }
        case (.idle, .projectorWork(let work)):
            // A projector needs no plan: the second moment comes with the work.
            do {
                let started = ContinuousClock.now
                let (body, tensors) = try WorkerSession.projector(work, message, retained: [:])
                out.toCoordinator(body, tensors, computeSeconds: (ContinuousClock.now - started) / .seconds(1))
            } catch {
                report(error, of: message, link: link)
            }
        case (.planned, _):
            do {
                try session!.perform(message, out: out)
            } catch {
                report(error, of: message, link: link)
            }
        default:
            log("unexpected \(message.body.kindName) while \(state)")
            link.send(.error(ErrorReport(code: .outOfOrder, message: "worker \(options.name) is \(state), cannot take \(message.body.kindName)",
                                         refersToSequence: message.header.sequence)))
        }
        return state
    }

    /// A fellow worker's message: statistics parts of a layer this worker owns, pieces of a
    /// pipeline pass, and (at the first stage) the acknowledgement that a statistics pass ended.
    private func fromPeer(_ peer: PeerID, _ message: Message, out: WorkerOutbox) {
        guard let session else {
            log("peer \(peer): \(message.body.kindName) before any PLAN; ignored")
            return
        }
        // Sent before a lost worker moved the job on: dropped; sent after, by a worker that
        // learned the new epoch first: kept until this worker has it too.
        if message.header.epoch < epoch { return }
        if message.header.epoch > epoch {
            future.append((peer, message))
            return
        }
        do {
            switch message.body {
            case .statisticsPart: try session.take(part: message, out: out)
            case .stagePass: try session.perform(message, out: out)
            case .stageResult:
                session.statisticsPassEnded()
                if let summary = session.takePipelineSummary() { log(summary) }
            default: log("peer \(peer): unexpected \(message.body.kindName) on the peer socket; ignored")
            }
        } catch {
            report(error, of: message, link: out.link)
        }
    }

    /// One queued piece of work (a statistics chunk), between messages.
    private func step(_ out: WorkerOutbox) {
        do { try session?.step(out: out) } catch let error as ClusterError {
            if case .peerUnreachable = error {
                // The coordinator notices a dead worker itself and redoes the work without it.
                log("\(error); dropping the queued work until the coordinator decides")
                session?.abandonWork()
                return
            }
            log("statistics chunk failed: \(error)")
            out.link.send(.error(ErrorReport(code: .workFailed, message: "statistics chunk failed: \(error)", refersToSequence: 0)))
            session?.cancelQueuedWork()
        } catch {
            log("statistics chunk failed: \(error)")
            out.link.send(.error(ErrorReport(code: .workFailed, message: "statistics chunk failed: \(error)", refersToSequence: 0)))
            session?.cancelQueuedWork()
        }
    }

    private func report(_ error: Error, of message: Message, link: PeerLink) {
        if let error = error as? ClusterError, case .peerUnreachable = error {
            log("\(message.body.kindName): \(error); the coordinator decides whether that worker is lost")
            return
        }
        log("\(message.body.kindName) failed: \(error)")
        link.send(.error(ErrorReport(code: .workFailed, message: "\(message.body.kindName) failed: \(error)", refersToSequence: message.header.sequence)))
    }
}

/// Where a worker's replies go: the coordinator, or a fellow worker.
struct WorkerOutbox {
    let link: PeerLink
    let mesh: PeerMesh

    func toCoordinator(_ body: MessageBody, _ tensors: [WireTensor] = [], computeSeconds: Double = 0) {
        link.send(body, tensors: tensors, computeSeconds: computeSeconds)
    }

    func toWorker(_ index: Int, _ body: MessageBody, _ tensors: [WireTensor], computeSeconds: Double = 0) throws {
        try mesh.send(body, tensors: tensors, toWorker: index, computeSeconds: computeSeconds)
    }
}

/// The version string a worker registers with.
public let alphaeditVersion = "0.1.0"
