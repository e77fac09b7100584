internal import CZeroMQ
import Foundation

/// The ZeroMQ authentication handler (ZAP, RFC 27) of one context: a REP socket at
/// `inproc://zeromq.zap.01` that answers each CURVE handshake of the context's server sockets.
///
/// It admits a client only when the mechanism is CURVE, the socket's domain is
/// ``domain`` (other domains are refused: domain enforcement) and the client's public key is in
/// the authorised keys. Everything else, including a malformed request, is refused (status 400
/// or 500), so the handler fails closed. It runs on its own thread until the context shuts down
/// (or ``stop()``), and it is bound before any server socket of the context binds.
public final class ZAPAuthenticator: @unchecked Sendable {
    public static let domain = "alphaedit"
    static let endpoint = "inproc://zeromq.zap.01"

    private let socket: ZMQSocket
    private let authorized: AuthorizedKeys
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    /// Handshakes refused so far (for tests and status).
    public private(set) var refusals = 0

    public init(context: ZMQContext, authorized: AuthorizedKeys, log: @escaping @Sendable (String) -> Void) throws {
        try CurveSupport.require()
        self.authorized = authorized
        self.log = log
        socket = try ZMQSocket(context: context, type: ZMQ_REP, options: SocketOptions())
        _ = try socket.bind(Self.endpoint)
        let thread = Thread { [self] in
            self.serve()
            self.finished.signal()
        }
        thread.name = "alphaedit-zap"
        thread.start()
    }

    /// Ends the handler (after the server sockets it guards are closed).
    public func stop() {
        let wasStopping = lock.withLock { () -> Bool in
            let was = stopping
            stopping = true
            return was
        }
        if !wasStopping { finished.wait() }
    }

    deinit { stop() }

    private func serve() {
        while !lock.withLock({ stopping }) {
            let request: [Frame]
            do {
                guard let frames = try socket.receive(timeout: .milliseconds(100)) else { continue }
                request = frames
            } catch {
                return   // ETERM: the context is shutting down
            }
            let reply = answer(request)
            try? socket.send(reply)
        }
    }

    /// RFC 27: request = version, request id, domain, address, identity, mechanism, credentials…;
    /// reply = version, request id, status code, status text, user id, metadata.
    func answer(_ request: [Frame]) -> [Frame] {
        func text(_ frame: Frame) -> String { String(decoding: frame, as: UTF8.self) }
        let requestID = request.count > 1 ? request[1] : []
        func reply(_ code: String, _ status: String, user: String = "") -> [Frame] {
            if code != "200" {
                lock.withLock { refusals += 1 }
                let address = request.count > 3 ? text(request[3]) : "?"
                log("refused a connection from \(address): \(status)")
            }
            return [Array("1.0".utf8), requestID, Array(code.utf8), Array(status.utf8), Array(user.utf8), []]
        }
        guard request.count >= 6, text(request[0]) == "1.0" else { return reply("500", "malformed ZAP request") }
        guard text(request[2]) == Self.domain else { return reply("400", "unknown ZAP domain '\(text(request[2]))'") }
        guard text(request[5]) == "CURVE" else { return reply("400", "mechanism \(text(request[5])) is not allowed, only CURVE") }
        guard request.count == 7, request[6].count == 32 else { return reply("400", "malformed CURVE credentials") }
        let key = CurveKey.encode(request[6])
        guard authorized.admits(key) else { return reply("400", "public key \(key) is not in \(authorized.source)") }
        return reply("200", "OK", user: key)
    }
}
