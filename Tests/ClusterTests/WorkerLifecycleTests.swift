import Foundation
import Testing
@testable import Cluster

/// No worker outlives its coordinator: an orderly SHUTDOWN ends `run()` normally; a coordinator
/// that falls silent (crashed, killed, network gone) ends it with `coordinatorLost` after the
/// heartbeat liveness.
@Suite(.serialized) struct WorkerLifecycleTests {
    func startWorker(_ endpoint: String, heartbeat: Duration) throws -> (Worker, DispatchSemaphore, LogLines, @Sendable () -> Error?) {
        var options = Worker.Options(endpoint: endpoint, name: "lifecycle")
        options.heartbeat = heartbeat
        let lines = LogLines()
        let worker = try Worker(options: options) { lines.append($0) }
        let finished = DispatchSemaphore(value: 0)
        let outcome = LockedBox<Error?>(nil)
        nonisolated(unsafe) let running = worker
        Thread {
            do { try running.run() } catch { outcome.set(error) }
            finished.signal()
        }.start()
        return (worker, finished, lines, { outcome.get() })
    }

    @Test func aSilentCoordinatorEndsTheWorker() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-life-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let coordinator = try Coordinator(binding: Endpoint.ipc(directory: directory, name: "c"), log: { _ in }, heartbeat: .milliseconds(200))
        let (_, finished, lines, outcome) = try startWorker(coordinator.endpoint, heartbeat: .milliseconds(200))
        try coordinator.waitForWorkers(1, timeout: .seconds(20))
        // The coordinator stops without a word: no SHUTDOWN, no more heartbeats.
        let silentSince = ContinuousClock.now
        coordinator.link.close()
        #expect(finished.wait(timeout: .now() + 10) == .success, "the worker is still running 10 s after its coordinator fell silent")
        let waited = ContinuousClock.now - silentSince
        #expect(waited < .seconds(5), "worker took \(waited) to notice")
        if case .coordinatorLost? = outcome() as? ClusterError {} else {
            Issue.record("expected coordinatorLost, got \(String(describing: outcome())); log: \(lines.all)")
        }
    }

    @Test func shutdownEndsTheWorkerNormally() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-life-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let coordinator = try Coordinator(binding: Endpoint.ipc(directory: directory, name: "c"), log: { _ in }, heartbeat: .milliseconds(200))
        let (_, finished, _, outcome) = try startWorker(coordinator.endpoint, heartbeat: .milliseconds(200))
        try coordinator.waitForWorkers(1, timeout: .seconds(20))
        coordinator.shutdown(reason: "test over")
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(outcome() == nil, "\(String(describing: outcome()))")
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func set(_ new: T) { lock.withLock { value = new } }
    func get() -> T { lock.withLock { value } }
}
