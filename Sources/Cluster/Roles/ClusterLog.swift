import Foundation
import Logging

/// The distributed mode's log: a swift-log `Logger` whose metadata carries the role, the job id
/// and the worker's name and index, written to standard error one line per message:
///
///     [coordinator job=6f3a2c1e] worker 1 (node-2, pid 4121) registered: 32 cores, …
///     [worker node-2 job=6f3a2c1e index=1] shutting down: the job is done
///
/// The coordinator and worker take a plain `(String) -> Void`; ``line`` is that closure. The
/// logger is built with its own handler (no global `LoggingSystem.bootstrap`), so tests and
/// several roles in one process do not interfere.
public final class ClusterLog: @unchecked Sendable {
    private let lock = NSLock()
    private var logger: Logger

    /// - Parameters:
    ///   - role: "coordinator" or "worker".
    ///   - name: the worker's name, if any.
    ///   - quiet: drop everything below warning.
    public init(role: String, name: String? = nil, quiet: Bool = false) {
        logger = Logger(label: "alphaedit.\(role)") { _ in StandardErrorHandler(role: role) }
        logger.logLevel = quiet ? .warning : .info
        if let name { logger[metadataKey: "name"] = .string(name) }
    }

    /// Sets a metadata field shown on every following line (e.g. "job", "index").
    public func set(_ key: String, _ value: String) {
        lock.withLock { logger[metadataKey: key] = .string(value) }
    }

    public func info(_ message: String) {
        let logger = lock.withLock { self.logger }
        logger.info("\(message)")
    }

    /// The closure the coordinator and worker log through.
    public var line: @Sendable (String) -> Void { { [self] in self.info($0) } }
}

/// Renders `[role name job=… index=…] message` to standard error (metadata in a fixed order).
struct StandardErrorHandler: LogHandler {
    let role: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        var fields = [role]
        if let name = all["name"] { fields.append("\(name)") }
        for key in ["job", "index"] { if let value = all[key] { fields.append("\(key)=\(value)") } }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) where !["name", "job", "index"].contains(key) {
            fields.append("\(key)=\(value)")
        }
        let prefix = level >= .warning ? "\(level): " : ""
        FileHandle.standardError.write(Data("[\(fields.joined(separator: " "))] \(prefix)\(message)\n".utf8))
    }
}
