import Foundation

/// A worker's links to its fellow workers: its own ROUTER (what others send it arrives in the
/// worker's inbox, tagged with the sender's identity) and a DEALER to each worker it has sent
/// to, made on first use. Statistics parts go straight from the worker that computed a chunk to
/// the layer's owner, never through the coordinator.
final class PeerMesh {
    let endpoint: String
    private let network: any WorkerNetwork
    private let name: String
    private let server: PeerLink
    private let settings: (heartbeat: Duration, liveness: Int, maxChunkBytes: Int)
    private let log: @Sendable (String) -> Void
    private var outbound: [Int: (link: PeerLink, inbox: Mailbox<PeerLink.Incoming>)] = [:]
    private var endpoints: [String] = []
    /// Each worker's CURVE public key, by index (empty without CURVE).
    private var publicKeys: [String] = []
    private var job: (id: String, epoch: UInt64) = ("", 0)

    init(network: any WorkerNetwork, name: String, inbox: Mailbox<PeerLink.Incoming>, heartbeat: Duration, liveness: Int,
         maxChunkBytes: Int, log: @escaping @Sendable (String) -> Void) throws {
        self.network = network
        self.name = name
        self.log = log
        settings = (heartbeat, liveness, maxChunkBytes)
        let (transport, endpoint) = try network.bindPeerSocket(name: name)
        self.endpoint = endpoint
        server = PeerLink(socket: .router(transport), jobID: "", epoch: 0, heartbeat: heartbeat, liveness: liveness,
                          maxChunkBytes: maxChunkBytes, inbox: inbox, log: { log("peer socket: \($0)") })
    }

    /// The job and epoch every peer message must carry.
    func adopt(jobID: String, epoch: UInt64) {
        job = (jobID, epoch)
        server.adopt(jobID: jobID, epoch: epoch)
        for (_, out) in outbound { out.link.adopt(jobID: jobID, epoch: epoch) }
    }

    /// The peer endpoints of the plan, by worker index; links to workers whose endpoint changed are closed.
    func setPeers(_ endpoints: [String], publicKeys: [String] = []) {
        for (index, out) in outbound where index >= endpoints.count || index >= self.endpoints.count || endpoints[index] != self.endpoints[index]
            || (publicKeys.indices.contains(index) ? publicKeys[index] : "") != (self.publicKeys.indices.contains(index) ? self.publicKeys[index] : "") {
            out.link.close()
            outbound[index] = nil
        }
        self.endpoints = endpoints
        self.publicKeys = publicKeys
    }

    /// Sends a message to worker `index`.
    /// - Throws: ``ClusterError/workFailed`` when the plan names no endpoint for it or its link failed.
    func send(_ body: MessageBody, tensors: [WireTensor], toWorker index: Int, computeSeconds: Double = 0) throws {
        guard endpoints.indices.contains(index), !endpoints[index].isEmpty else {
            throw ClusterError.badPayload("the PLAN names no peer endpoint for worker \(index)")
        }
        if outbound[index] == nil {
            let inbox = Mailbox<PeerLink.Incoming>()
            let transport = try network.connectPeer(endpoints[index], identity: PeerID(bytes: Array("\(name)-to-\(index)-\(UUID().uuidString.prefix(6))".utf8)),
                                                    serverKey: publicKeys.indices.contains(index) ? publicKeys[index] : nil)
            let link = PeerLink(socket: .dealer(transport), jobID: job.id, epoch: job.epoch, heartbeat: settings.heartbeat,
                                liveness: settings.liveness, maxChunkBytes: settings.maxChunkBytes, inbox: inbox,
                                log: { [log] in log("link to worker \(index): \($0)") })
            outbound[index] = (link, inbox)
        }
        try check(index)
        outbound[index]!.link.send(body, tensors: tensors, computeSeconds: computeSeconds)
    }

    /// Closes links to fellow workers that were lost or refused; throws when the link to
    /// `target` is one of them or answered with an ERROR. (A lost worker the coordinator has
    /// taken out of the job is no one's target any more.)
    func check(_ target: Int) throws {
        for (index, out) in outbound {
            while let incoming = out.inbox.take(timeout: .zero) {
                var failure: String?
                switch incoming {
                case .lost(_, let reason):
                    out.link.close()
                    outbound[index] = nil
                    if index == target { throw ClusterError.peerUnreachable(worker: index, endpoint: endpoints[index], reason: reason) }
                    failure = "cannot reach it: \(reason)"
                case .refused(let reason):
                    // Also what a handshake with a worker that died mid-connection looks like;
                    // the coordinator, which hears from every worker, decides whether it is lost.
                    out.link.close()
                    outbound[index] = nil
                    if index == target { throw ClusterError.peerUnreachable(worker: index, endpoint: endpoints[index], reason: reason) }
                    failure = reason
                case .message(_, let message):
                    // A message sent before the job moved to a new epoch is refused: not a failure.
                    if case .error(let report) = message.body, report.code != .wrongEpoch { failure = report.message }
                }
                guard let failure else { continue }
                if index == target { throw ClusterError.workFailed(worker: "\(index) at \(endpoints[index])", reason: failure) }
                log("link to worker \(index): \(failure)")
                if outbound[index] == nil { break }
            }
        }
    }

    /// Sends what is queued on every link, then stops them.
    func close() {
        for (_, out) in outbound { out.link.close() }
        outbound = [:]
        server.close()
    }

    var traffic: Traffic {
        outbound.values.reduce(server.traffic) { total, out in total.adding(out.link.traffic) }
    }
}

extension Traffic {
    /// Both tallies added, kind by kind.
    func adding(_ other: Traffic) -> Traffic {
        func plus(_ a: [String: Tally], _ b: [String: Tally]) -> [String: Tally] {
            b.reduce(into: a) { result, entry in
                result[entry.key, default: Tally()].messages += entry.value.messages
                result[entry.key, default: Tally()].bytes += entry.value.bytes
                result[entry.key, default: Tally()].computeSeconds += entry.value.computeSeconds
            }
        }
        var sum = self
        sum.sent = plus(sent, other.sent)
        sum.received = plus(received, other.received)
        return sum
    }
}
