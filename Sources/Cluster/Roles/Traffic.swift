import Foundation

/// What one end of a link sent and received, by message kind: messages, bytes on the wire
/// (envelopes and tensor frames) and the computation the senders reported for them.
public struct Traffic: Sendable, Equatable {
    public struct Tally: Sendable, Equatable {
        public var messages = 0
        public var bytes = 0
        /// Σ of the senders' `compute_seconds` (results only).
        public var computeSeconds = 0.0
    }

    public var sent: [String: Tally] = [:]
    public var received: [String: Tally] = [:]

    public init() {}

    /// Bytes sent plus received over `kinds`.
    public func bytes(_ kinds: [String]) -> Int {
        kinds.reduce(0) { $0 + (sent[$1]?.bytes ?? 0) + (received[$1]?.bytes ?? 0) }
    }

    /// The senders' computation reported on the received messages of `kinds`.
    public func computeSeconds(received kinds: [String]) -> Double {
        kinds.reduce(0) { $0 + (received[$1]?.computeSeconds ?? 0) }
    }

    /// `self − earlier`, kind by kind (the traffic of one phase).
    public func since(_ earlier: Traffic) -> Traffic {
        func minus(_ a: [String: Tally], _ b: [String: Tally]) -> [String: Tally] {
            a.reduce(into: [:]) { result, entry in
                let before = b[entry.key] ?? Tally()
                result[entry.key] = Tally(messages: entry.value.messages - before.messages, bytes: entry.value.bytes - before.bytes,
                                          computeSeconds: entry.value.computeSeconds - before.computeSeconds)
            }
        }
        var difference = Traffic()
        difference.sent = minus(sent, earlier.sent)
        difference.received = minus(received, earlier.received)
        return difference
    }
}

/// ``Traffic`` behind a lock: the link's I/O thread counts, any thread reads.
final class LockedTraffic: @unchecked Sendable {
    private let lock = NSLock()
    private var traffic = Traffic()

    var value: Traffic { lock.withLock { traffic } }

    func count(sent kind: String, bytes: Int, computeSeconds: Double, message: Bool) {
        lock.withLock {
            traffic.sent[kind, default: .init()].bytes += bytes
            traffic.sent[kind, default: .init()].computeSeconds += computeSeconds
            if message { traffic.sent[kind, default: .init()].messages += 1 }
        }
    }

    func count(received kind: String, bytes: Int, computeSeconds: Double, message: Bool) {
        lock.withLock {
            traffic.received[kind, default: .init()].bytes += bytes
            traffic.received[kind, default: .init()].computeSeconds += computeSeconds
            if message { traffic.received[kind, default: .init()].messages += 1 }
        }
    }
}
