import Foundation

/// What a coordinator's job is doing, for `alphaedit status`: updated by the coordinator's
/// thread, read by its link's I/O thread (which answers STATUS_REQUEST at once, even while the
/// coordinator computes).
final class JobStatus: @unchecked Sendable {
    private struct Worker {
        var index: Int, host: String, pid: Int, shard = "", pieces = 0, computeSeconds = 0.0, lastSeen = ContinuousClock.now
    }

    private let lock = NSLock()
    private let jobID: String
    private let started = ContinuousClock.now
    private var state = "waiting for workers"
    private var phase = "", phaseDone = 0, phaseTotal = 0, phaseStarted = ContinuousClock.now
    private var placement = ""
    private var workers: [Worker] = []
    /// Phases that ended, in order.
    private var history: [PhaseTiming] = []

    init(jobID: String) { self.jobID = jobID }

    func setState(_ state: String) { lock.withLock { self.state = state } }

    func admit(index: Int, host: String, pid: Int) {
        lock.withLock { workers.append(Worker(index: index, host: host, pid: pid)) }
    }

    /// A worker declared lost: its shard says so.
    func lose(index: Int) {
        lock.withLock { if workers.indices.contains(index) { workers[index].shard = "lost" } }
    }

    func setPlacement(_ placement: String, shards: [Int: String]) {
        lock.withLock {
            self.placement = placement
            for (index, shard) in shards where workers.indices.contains(index) { workers[index].shard = shard }
        }
    }

    /// Starts a phase of `total` pieces (0: unknown); the current one, if any, ends.
    func begin(_ phase: String, total: Int = 0) {
        lock.withLock {
            closePhase()
            self.phase = phase
            phaseDone = 0
            phaseTotal = total
            phaseStarted = .now
        }
    }

    func advance(by pieces: Int = 1) { lock.withLock { phaseDone += pieces } }

    /// Ends the current phase (at the end of the job).
    func end() { lock.withLock { closePhase() } }

    private func closePhase() {
        guard !phase.isEmpty else { return }
        history.append(PhaseTiming(phase: phase, seconds: Double((ContinuousClock.now - phaseStarted) / .milliseconds(1)) / 1000,
                                   done: phaseDone, total: phaseTotal))
        phase = ""
    }

    /// The ended phases and the job's seconds so far.
    func timings() -> (phases: [PhaseTiming], seconds: Double) {
        lock.withLock { (history, Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000) }
    }

    /// A result came back from worker `index`, `computeSeconds` of work on it.
    func piece(from index: Int, computeSeconds: Double) {
        lock.withLock {
            guard workers.indices.contains(index) else { return }
            workers[index].pieces += 1
            workers[index].computeSeconds += computeSeconds
            workers[index].lastSeen = .now
        }
    }

    func report() -> StatusReport {
        lock.withLock {
            let now = ContinuousClock.now
            func seconds(_ d: Duration) -> Double { Double(d / .milliseconds(1)) / 1000 }
            return StatusReport(jobID: jobID, state: state, phase: phase, phaseDone: UInt64(phaseDone), phaseTotal: UInt64(phaseTotal),
                                phaseSeconds: seconds(now - phaseStarted), jobSeconds: seconds(now - started), placement: placement,
                                workers: workers.map { w in
                                    WorkerStatus(index: UInt32(w.index), host: w.host, pid: UInt32(w.pid), shard: w.shard,
                                                 piecesDone: UInt64(w.pieces), computeSeconds: w.computeSeconds,
                                                 secondsSinceSeen: seconds(now - w.lastSeen))
                                })
        }
    }
}

/// One ended phase of a job, as `timings.json` lists it.
struct PhaseTiming: Codable, Sendable {
    var phase: String
    var seconds: Double
    var done: Int
    var total: Int
}
