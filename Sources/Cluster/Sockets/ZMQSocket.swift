internal import CZeroMQ
import Foundation

// The only ZeroMQ caller. Sockets are not thread-safe: each is used from one thread (the link's
// I/O thread); the context is thread-safe.

/// A ZeroMQ context (its I/O threads). Terminated when released, after its sockets.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() throws(TransportError) {
        guard let handle = zmq_ctx_new() else { throw ZMQSocket.failure("zmq_ctx_new") }
        self.handle = handle
    }

    /// Makes blocking calls on every socket of the context return (ETERM).
    public func shutdown() { zmq_ctx_shutdown(handle) }

    deinit { zmq_ctx_term(handle) }
}

/// Options every socket gets.
public struct SocketOptions: Sendable {
    /// ZMQ_MAXMSGSIZE: a peer sending a larger frame is disconnected by libzmq (the codec's
    /// chunk limit, 64 MiB, plus room for the envelope).
    public var maxMessageBytes: Int64 = Int64(MessageCodec.defaultMaxChunkBytes) + (1 << 20)
    public var sendHighWaterMark: Int32 = 1000
    public var receiveHighWaterMark: Int32 = 1000
    /// ZMQ_LINGER: pending messages are dropped at close (the protocol says goodbye itself).
    public var lingerMilliseconds: Int32 = 0
    /// ZMQ_SNDTIMEO: a send that cannot be queued for this long fails (a stuck peer).
    public var sendTimeoutMilliseconds: Int32 = 10_000
    /// Dealers: ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX (exponential backoff).
    public var reconnectInterval: Int32 = 100
    public var reconnectIntervalMax: Int32 = 5_000
    /// CURVE: a server (its key pair; clients are checked by the context's ZAP handler) or a
    /// client (its key pair and the server's public key). nil: plain text (ipc, or --insecure).
    public var curve: CurveRole?

    public init() {}
}

/// A socket's side of a CURVE handshake.
public enum CurveRole: Sendable {
    case server(CurveKeyPair)
    case client(CurveKeyPair, serverKey: String)
}

/// A ZeroMQ socket: options, bind/connect, multipart send and receive.
final class ZMQSocket {
    private let handle: UnsafeMutableRawPointer
    let context: ZMQContext   // kept alive as long as the socket

    /// Frames this large or larger are sent without a copy (zmq_msg_init_data).
    static let zeroCopyThreshold = 1 << 20

    init(context: ZMQContext, type: Int32, options: SocketOptions) throws(TransportError) {
        guard let handle = zmq_socket(context.handle, type) else { throw Self.failure("zmq_socket") }
        self.handle = handle
        self.context = context
        try set(ZMQ_MAXMSGSIZE, options.maxMessageBytes, "ZMQ_MAXMSGSIZE")
        try set(ZMQ_SNDHWM, options.sendHighWaterMark, "ZMQ_SNDHWM")
        try set(ZMQ_RCVHWM, options.receiveHighWaterMark, "ZMQ_RCVHWM")
        try set(ZMQ_LINGER, options.lingerMilliseconds, "ZMQ_LINGER")
        try set(ZMQ_SNDTIMEO, options.sendTimeoutMilliseconds, "ZMQ_SNDTIMEO")
        try set(ZMQ_RECONNECT_IVL, options.reconnectInterval, "ZMQ_RECONNECT_IVL")
        try set(ZMQ_RECONNECT_IVL_MAX, options.reconnectIntervalMax, "ZMQ_RECONNECT_IVL_MAX")
        if let curve = options.curve { try apply(curve) }
    }

    /// Must come before bind/connect.
    private func apply(_ curve: CurveRole) throws(TransportError) {
        func key(_ z85: String, _ name: String) throws(TransportError) -> [UInt8] {
            guard let bytes = CurveKey.decode(z85) else { throw .zmq(call: "zmq_setsockopt(\(name))", errno: EINVAL, message: "not a Z85 CURVE key") }
            return bytes
        }
        switch curve {
        case .server(let pair):
            try set(ZMQ_CURVE_SERVER, Int32(1), "ZMQ_CURVE_SERVER")
            try set(bytes: try key(pair.secretKey, "ZMQ_CURVE_SECRETKEY"), ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY")
            try set(bytes: Array(ZAPAuthenticator.domain.utf8), ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN")
            // libzmq's ZMQ_ZAP_ENFORCE_DOMAIN (draft option 93): with it a handshake fails when no
            // ZAP handler answers, instead of being admitted. Builds without drafts refuse the
            // option; the handler, bound before this socket, enforces the domain itself.
            var enforce: Int32 = 1
            _ = withUnsafeBytes(of: &enforce) { zmq_setsockopt(handle, 93, $0.baseAddress, $0.count) }
        case .client(let pair, let serverKey):
            try set(bytes: try key(serverKey, "ZMQ_CURVE_SERVERKEY"), ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY")
            try set(bytes: try key(pair.publicKey, "ZMQ_CURVE_PUBLICKEY"), ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY")
            try set(bytes: try key(pair.secretKey, "ZMQ_CURVE_SECRETKEY"), ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY")
        }
    }

    deinit { zmq_close(handle) }

    static func failure(_ call: String) -> TransportError {
        let code = zmq_errno()
        return .zmq(call: call, errno: code, message: String(cString: zmq_strerror(code)))
    }

    func set<T>(_ option: Int32, _ value: T, _ name: String) throws(TransportError) {
        var value = value
        let status = withUnsafeBytes(of: &value) { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if status != 0 { throw Self.failure("zmq_setsockopt(\(name))") }
    }

    func set(bytes: [UInt8], _ option: Int32, _ name: String) throws(TransportError) {
        let status = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if status != 0 { throw Self.failure("zmq_setsockopt(\(name))") }
    }

    func bind(_ endpoint: String) throws(TransportError) -> String {
        try Endpoint.validate(endpoint)
        if zmq_bind(handle, endpoint) != 0 { throw Self.failure("zmq_bind(\(endpoint))") }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        if zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 { throw Self.failure("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") }
        return String(cString: buffer)
    }

    func connect(_ endpoint: String) throws(TransportError) {
        try Endpoint.validate(endpoint)
        if zmq_connect(handle, endpoint) != 0 { throw Self.failure("zmq_connect(\(endpoint))") }
    }

    /// Publishes this socket's `events` on a PAIR endpoint (zmq_socket_monitor).
    func monitor(_ address: String, events: Int32) throws(TransportError) {
        if zmq_socket_monitor(handle, address, events) != 0 { throw Self.failure("zmq_socket_monitor(\(address))") }
    }

    func disconnect(_ endpoint: String) throws(TransportError) {
        if zmq_disconnect(handle, endpoint) != 0 { throw Self.failure("zmq_disconnect(\(endpoint))") }
    }

    /// Sends `frames` as one multipart message.
    func send(_ frames: [Frame], unreachable: PeerID? = nil) throws(TransportError) {
        for (i, frame) in frames.enumerated() {
            let flags: Int32 = i + 1 < frames.count ? ZMQ_SNDMORE : 0
            let status: Int32
            if frame.count >= Self.zeroCopyThreshold {
                status = sendWithoutCopy(frame, flags: flags)
            } else {
                status = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            }
            if status < 0 {
                if zmq_errno() == EHOSTUNREACH, let unreachable { throw .unreachable(unreachable) }
                throw Self.failure("zmq_send (frame \(i) of \(frames.count))")
            }
        }
    }

    /// Hands `frame`'s storage to ZeroMQ: a retained box keeps the array alive until libzmq's
    /// I/O thread calls the free function, so the pointer stays valid (an array held by a `let`
    /// in a class is never moved or mutated).
    private func sendWithoutCopy(_ frame: Frame, flags: Int32) -> Int32 {
        let box = FrameBox(frame)
        let hint = Unmanaged.passRetained(box).toOpaque()
        var message = zmq_msg_t()
        let data = UnsafeMutableRawPointer(mutating: box.baseAddress)
        if zmq_msg_init_data(&message, data, frame.count, { _, hint in
            Unmanaged<FrameBox>.fromOpaque(hint!).release()
        }, hint) != 0 {
            Unmanaged<FrameBox>.fromOpaque(hint).release()
            return -1
        }
        let sent = zmq_msg_send(&message, handle, flags)
        if sent < 0 { zmq_msg_close(&message) }   // ownership stays with us on failure: close frees the box
        return sent < 0 ? -1 : 0
    }

    /// Waits up to `timeout` for a message, then reads all its frames.
    func receive(timeout: Duration) throws(TransportError) -> [Frame]? {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let milliseconds = max(0, Int(timeout / .milliseconds(1)))
        let ready = zmq_poll(&item, 1, milliseconds)
        if ready < 0 {
            if zmq_errno() == EINTR { return nil }
            throw Self.failure("zmq_poll")
        }
        guard ready > 0 else { return nil }
        var frames: [Frame] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            if zmq_msg_recv(&message, handle, frames.isEmpty ? ZMQ_DONTWAIT : 0) < 0 {
                if frames.isEmpty && zmq_errno() == EAGAIN { return nil }
                throw Self.failure("zmq_msg_recv")
            }
            let size = zmq_msg_size(&message)
            let data = zmq_msg_data(&message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }
}

/// Keeps a frame's bytes alive while ZeroMQ sends them.
private final class FrameBox {
    let frame: Frame
    let baseAddress: UnsafeRawPointer
    init(_ frame: Frame) {
        self.frame = frame
        self.baseAddress = frame.withUnsafeBytes { $0.baseAddress! }
    }
}

/// The coordinator's socket: ROUTER with ROUTER_MANDATORY (sending to an unknown peer fails
/// instead of dropping) and ROUTER_HANDOVER (a reconnecting worker with the same identity takes
/// over its connection).
public final class RouterSocket: RouterTransport {
    private let socket: ZMQSocket

    public init(context: ZMQContext, options: SocketOptions = .init()) throws(TransportError) {
        socket = try ZMQSocket(context: context, type: ZMQ_ROUTER, options: options)
        try socket.set(ZMQ_ROUTER_MANDATORY, Int32(1), "ZMQ_ROUTER_MANDATORY")
        try socket.set(ZMQ_ROUTER_HANDOVER, Int32(1), "ZMQ_ROUTER_HANDOVER")
    }

    /// Binds and returns the endpoint bound (a `tcp://host:*` endpoint with its real port).
    public func bind(_ endpoint: String) throws(TransportError) -> String { try socket.bind(endpoint) }

    public func send(_ frames: [Frame], to peer: PeerID) throws(TransportError) {
        try socket.send([peer.bytes] + frames, unreachable: peer)
    }

    public func receive(timeout: Duration) throws(TransportError) -> (peer: PeerID, frames: [Frame])? {
        guard let frames = try socket.receive(timeout: timeout), let identity = frames.first else { return nil }
        return (PeerID(bytes: identity), Array(frames.dropFirst()))
    }
}

/// A worker's socket: DEALER, reconnecting with exponential backoff. A monitor reports failed
/// security handshakes (``handshakeFailure()``), which otherwise look like a silent server.
public final class DealerSocket: DealerTransport {
    private let socket: ZMQSocket
    private let monitor: ZMQSocket
    private var endpoint = ""
    private let publicKey: String?

    public init(context: ZMQContext, identity: PeerID? = nil, options: SocketOptions = .init()) throws(TransportError) {
        socket = try ZMQSocket(context: context, type: ZMQ_DEALER, options: options)
        if let identity { try socket.set(bytes: identity.bytes, ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID") }
        if case .client(let pair, _) = options.curve { publicKey = pair.publicKey } else { publicKey = nil }
        let address = "inproc://alphaedit-monitor-\(UUID().uuidString)"
        try socket.monitor(address, events: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        monitor = try ZMQSocket(context: context, type: ZMQ_PAIR, options: SocketOptions())
        try monitor.connect(address)
    }

    public func connect(_ endpoint: String) throws(TransportError) {
        self.endpoint = endpoint
        try socket.connect(endpoint)
    }

    public func handshakeFailure() -> String? {
        // An event is two frames: 2 bytes event, 4 bytes value (host order), then the endpoint.
        guard let frames = try? monitor.receive(timeout: .zero), let event = frames.first, event.count >= 6 else { return nil }
        let kind = Int32(UInt16(event[0]) | UInt16(event[1]) << 8)
        let value = UInt32(event[2]) | UInt32(event[3]) << 8 | UInt32(event[4]) << 16 | UInt32(event[5]) << 24
        let key = publicKey.map { "its public key \($0)" } ?? "it"
        switch kind {
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            return "\(endpoint) refused this process's CURVE key (ZAP status \(value)): add \(key) to the authorised-keys file the server was started with"
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            return "the security handshake with \(endpoint) failed (ZMTP protocol error 0x\(String(value, radix: 16))): "
                + (publicKey == nil ? "the server uses CURVE and this process has no keys (--key, --coordinator-key)"
                                    : "the server does not use CURVE (started with --insecure?), or --coordinator-key is not its key")
        default:
            return "the security handshake with \(endpoint) failed: check that both sides use CURVE and that --coordinator-key is the server's public key"
        }
    }
    public func disconnect(_ endpoint: String) throws(TransportError) { try socket.disconnect(endpoint) }
    public func send(_ frames: [Frame]) throws(TransportError) { try socket.send(frames) }
    public func receive(timeout: Duration) throws(TransportError) -> [Frame]? { try socket.receive(timeout: timeout) }
}
