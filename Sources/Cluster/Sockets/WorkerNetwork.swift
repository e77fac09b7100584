import Foundation

/// How a worker reaches its coordinator and its fellow workers: over ZeroMQ (``ZMQNetwork``) or
/// inside one process (``InProcessNetwork``, for tests).
public protocol WorkerNetwork: AnyObject, Sendable {
    /// A DEALER connected to the coordinator.
    func connectCoordinator(identity: PeerID) throws -> any DealerTransport
    /// Binds this worker's own ROUTER, where fellow workers send it what it owns (statistics
    /// parts of its layers); returns it and the endpoint they connect to.
    func bindPeerSocket(name: String) throws -> (transport: any RouterTransport, endpoint: String)
    /// A DEALER connected to a fellow worker's peer endpoint; `serverKey` is that worker's CURVE
    /// public key (from the PLAN) when the job uses CURVE.
    func connectPeer(_ endpoint: String, identity: PeerID, serverKey: String?) throws -> any DealerTransport
    /// This worker's CURVE public key (announced in REGISTER), nil without CURVE.
    var publicKey: String? { get }
}

/// ZeroMQ: the coordinator at `endpoint`; the peer socket bound next to it (ipc: a socket file
/// in the same directory; tcp: the address of the interface that reaches the coordinator, on
/// any free port) unless `peerEndpoint` names one.
public final class ZMQNetwork: WorkerNetwork, @unchecked Sendable {
    public let endpoint: String
    public let peerEndpoint: String?
    let context: ZMQContext
    let security: ClusterSecurity?
    private let log: @Sendable (String) -> Void
    private var authenticator: ZAPAuthenticator?

    /// With `security`, every socket uses CURVE (the peer socket admits the authorised keys);
    /// without it a tcp coordinator endpoint is refused unless `insecure`.
    public init(coordinator endpoint: String, peerEndpoint: String? = nil, security: ClusterSecurity? = nil, insecure: Bool = false,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        try Endpoint.validate(endpoint)
        if let peerEndpoint { try Endpoint.validate(peerEndpoint) }
        try ClusterSecurity.check(endpoint: endpoint, security: security, insecure: insecure, role: "worker")
        if let security, security.coordinatorKey == nil {
            throw SecurityError.badKey(file: "--coordinator-key", detail: "a worker with CURVE keys needs the coordinator's public key")
        }
        self.endpoint = endpoint
        self.peerEndpoint = peerEndpoint
        self.security = security
        self.log = log
        context = try ZMQContext()
    }

    deinit {
        if authenticator != nil { context.shutdown() }
        authenticator?.stop()
    }

    public var publicKey: String? { security?.keys.publicKey }

    private func clientOptions(serverKey: String?) -> SocketOptions {
        var options = SocketOptions()
        if let security, let serverKey { options.curve = .client(security.keys, serverKey: serverKey) }
        return options
    }

    public func connectCoordinator(identity: PeerID) throws -> any DealerTransport {
        let dealer = try DealerSocket(context: context, identity: identity, options: clientOptions(serverKey: security?.coordinatorKey))
        try dealer.connect(endpoint)
        return dealer
    }

    public func bindPeerSocket(name: String) throws -> (transport: any RouterTransport, endpoint: String) {
        var options = SocketOptions()
        if let security {
            if authenticator == nil { authenticator = try ZAPAuthenticator(context: context, authorized: security.authorized, log: log) }
            options.curve = .server(security.keys)
        }
        let router = try RouterSocket(context: context, options: options)
        let bound = try router.bind(try peerEndpoint ?? Self.peerEndpoint(near: endpoint, name: name))
        return (router, bound)
    }

    public func connectPeer(_ endpoint: String, identity: PeerID, serverKey: String?) throws -> any DealerTransport {
        if security != nil, serverKey?.isEmpty ?? true {
            throw SecurityError.badKey(file: endpoint, detail: "the PLAN names no CURVE key for the fellow worker at this endpoint (did it start without --key?)")
        }
        let dealer = try DealerSocket(context: context, identity: identity, options: clientOptions(serverKey: serverKey))
        try dealer.connect(endpoint)
        return dealer
    }

    /// Where to bind a worker's peer socket, given its coordinator's endpoint.
    static func peerEndpoint(near coordinator: String, name: String) throws -> String {
        let unique = "peer-\(getpid())-\(UUID().uuidString.prefix(8))"
        if coordinator.hasPrefix("ipc://") {
            let directory = URL(fileURLWithPath: String(coordinator.dropFirst(6))).deletingLastPathComponent()
            let candidate = Endpoint.ipc(directory: directory, name: unique)
            if (try? Endpoint.validate(candidate)) != nil { return candidate }
            let fallback = "alphaedit-" + unique
            return Endpoint.ipc(directory: Endpoint.ipcBase(longestName: fallback), name: fallback)
        }
        if coordinator.hasPrefix("tcp://") {
            let rest = coordinator.dropFirst(6)
            let host = String(rest[..<(rest.lastIndex(of: ":") ?? rest.endIndex)]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let port = String(rest[rest.index(after: rest.lastIndex(of: ":") ?? rest.startIndex)...])
            if let local = LocalAddress.toward(host: host, port: port) { return "tcp://\(local):*" }
            throw TransportError.invalidEndpoint(coordinator, reason: "cannot tell which local address reaches \(host); give the worker --peer-endpoint tcp://ADDRESS:PORT")
        }
        throw TransportError.invalidEndpoint(coordinator, reason: "a peer endpoint cannot be derived from it; give the worker --peer-endpoint")
    }
}

/// Inside one process: the coordinator's hub, and a hub per worker's peer socket, found by name.
public final class InProcessNetwork: WorkerNetwork, @unchecked Sendable {
    let coordinator: InProcessHub
    private let lock = NSLock()
    private var hubs: [String: InProcessHub] = [:]

    public init(coordinator: InProcessHub) { self.coordinator = coordinator }

    public func connectCoordinator(identity: PeerID) throws -> any DealerTransport { coordinator.connectDealer(identity: identity) }

    public func bindPeerSocket(name: String) throws -> (transport: any RouterTransport, endpoint: String) {
        let hub = InProcessHub()
        let endpoint = "inproc://peer-\(name)-\(UUID().uuidString.prefix(8))"
        lock.withLock { hubs[endpoint] = hub }
        return (hub.makeRouter(), endpoint)
    }

    public var publicKey: String? { nil }

    public func connectPeer(_ endpoint: String, identity: PeerID, serverKey: String?) throws -> any DealerTransport {
        guard let hub = lock.withLock({ hubs[endpoint] }) else { throw TransportError.invalidEndpoint(endpoint, reason: "no such in-process peer") }
        return hub.connectDealer(identity: identity)
    }
}

/// The local address this host uses to reach a remote one (a connected UDP socket's name; no
/// packet is sent).
enum LocalAddress {
    static func toward(host: String, port: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard status == 0 else { return nil }
        let address = String(cString: text)
        return info.pointee.ai_family == AF_INET6 ? "[\(address)]" : address
    }
}
