import Foundation

/// Asks a running coordinator what its job is doing (`alphaedit status`): one STATUS_REQUEST
/// over a DEALER, answered by the coordinator's I/O thread even while it computes. With CURVE,
/// the asker's key must be in the coordinator's authorised keys, like a worker's.
public enum StatusClient {
    public static func query(endpoint: String, security: ClusterSecurity?, insecure: Bool,
                             timeout: Duration = .seconds(5)) throws -> StatusReport {
        try Endpoint.validate(endpoint)
        try ClusterSecurity.check(endpoint: endpoint, security: security, insecure: insecure, role: "status client")
        let context = try ZMQContext()
        var options = SocketOptions()
        if let security, let serverKey = security.coordinatorKey { options.curve = .client(security.keys, serverKey: serverKey) }
        let dealer = try DealerSocket(context: context, identity: PeerID(bytes: Array("status-\(getpid())-\(UUID().uuidString.prefix(6))".utf8)),
                                      options: options)
        try dealer.connect(endpoint)
        let request = Message(header: MessageHeader(version: MessageCodec.protocolVersion, jobID: "", epoch: 0, sequence: 1),
                              body: .statusRequest)
        try dealer.send(MessageCodec.encode(request, maxChunkBytes: MessageCodec.defaultMaxChunkBytes)[0])
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let failure = dealer.handshakeFailure() { throw ClusterError.refused(endpoint: endpoint, reason: failure) }
            guard let frames = try dealer.receive(timeout: .milliseconds(100)) else { continue }
            let part = try MessageCodec.decodePart(frames)
            switch part.body {
            case .statusReport(let report): return report
            case .error(let error): throw ClusterError.workFailed(worker: "the coordinator at \(endpoint)", reason: error.message)
            default: continue   // a heartbeat
            }
        }
        throw ClusterError.coordinatorLost(endpoint: endpoint, seconds: Double(timeout / .milliseconds(1)) / 1000)
    }
}
