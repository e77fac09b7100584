import Foundation

/// Why a distributed job could not go on. Each case says which peer or flag is at fault.
public enum ClusterError: Error, CustomStringConvertible, Equatable {
    /// A message's content does not fit what it should carry.
    case badPayload(String)
    /// Fewer workers registered than the job needs within the wait.
    case notEnoughWorkers(have: Int, need: Int, seconds: Int, endpoint: String)
    /// A worker stopped answering (missed heartbeats) or disconnected.
    case workerLost(worker: String, reason: String)
    /// A worker reported that a piece of work failed.
    case workFailed(worker: String, reason: String)
    /// The coordinator stopped answering; the worker gives up.
    case coordinatorLost(endpoint: String, seconds: Double)
    /// The coordinator refused this worker's security handshake (not retried).
    case refused(endpoint: String, reason: String)
    /// A local worker process could not be started.
    case launchFailed(String)
    /// A flag's value cannot be used.
    case invalidOption(flag: String, reason: String)
    /// A worker could not reach a fellow worker (the coordinator decides whether it is lost).
    case peerUnreachable(worker: Int, endpoint: String, reason: String)

    public var description: String {
        switch self {
        case .badPayload(let reason): return "malformed cluster message: \(reason)"
        case .notEnoughWorkers(let have, let need, let seconds, let endpoint):
            return "only \(have) of \(need) workers registered at \(endpoint) within \(seconds) s; start more with `alphaedit worker --connect \(endpoint)` or lower --min-workers"
        case .workerLost(let worker, let reason): return "worker \(worker) was lost: \(reason); no worker is left to take over its work; start more workers and run the job again"
        case .workFailed(let worker, let reason): return "worker \(worker): \(reason)"
        case .coordinatorLost(let endpoint, let seconds):
            return "the coordinator at \(endpoint) has been silent for \(String(format: "%.1f", seconds)) s; exiting"
        case .refused(_, let reason): return reason
        case .launchFailed(let reason): return "could not start local workers: \(reason)"
        case .invalidOption(let flag, let reason): return "\(flag): \(reason)"
        case .peerUnreachable(let worker, let endpoint, let reason):
            return "worker \(worker) at \(endpoint): cannot reach it: \(reason)"
        }
    }
}
