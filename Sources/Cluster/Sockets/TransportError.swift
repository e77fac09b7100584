import Foundation

/// A transport failure, naming the call, the endpoint or the peer.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A libzmq call failed: the call, errno and zmq_strerror's text.
    case zmq(call: String, errno: Int32, message: String)
    /// ROUTER_MANDATORY: no connected peer has this identity.
    case unreachable(PeerID)
    case invalidEndpoint(String, reason: String)
    /// The transport was closed.
    case closed

    public var description: String {
        switch self {
        case .zmq(let call, let errno, let message): return "\(call) failed: \(message) (errno \(errno))"
        case .unreachable(let peer): return "peer \(peer) is not connected"
        case .invalidEndpoint(let endpoint, let reason): return "endpoint \"\(endpoint)\": \(reason)"
        case .closed: return "the connection is closed"
        }
    }
}

/// A ROUTER's routing identity of a peer.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The identity as text when it is printable ASCII, else hex.
    public var description: String {
        if !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: bytes, as: UTF8.self) }
        return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The coordinator's side of a transport: messages tagged with the sending peer.
/// Used from one thread at a time.
public protocol RouterTransport: AnyObject {
    func send(_ frames: [Frame], to peer: PeerID) throws(TransportError)
    /// The next whole multipart message, or nil after `timeout`.
    func receive(timeout: Duration) throws(TransportError) -> (peer: PeerID, frames: [Frame])?
}

/// A worker's side of a transport. Used from one thread at a time.
public protocol DealerTransport: AnyObject {
    func send(_ frames: [Frame]) throws(TransportError)
    func receive(timeout: Duration) throws(TransportError) -> [Frame]?
    /// Why the last security handshake with the server failed, if one did since the last call
    /// (an unknown key refused by its ZAP handler, CURVE on one side only). Never blocks.
    func handshakeFailure() -> String?
}

extension DealerTransport {
    public func handshakeFailure() -> String? { nil }
}

/// Endpoints the transport accepts: `tcp://host:port` (port `*` binds any free port),
/// `ipc://path` and `inproc://name`.
public enum Endpoint {
    /// Longest ipc path Linux accepts (sockaddr_un.sun_path less its NUL).
    static let maxIPCPath = 107

    /// An ipc endpoint for a socket file in `directory`.
    public static func ipc(directory: URL, name: String) -> String {
        "ipc://" + directory.appendingPathComponent(name + ".sock").path
    }

    /// Where ipc sockets go when no directory is given: the temporary folder (`TMPDIR`), or /tmp
    /// when that folder's path leaves too little room for `longestName` (a relative path of
    /// folder and socket name, without ".sock") within ``maxIPCPath``.
    static func ipcBase(longestName: String, temporary: URL = FileManager.default.temporaryDirectory) -> URL {
        if (try? validate(ipc(directory: temporary, name: longestName))) != nil { return temporary }
        return URL(fileURLWithPath: "/tmp", isDirectory: true)
    }

    public static func validate(_ endpoint: String) throws(TransportError) {
        if endpoint.hasPrefix("tcp://") {
            let rest = endpoint.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex else {
                throw .invalidEndpoint(endpoint, reason: "expected tcp://host:port")
            }
            let port = rest[rest.index(after: colon)...]
            guard port == "*" || (UInt16(port).map { $0 > 0 } ?? false) else {
                throw .invalidEndpoint(endpoint, reason: "port \"\(port)\" is not a number from 1 to 65535 (or * for any)")
            }
        } else if endpoint.hasPrefix("ipc://") {
            let path = endpoint.dropFirst(6)
            guard !path.isEmpty else { throw .invalidEndpoint(endpoint, reason: "expected ipc://path") }
            guard path.utf8.count <= maxIPCPath else {
                throw .invalidEndpoint(endpoint, reason: "ipc paths are limited to \(maxIPCPath) bytes on Linux (this one has \(path.utf8.count)); use a shorter directory")
            }
        } else if endpoint.hasPrefix("inproc://") {
            guard endpoint.count > 9 else { throw .invalidEndpoint(endpoint, reason: "expected inproc://name") }
        } else {
            throw .invalidEndpoint(endpoint, reason: "expected tcp://host:port, ipc://path or inproc://name")
        }
    }
}
