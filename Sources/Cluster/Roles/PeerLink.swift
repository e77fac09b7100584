import Foundation

/// One end of the coordinator–worker connection, with its own I/O thread: the only thread that
/// touches the socket. It decodes and reassembles messages, answers malformed ones with an ERROR
/// naming the fault (and logs it), refuses messages of another job or epoch, sends heartbeats to
/// every known peer and reports peers that fell silent. The role's thread exchanges whole
/// messages with it through mailboxes, so heartbeats go on while the role computes.
///
/// Flow control (zguide's credit-based file transfer): a message larger than one chunk travels
/// as several parts; at most `creditWindow` of them per peer are in flight, and the receiver
/// returns a CREDIT for each part it has taken in. Parts are encoded only when they are sent, so
/// neither side ever holds a large tensor twice. Messages to one peer keep their order.
final class PeerLink: @unchecked Sendable {
    enum Socket {
        case router(any RouterTransport)
        case dealer(any DealerTransport)
    }

    /// What the role's thread receives.
    enum Incoming: Sendable {
        /// A whole, valid message (`peer` is nil on the worker side: the coordinator).
        case message(PeerID?, Message)
        /// A peer missed `liveness` heartbeats or could not be reached.
        case lost(PeerID?, reason: String)
        /// The server this DEALER connects to refused its security handshake (an unknown key,
        /// CURVE on one side only): retrying cannot help.
        case refused(reason: String)
    }

    struct Outgoing: Sendable {
        var peer: PeerID?
        var body: MessageBody
        var tensors: [WireTensor]
        var computeSeconds: Double
        /// The epoch when it was queued: a message queued before the job moved on keeps the
        /// old epoch (and is refused), rather than taking the new one when it goes out.
        var epoch: UInt64
    }

    /// Parts in flight per peer before its CREDIT is needed.
    static let creditWindow = 2

    let heartbeat: Duration
    let liveness: Int
    let maxChunkBytes: Int
    private let socket: Socket
    private let log: @Sendable (String) -> Void
    private let inbox: Mailbox<Incoming>
    private let outbox = Mailbox<Outgoing>()
    private let lock = NSLock()
    private var jobIDValue: String
    private var epochValue: UInt64
    /// The coordinator's link: only its own epoch is taken.
    let authoritativeEpoch: Bool
    private var closed = false
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)

    /// Answers STATUS_REQUEST from any peer (the coordinator's link); nil: such requests are
    /// refused like any message of another job.
    private var statusResponderValue: (@Sendable () -> StatusReport)?
    var statusResponder: (@Sendable () -> StatusReport)? {
        get { lock.withLock { statusResponderValue } }
        set { lock.withLock { statusResponderValue = newValue } }
    }

    // Owned by the I/O thread.
    private var sequence: UInt64 = 0
    private var lastSeen: [PeerID?: ContinuousClock.Instant] = [:]
    private var assemblers: [PeerID?: MessageAssembler] = [:]
    private var lastHeartbeat = ContinuousClock.now
    /// Per peer: messages whose parts are being sent (head first), and the credits left.
    private var streams: [PeerID?: [(encoder: PartEncoder, next: Int)]] = [:]
    private var credits: [PeerID?: Int] = [:]
    private let counters = LockedTraffic()
    /// Peers whose old-epoch messages were already reported.
    private var staleEpochPeers: Set<PeerID?> = []

    /// - Parameters:
    ///   - jobID: the job's id ("" on a worker until WELCOME: then ``adopt(jobID:epoch:)``).
    ///   - inbox: where whole messages and losses go (several links of a worker share one).
    init(socket: Socket, jobID: String, epoch: UInt64, heartbeat: Duration = .seconds(1), liveness: Int = 3,
         maxChunkBytes: Int = MessageCodec.defaultMaxChunkBytes, inbox: Mailbox<Incoming> = Mailbox(),
         authoritativeEpoch: Bool = false, log: @escaping @Sendable (String) -> Void) {
        self.socket = socket
        self.authoritativeEpoch = authoritativeEpoch
        self.inbox = inbox
        self.jobIDValue = jobID
        self.epochValue = epoch
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.maxChunkBytes = maxChunkBytes
        self.log = log
        if case .dealer = socket { lastSeen[nil] = .now }
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "alphaedit-link"
        self.thread = thread
        thread.start()
    }

    var jobID: String { lock.withLock { jobIDValue } }

    /// The worker learns the job and epoch from the coordinator's WELCOME.
    func adopt(jobID: String, epoch: UInt64) {
        lock.withLock {
            jobIDValue = jobID
            epochValue = epoch
        }
    }

    /// Queues a message (`computeSeconds`: the computation that produced it, for accounting).
    func send(_ body: MessageBody, tensors: [WireTensor] = [], to peer: PeerID? = nil, computeSeconds: Double = 0) {
        outbox.put(Outgoing(peer: peer, body: body, tensors: tensors, computeSeconds: computeSeconds,
                            epoch: lock.withLock { epochValue }))
    }

    /// Messages and bytes sent and received so far, by message kind.
    var traffic: Traffic { counters.value }

    func receive(timeout: Duration) -> Incoming? { inbox.take(timeout: timeout) }

    /// Sends what is queued, then stops the I/O thread (waits for it).
    func close() {
        let wasClosed = lock.withLock { () -> Bool in
            let was = closed
            closed = true
            return was
        }
        if !wasClosed { stopped.wait() }
    }

    deinit { close() }

    // MARK: I/O thread

    private func loop() {
        while !lock.withLock({ closed }) {
            receiveOne(timeout: .milliseconds(5))
            flushOutbox()
            beat()
            if case .dealer(let dealer) = socket, let failure = dealer.handshakeFailure() {
                log(failure)
                inbox.put(.refused(reason: failure))
            }
        }
        flushOutbox()
        stopped.signal()
    }

    private func header(computeSeconds: Double = 0, epoch: UInt64? = nil) -> MessageHeader {
        sequence += 1
        return lock.withLock {
            MessageHeader(version: MessageCodec.protocolVersion, jobID: jobIDValue, epoch: epoch ?? epochValue, sequence: sequence,
                          computeSeconds: computeSeconds)
        }
    }

    /// Sends a message at once, bypassing the queues (heartbeats, credits, error replies; and
    /// any message that fits one part when nothing is queued for the peer).
    private func transmit(_ body: MessageBody, tensors: [WireTensor], to peer: PeerID?, computeSeconds: Double = 0) {
        let encoder = PartEncoder(Message(header: header(computeSeconds: computeSeconds), body: body, tensors: tensors),
                                  maxChunkBytes: maxChunkBytes)
        for i in 0..<encoder.partCount where !write(encoder, part: i, to: peer) { return }
    }

    /// Writes part `i` to the socket; false (and the peer reported lost) when it cannot.
    private func write(_ encoder: PartEncoder, part i: Int, to peer: PeerID?) -> Bool {
        let frames = encoder.part(i)
        do {
            switch socket {
            case .router(let router): try router.send(frames, to: peer!)
            case .dealer(let dealer): try dealer.send(frames)
            }
            counters.count(sent: encoder.message.body.kindName, bytes: frames.reduce(0) { $0 + $1.count },
                           computeSeconds: i == 0 ? encoder.message.header.computeSeconds : 0, message: i == 0)
            return true
        } catch {
            log("cannot send \(encoder.message.body.kindName) to \(peer.map { "\($0)" } ?? "the coordinator"): \(error)")
            lastSeen[peer] = nil
            streams[peer] = nil
            credits[peer] = nil
            inbox.put(.lost(peer, reason: "\(error)"))
            return false
        }
    }

    private func flushOutbox() {
        while let out = outbox.take(timeout: .zero) {
            let encoder = PartEncoder(Message(header: header(computeSeconds: out.computeSeconds, epoch: out.epoch), body: out.body, tensors: out.tensors),
                                      maxChunkBytes: maxChunkBytes)
            if encoder.partCount == 1, streams[out.peer, default: []].isEmpty {
                _ = write(encoder, part: 0, to: out.peer)
            } else {
                streams[out.peer, default: []].append((encoder, 0))
                pump(out.peer)
            }
        }
    }

    /// Sends the queued parts to `peer` that its credits allow (single-part messages behind a
    /// stream need none), head of the queue first.
    private func pump(_ peer: PeerID?) {
        while var head = streams[peer]?.first {
            let multipart = head.encoder.partCount > 1
            if multipart {
                let left = credits[peer] ?? Self.creditWindow
                guard left > 0 else { return }
                credits[peer] = left - 1
            }
            guard write(head.encoder, part: head.next, to: peer) else { return }
            head.next += 1
            if head.next == head.encoder.partCount {
                streams[peer]!.removeFirst()
            } else {
                streams[peer]![0] = head
            }
        }
    }

    private func receiveOne(timeout: Duration) {
        let received: (PeerID?, [Frame])?
        do {
            switch socket {
            case .router(let router): received = try router.receive(timeout: timeout).map { ($0.peer, $0.frames) }
            case .dealer(let dealer): received = try dealer.receive(timeout: timeout).map { (nil, $0) }
            }
        } catch {
            log("receive failed: \(error)")
            return
        }
        guard let (peer, frames) = received else { return }
        let name = peer.map { "peer \($0)" } ?? "the coordinator"
        do {
            let part = try MessageCodec.decodePart(frames, maxFrameBytes: maxChunkBytes)
            // A status request needs no job: answered here, at once, and forgotten.
            if case .statusRequest = part.body, let responder = statusResponder {
                counters.count(received: part.body.kindName, bytes: frames.reduce(0) { $0 + $1.count }, computeSeconds: 0, message: true)
                transmit(.statusReport(responder()), tensors: [], to: peer)
                return
            }
            let (job, epoch) = lock.withLock { (jobIDValue, epochValue) }
            // A worker registers before it knows the job; everything else must be of this job and
            // epoch. The coordinator decides the epoch: its link refuses any other (a worker
            // declared lost), while still counting it as a sign of life; a worker's links take
            // later epochs too (the worker adopts them in order, see Worker).
            if !(part.isRegister || job.isEmpty) {
                if part.header.jobID != job {
                    throw ProtocolError(code: .wrongJob, detail: "message for job \"\(part.header.jobID)\", this is job \"\(job)\"", header: part.header)
                }
                let accepted = part.header.epoch == epoch || (!authoritativeEpoch && part.header.epoch > epoch)
                    || (peer == nil && part.crossesEpochs)
                if !accepted {
                    if lastSeen[peer] != nil { lastSeen[peer] = .now }
                    throw ProtocolError(code: .wrongEpoch, detail: "message of epoch \(part.header.epoch), the job is at epoch \(epoch)", header: part.header)
                }
            }
            lastSeen[peer] = .now
            counters.count(received: part.body.kindName, bytes: frames.reduce(0) { $0 + $1.count },
                           computeSeconds: part.partIndex == 0 ? part.header.computeSeconds : 0, message: part.partIndex == 0)
            if case .credit(let credit) = part.body {
                credits[peer] = (credits[peer] ?? Self.creditWindow) + Int(credit.credits)
                pump(peer)
                return
            }
            let message = try assemblers[peer, default: MessageAssembler()].add(part)
            // Every part of a multi-part message is paid back once it is taken in.
            if part.partCount > 1 { transmit(.credit(Credit(credits: 1)), tensors: [], to: peer) }
            guard let message else { return }
            if case .heartbeat = message.body { return }
            inbox.put(.message(peer, message))
        } catch let fault as ProtocolError {
            // A worker declared lost keeps sending (heartbeats) until it hears: said once.
            if fault.code == .wrongEpoch {
                if staleEpochPeers.insert(peer).inserted { log("\(name): \(fault) (further messages of old epochs from it are refused silently)") }
            } else {
                log("\(name): \(fault)")
            }
            transmit(.error(ErrorReport(code: fault.code, message: fault.description, refersToSequence: fault.header?.sequence ?? 0)),
                     tensors: [], to: peer)
        } catch {
            log("\(name): \(error)")
        }
    }

    private func beat() {
        let now = ContinuousClock.now
        guard now - lastHeartbeat >= heartbeat else { return }
        lastHeartbeat = now
        let silence = heartbeat * liveness
        for (peer, seen) in lastSeen {
            if now - seen > silence {
                lastSeen[peer] = nil
                streams[peer] = nil
                credits[peer] = nil
                let seconds = Double((now - seen) / .milliseconds(1)) / 1000
                inbox.put(.lost(peer, reason: String(format: "silent for %.1f s (%d heartbeats missed)", seconds, liveness)))
            } else {
                transmit(.heartbeat(Heartbeat(sentUnixMilliseconds: UInt64(Date().timeIntervalSince1970 * 1000))), tensors: [], to: peer)
            }
        }
    }
}
