import Foundation
import Testing

/// A worker killed (SIGKILL, as `kill -9`) during the statistics, the target optimisation or the
/// solves, or stopped (SIGSTOP) past the heartbeat timeout and then continued, is declared lost;
/// its work is redone on the survivors and the job writes the single-process bytes. Faults are
/// armed deterministically with `ALPHAEDIT_FAULT=<point>@<worker>#<hit>[:stop]`.
@Suite(.serialized) struct WorkerLossTests {
    let distributed = DistributedCommandTests()
    let fast = ["--heartbeat", "0.2", "--liveness", "3", "--threads", "1"]

    @Test func aWorkerKilledDuringStatisticsIsReplaced() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        func stats(_ name: String, _ extra: [String], fault: String? = nil) throws -> CLIRunner.Result {
            try chunkedStats(work, name, extra, fault: fault)
        }
        let single = try stats("single", [])
        #expect(single.status == 0, "\(single.stderr)")
        // Worker 1 computes chunks 1 and 4 of 6; it dies at its second.
        let faulty = try stats("lost", ["--workers", "3"] + fast, fault: "worker.statistics@1#2")
        #expect(faulty.status == 0 && faulty.stderr.contains("declared lost"), "\(faulty.stderr)")
        try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("lost"), "stats, worker 1 killed")
        // Layer-sharded (20 MiB each): worker 0 embeds every chunk and runs the first stage; a
        // later stage is killed while the activations of a chunk pass through it. The survivors
        // are planned again and the pass goes on from its last checkpoint.
        for (name, fault) in [("sharded-first", "worker.statistics@0#2"), ("sharded-later", "worker.stage-statistics@1#3")] {
            let run = try stats(name, ["--workers", "3", "--worker-memory", "20MiB"] + fast, fault: fault)
            #expect(run.status == 0 && run.stderr.contains("declared lost") && run.stderr.contains("layer-sharded"), "\(name): \(run.stderr)")
            try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent(name), "stats, \(fault)")
        }
    }

    /// Layer-sharded statistics are flow-controlled: the first stage sends at most a window of
    /// passes (one per stage) that the last stage has not acknowledged. With the second stage
    /// stopped (SIGSTOP, well within the liveness) the first waits instead of piling every pass
    /// of the corpus into the next stage's inbox; continued, the pass ends with the
    /// single-process bytes. The workers are started by hand (not `--quiet`) so that the first
    /// stage's log can be read.
    @Test func aStalledStageHoldsBackTheFirstStage() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try chunkedStats(work, "single", [])
        #expect(single.status == 0, "\(single.stderr)")
        let endpoint = "ipc://\(work.path)/coordinator"
        var workers: [Process] = []
        defer {
            for process in workers where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for process in workers { process.waitUntilExit() }
        }
        for i in 0..<3 {
            let process = Process()
            process.executableURL = CLIRunner.executable
            process.arguments = ["worker", "--connect", endpoint, "--name", "stage-\(i)", "--threads", "1", "--max-memory", "20MiB",
                                 "--heartbeat", "1", "--liveness", "10", "--registration-wait", "120"]
            process.environment = ProcessInfo.processInfo.environment.merging(["ALPHAEDIT_FAULT": "worker.stage-statistics@1#1:stop"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            let log = work.appendingPathComponent("worker-\(i).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            workers.append(process)
        }
        // Continues the stopped worker 2 s after it stopped.
        let pids = workers.map(\.processIdentifier)
        continueFirstStopped { pids }
        let run = try chunkedStats(work, "stalled", ["--listen", endpoint, "--min-workers", "3", "--worker-wait", "60",
                                                     "--heartbeat", "1", "--liveness", "10"])
        #expect(run.status == 0 && run.stderr.contains("layer-sharded over 3 workers"), "\(run.stderr)")
        #expect(!run.stderr.contains("declared lost"), "\(run.stderr)")
        try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("stalled"), "stats, stage 1 stalled")
        let logs = try (0..<3).map { try String(contentsOf: work.appendingPathComponent("worker-\($0).log"), encoding: .utf8) }.joined()
        #expect(logs.contains("statistics pipeline: at most 3 passes in flight (window 3)"), "\(logs)")
    }

    @Test func aWorkerKilledDuringTargetsOrSolvesIsReplaced() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try CLIRunner.run(try distributed.editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        // One request a batch: its targets go to worker 2 (the last of three ranges); batch 2's
        // solve of layer position 0 to worker 0. Layer-sharded over 3 (20 MiB each): worker 1
        // holds block 2 and solves layer 2; the survivors are planned again as 2 stages.
        for (name, fault, extra) in [("targets", "worker.targets@2#2", []), ("solve", "worker.solve@0#2", []),
                                     ("sharded", "worker.solve@1#2", ["--worker-memory", "20MiB"]),
                                     ("sampling", "worker.generate@1#3", ["--worker-memory", "20MiB"]),
                                     ("scoring", "worker.forward@1#1", ["--worker-memory", "20MiB"])] {
            let run = try CLIRunner.run(try distributed.editArguments(work, name).filter { $0 != "-q" } + ["--workers", "3"] + fast + extra,
                                        timeout: .seconds(300), environment: ["ALPHAEDIT_FAULT": fault])
            // Template sampling runs before any batch: the pass itself is run again.
            let redone = name == "sampling" || name == "scoring" ? "running the pass again" : "redoing batch"
            #expect(run.status == 0 && run.stderr.contains("declared lost") && run.stderr.contains(redone), "\(name): \(run.stderr)")
            if name == "sharded" || name == "sampling" || name == "scoring" { #expect(run.stderr.contains("plan: layer-sharded over 2 workers"), "\(run.stderr)") }
            try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent(name), "edit, \(fault)")
        }
    }

    /// Worker 2 stops itself at its first targets; once the coordinator has declared it lost, the
    /// test continues it: what it then sends is of the old epoch and refused, and it is told to
    /// shut down.
    @Test func aStoppedWorkerIsDeclaredLostAndItsLateResultsAreRefused() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try CLIRunner.run(try distributed.editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        let job = work.appendingPathComponent("job")
        // Continues the stopped worker 2 s after it stopped (the timeout is 0.6 s).
        continueFirstStopped { workerPIDs(of: job) }
        let run = try CLIRunner.run(try distributed.editArguments(work, "stopped").filter { $0 != "-q" } + ["--workers", "3", "--job-dir", job.path] + fast,
                                    timeout: .seconds(300), environment: ["ALPHAEDIT_FAULT": "worker.targets@2#1:stop"])
        #expect(run.status == 0 && run.stderr.contains("declared lost"), "\(run.stderr)")
        try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("stopped"), "edit, worker 2 stopped")
    }
}

/// The coordinator killed (SIGKILL) during the statistics or during an edit batch, and started
/// again with the same command: the statistics go on from their last checkpoint, the edits from
/// the journal's last finished batch, and the output is the uninterrupted run's bytes. Killing
/// it while it writes the output leaves nothing under the output's name.
@Suite(.serialized) struct CoordinatorRestartTests {
    let distributed = DistributedCommandTests()
    let fast = ["--heartbeat", "0.2", "--liveness", "3", "--threads", "1"]

    /// Ends the workers a killed coordinator left (they would exit on their own once they miss
    /// its heartbeats), by the pids its job directory records.
    func endWorkers(of job: URL) {
        for pid in workerPIDs(of: job) { kill(pid, SIGKILL) }
    }

    @Test func aCoordinatorKilledDuringStatisticsGoesOnFromItsCheckpoint() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        func stats(_ name: String, _ extra: [String], fault: String? = nil) throws -> CLIRunner.Result {
            try chunkedStats(work, name, extra + ["--checkpoint-every", "100"], fault: fault)
        }
        let single = try stats("single", [])
        #expect(single.status == 0, "\(single.stderr)")
        let job = work.appendingPathComponent("job")
        let killed = try stats("restarted", ["--workers", "2", "--job-dir", job.path] + fast, fault: "statistics.checkpointed#2")
        endWorkers(of: job)
        #expect(killed.status == 9 || killed.status == -9 || killed.status == 137, "the coordinator was not killed: \(killed.status) \(killed.stderr)")
        let again = try stats("restarted", ["--workers", "2", "--job-dir", job.path] + fast)
        #expect(again.status == 0 && again.stderr.contains("resum"), "\(again.stderr)")
        try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("restarted"), "stats, coordinator restarted")
    }

    @Test func aCoordinatorKilledDuringABatchGoesOnFromItsJournal() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try CLIRunner.run(try distributed.editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        let job = work.appendingPathComponent("job")
        let arguments = try distributed.editArguments(work, "restarted") + ["--workers", "2", "--job-dir", job.path] + fast
        // Two layers a batch: the third solve is batch 2's first, after batch 1 was recorded.
        let killed = try CLIRunner.run(arguments, timeout: .seconds(300), environment: ["ALPHAEDIT_FAULT": "coordinator.solve#3"])
        endWorkers(of: job)
        #expect(killed.status != 0, "the coordinator was not killed: \(killed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("restarted/out").path), "an output appeared")
        let again = try CLIRunner.run(arguments.filter { $0 != "-q" } + ["--resume"], timeout: .seconds(300))
        #expect(again.status == 0 && again.stderr.contains("resuming from") && again.stderr.contains("after 1 batches"), "\(again.stderr)")
        try distributed.expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("restarted"), "edit, coordinator restarted")
    }

    @Test func aCoordinatorKilledWhileWritingLeavesNoPartialOutput() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let job = work.appendingPathComponent("job")
        let killed = try CLIRunner.run(try distributed.editArguments(work, "out") + ["--workers", "2", "--job-dir", job.path] + fast,
                                       timeout: .seconds(300), environment: ["ALPHAEDIT_FAULT": "output.writing"])
        endWorkers(of: job)
        #expect(killed.status != 0)
        let out = work.appendingPathComponent("out")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(!names.contains("out"), "a partial output under the output's name: \(names)")
    }
}

/// The fixture's statistics pass over 300 samples in chunks of 50 (6 chunks), into `work/<name>`.
func chunkedStats(_ work: URL, _ name: String, _ extra: [String], fault: String? = nil) throws -> CLIRunner.Result {
    try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", try CLIFixture.hparams(samples: 300, in: work),
                       "--corpus", CLIFixture.corpus, "--chunk-samples", "50", "--stats-dir", work.appendingPathComponent(name).path] + extra,
                      timeout: .seconds(300), environment: fault.map { ["ALPHAEDIT_FAULT": $0] } ?? [:])
}

/// The worker pids a job directory's job.json records.
func workerPIDs(of job: URL) -> [pid_t] {
    guard let data = try? Data(contentsOf: job.appendingPathComponent("job.json")),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let workers = object["workers"] as? [[String: Any]] else { return [] }
    return workers.compactMap { ($0["pid"] as? Int).map { pid_t($0) } }
}

/// On a thread of its own: waits (up to 240 s) for one of `pids()` to be stopped (SIGSTOP, state
/// "T" in /proc), and continues it 2 s later.
func continueFirstStopped(_ pids: @escaping @Sendable () -> [pid_t]) {
    Thread {
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            for pid in pids() {
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let state = stat.split(separator: ")").last?.split(separator: " ").first, state == "T" else { continue }
                Thread.sleep(forTimeInterval: 2)
                kill(pid, SIGCONT)
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }.start()
}
