import ArgumentParser
import Cluster
import Editing
import Foundation
import Linalg

/// `--workers N` / `--listen ENDPOINT --min-workers K` / `--threads T`: where a job's stages run.
struct ClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run the job distributed over N local worker processes (spawned here, over ipc). The result is the same bytes as without.", valueName: "n"))
    var workers: Int?

    @Option(help: ArgumentHelp("Run the job distributed: wait for workers started elsewhere with `alphaedit worker --connect ENDPOINT` (e.g. tcp://0.0.0.0:5555).", valueName: "endpoint"))
    var listen: String?

    @Option(name: .customLong("min-workers"), help: ArgumentHelp("With --listen: workers to wait for before starting (default 1).", valueName: "k"))
    var minWorkers: Int?

    @Option(name: .customLong("worker-wait"), help: ArgumentHelp("Seconds to wait for the workers to register.", valueName: "s"))
    var workerWait: Int = 120

    @Option(name: .customLong("worker-memory"), help: ArgumentHelp("With --workers: the memory each local worker may use (6GiB, 512MiB…). Default: this host's available memory divided by N.", valueName: "size"))
    var workerMemory: String?

    @Option(help: ArgumentHelp("Hold these contiguous block ranges, one per worker in worker order (e.g. 0-7,8-15,16-23), instead of the plan made from the workers' memory (`alphaedit plan` shows both). A range that does not fit its worker is refused before any work.", valueName: "ranges"))
    var placement: String?

    @Option(help: ArgumentHelp("Seconds between heartbeats, both ways (sent from the links' own threads, so a long computation is never mistaken for death).", valueName: "s"))
    var heartbeat: Double = 1

    @Option(help: ArgumentHelp("Heartbeats a peer may miss before it is declared lost.", valueName: "n"))
    var liveness: Int = 3

    @Option(name: .customLong("job-dir"), help: ArgumentHelp("Where a distributed job writes job.json (its command and workers), plan.txt (memory model and placement) and timings.json (seconds per phase), and where `alphaedit edit` and `experiment` keep their journal (journal/, after each batch; `--resume` goes on from it). Default: <temporary directory>/alphaedit-job-<job id>, without a journal, removed when the job succeeds.", valueName: "dir"))
    var jobDir: String?

    @OptionGroup var curve: CurveOptions

    @Option(help: ArgumentHelp("BLAS and runtime threads per process (coordinator and local workers; default: all cores).", valueName: "t"))
    var threads: Int?

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if workers != nil && listen != nil { throw ValidationError("--workers and --listen exclude each other: --workers spawns local workers, --listen waits for workers started elsewhere") }
        if minWorkers != nil && listen == nil { throw ValidationError("--min-workers needs --listen") }
        if let minWorkers, minWorkers < 1 { throw ValidationError("--min-workers must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if workerWait < 1 { throw ValidationError("--worker-wait must be at least 1") }
        if let listen {
            do { try Endpoint.validate(listen) } catch { throw ValidationError("--listen \(listen): \(error)") }
        }
        if !(heartbeat >= 0.01 && heartbeat <= 3600) { throw ValidationError("--heartbeat must be between 0.01 and 3600 seconds") }
        if liveness < 1 { throw ValidationError("--liveness must be at least 1") }
        if workerMemory != nil && workers == nil { throw ValidationError("--worker-memory needs --workers (workers started elsewhere take --max-memory)") }
        if let workerMemory { _ = try ByteCount(parsing: workerMemory, flag: "--worker-memory") }
        if let placement {
            guard isDistributed else { throw ValidationError("--placement needs --workers or --listen") }
            do { _ = try PlacementOverride(parsing: placement) } catch { throw ValidationError("--placement \(placement): \(error)") }
        }
        if curve.key != nil && listen == nil { throw ValidationError("--key and --authorized-keys need --listen (local --workers talk over a private ipc directory)") }
    }

    var heartbeatDuration: Duration { .milliseconds(Int((heartbeat * 1000).rounded())) }

    var isDistributed: Bool { workers != nil || listen != nil }

    /// Sets the thread count, then runs `body` with this process's executor or, when distributed,
    /// a coordinator's (local workers spawned first and ended by pid after).
    func withExecutor<R>(modelDirectory: URL, hparamsFile: URL, quiet: Bool, _ body: (any EditExecutor) throws -> R) throws -> R {
        if let threads { Linalg.setThreadCount(threads) }
        guard isDistributed else { return try body(LocalExecutor()) }
        let clusterLog = ClusterLog(role: "coordinator", quiet: quiet)
        let log = clusterLog.line
        var local: LocalWorkers?
        let coordinator: Coordinator
        let count: Int
        if let workers {
            let memory = try workerMemory.map { try ByteCount(parsing: $0, flag: "--worker-memory").bytes } ?? HostMemory.available() / UInt64(workers)
            let directory = try LocalWorkers.makeDirectory()
            do {
                coordinator = try Coordinator(binding: Endpoint.ipc(directory: directory, name: "coordinator"), log: log,
                                              heartbeat: heartbeatDuration, liveness: liveness)
            } catch {
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
            local = try LocalWorkers(count: workers, executable: LocalWorkers.currentExecutable, endpoint: coordinator.endpoint,
                                     directory: directory, threads: threads, memory: memory,
                                     heartbeat: heartbeat, liveness: liveness)
            count = workers
        } else {
            coordinator = try Coordinator(binding: listen!, log: log, heartbeat: heartbeatDuration, liveness: liveness,
                                          security: try curve.security(), insecure: curve.insecure)
            count = minWorkers ?? 1
            log("listening at \(coordinator.endpoint); waiting for \(count) worker\(count == 1 ? "" : "s")")
        }
        // A temporary job directory of a job that finished is removed once the coordinator is
        // done with it (they piled up in /tmp); a failed job's stays for a look.
        var temporaryDirectory: URL?
        defer {
            coordinator.shutdown()
            local?.stop()
            if let temporaryDirectory { try? FileManager.default.removeItem(at: temporaryDirectory) }
        }
        clusterLog.set("job", String(coordinator.jobID.prefix(8)))
        let jobDirectory = try JobDirectory(url: jobDir.map { URL(fileURLWithPath: $0) } ?? JobDirectory.defaultURL(jobID: coordinator.jobID))
        coordinator.jobDirectory = jobDirectory
        if jobDir == nil {
            log("job \(coordinator.jobID): plan and timings in \(jobDirectory.url.path) (removed when the job succeeds; --job-dir keeps them)")
        } else {
            log("job \(coordinator.jobID): plan and timings in \(jobDirectory.url.path)")
        }
        try coordinator.waitForWorkers(count, timeout: .seconds(workerWait))
        let executor = try ClusterExecutor(coordinator: coordinator, modelDirectory: modelDirectory, hparamsFile: hparamsFile, log: log)
        executor.placementOverride = try placement.map { try PlacementOverride(parsing: $0) }
        let result = try body(executor)
        if jobDir == nil { temporaryDirectory = jobDirectory.url }
        return result
    }
}
