import Foundation
import Testing
@testable import Cluster
@testable import Editing

/// A coordinator and N workers in this process (worker threads), over ipc, tcp loopback or the
/// in-process hub. Ends what it started: `stop()` shuts the workers down and waits for their
/// threads (bounded).
final class TestCluster: @unchecked Sendable {
    /// `tcp`: plain text (`insecure`); `tcpCurve`: CURVE on every socket, coordinator's and peers'.
    enum Link { case ipc, tcp, tcpCurve, inProcess }

    let coordinator: Coordinator
    let directory: URL
    let lines = LogLines()
    private var done: [DispatchSemaphore] = []
    private let hub: InProcessHub?
    private let network: InProcessNetwork?
    /// With `tcpCurve`: the coordinator's public key, and the workers' key pairs by name.
    private(set) var coordinatorKey: String?
    private(set) var workerKeys: [String: CurveKeyPair] = [:]
    private(set) var authorized: AuthorizedKeys?

    init(workers: Int, link: Link, heartbeat: Duration = .milliseconds(500), maxChunkBytes: Int? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lines = self.lines
        let log: @Sendable (String) -> Void = { lines.append($0) }
        switch link {
        case .ipc, .tcp, .tcpCurve:
            hub = nil
            network = nil
            let endpoint = link == .ipc ? Endpoint.ipc(directory: directory, name: "c") : "tcp://127.0.0.1:*"
            var security: ClusterSecurity?
            if link == .tcpCurve {
                let coordinatorPair = try CurveKeyPair.generate()
                for i in 0..<workers { workerKeys["w\(i)"] = try CurveKeyPair.generate() }
                authorized = AuthorizedKeys(keys: Dictionary(uniqueKeysWithValues: workerKeys.map { ($0.value.publicKey, $0.key) }), source: "test keys")
                security = ClusterSecurity(keys: coordinatorPair, authorized: authorized!)
                coordinatorKey = coordinatorPair.publicKey
            }
            coordinator = try Coordinator(binding: endpoint, log: log, heartbeat: heartbeat,
                                          maxChunkBytes: maxChunkBytes ?? MessageCodec.defaultMaxChunkBytes,
                                          security: security, insecure: link == .tcp)
        case .inProcess:
            let hub = InProcessHub()
            self.hub = hub
            network = InProcessNetwork(coordinator: hub)
            coordinator = Coordinator(router: hub.makeRouter(), endpoint: "inproc://test", log: log, heartbeat: heartbeat,
                                      maxChunkBytes: maxChunkBytes ?? MessageCodec.defaultMaxChunkBytes)
        }
        for i in 0..<workers { try startWorker(name: "w\(i)", heartbeat: heartbeat, maxChunkBytes: maxChunkBytes) }
        try coordinator.waitForWorkers(workers, timeout: .seconds(30))
    }

    func startWorker(name: String, heartbeat: Duration, maxChunkBytes: Int? = nil) throws {
        var options = Worker.Options(endpoint: coordinator.endpoint, name: name)
        options.heartbeat = heartbeat
        if let maxChunkBytes { options.maxChunkBytes = maxChunkBytes }
        if let pair = workerKeys[name], let authorized {
            options.security = ClusterSecurity(keys: pair, authorized: authorized, coordinatorKey: coordinatorKey)
        } else {
            options.insecure = true
        }
        let lines = self.lines
        let worker: Worker
        if let hub {
            worker = Worker(options: options, log: { lines.append("[\(name)] \($0)") }, network: network!)
        } else {
            worker = try Worker(options: options) { lines.append("[\(name)] \($0)") }
        }
        let finished = DispatchSemaphore(value: 0)
        done.append(finished)
        nonisolated(unsafe) let running = worker
        let thread = Thread {
            do { try running.run() } catch { lines.append("[\(name)] stopped: \(error)") }
            finished.signal()
        }
        thread.start()
    }

    func executor(_ oracle: ClusterOracle) throws -> ClusterExecutor {
        try ClusterExecutor(coordinator: coordinator, modelDirectory: oracle.modelDirectory, hparamsFile: oracle.hparamsURL) { [lines] in lines.append($0) }
    }

    func stop() {
        coordinator.shutdown()
        for finished in done { _ = finished.wait(timeout: .now() + 10) }
        try? FileManager.default.removeItem(at: directory)
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    /// A copy made under the lock into a buffer of its own (not a copy-on-write share of the
    /// one `append` writes, which ThreadSanitizer reports as a race with the next append).
    var all: [String] { lock.withLock { lines.map { $0 } } }
}

/// An official-code oracle fixture: its model, hparams, corpus, requests and templates.
struct ClusterOracle {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures", isDirectory: true)
    let directory: URL
    init(_ name: String) { directory = Self.root.appendingPathComponent(name, isDirectory: true) }
    var modelDirectory: URL { directory.appendingPathComponent("model", isDirectory: true) }
    var hparamsURL: URL { directory.appendingPathComponent("hparams.json") }
    var corpus: URL { directory.appendingPathComponent("stats_corpus.txt") }

    /// The oracle's requests as a requests file, and a copy of hparams with fewer statistics samples.
    func inputs(in work: URL, requests: Range<Int>, samples: Int) throws -> (requests: URL, hparams: URL) {
        let oracle = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("oracle.json"))) as! [String: Any]
        let all = oracle["requests"] as! [Any]
        guard requests.upperBound <= all.count else { throw CocoaError(.fileReadCorruptFile) }
        let requestsURL = work.appendingPathComponent("requests.json")
        try JSONSerialization.data(withJSONObject: Array(all[requests])).write(to: requestsURL)
        var hparams = try JSONSerialization.jsonObject(with: Data(contentsOf: hparamsURL)) as! [String: Any]
        hparams["mom2_n_samples"] = samples
        let hparamsCopy = work.appendingPathComponent("hparams.json")
        try JSONSerialization.data(withJSONObject: hparams, options: [.sortedKeys]).write(to: hparamsCopy)
        return (requestsURL, hparamsCopy)
    }
}

/// Every file under `a` and `b`, relative path → bytes.
func treeContents(_ root: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let base = root.standardizedFileURL.path
    guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
    for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        let path = url.standardizedFileURL.path
        result[String(path.dropFirst(base.count))] = try Data(contentsOf: url)
    }
    return result
}

/// Expects the two trees to hold the same files with the same bytes.
func expectSameTree(_ a: URL, _ b: URL, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let left = try treeContents(a), right = try treeContents(b)
    #expect(left.keys.sorted() == right.keys.sorted(), "\(label): different files", sourceLocation: sourceLocation)
    for (path, bytes) in left where right[path] != nil {
        #expect(bytes == right[path], "\(label): \(path) differs", sourceLocation: sourceLocation)
    }
}
