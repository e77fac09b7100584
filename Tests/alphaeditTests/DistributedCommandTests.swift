import Foundation
import Testing

/// The distributed mode from the command line: `--workers N` spawns local workers; `--listen`
/// waits for `alphaedit worker --connect` processes. Same bytes as one process.
@Suite(.serialized) struct DistributedCommandTests {
    /// Every file under `root`, relative path → bytes.
    func tree(_ root: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let base = root.standardizedFileURL.path
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)! {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[String(url.standardizedFileURL.path.dropFirst(base.count))] = try Data(contentsOf: url)
            }
        }
        return result
    }

    func expectSame(_ a: URL, _ b: URL, _ label: String) throws {
        let left = try tree(a), right = try tree(b)
        #expect(!left.isEmpty && left.keys.sorted() == right.keys.sorted(), "\(label): \(left.keys.sorted()) vs \(right.keys.sorted())")
        for (path, bytes) in left { #expect(right[path] == bytes, "\(label): \(path) differs") }
    }

    /// The README's edit example on the test model (its request and one more), 300 statistics samples.
    func editArguments(_ work: URL, _ name: String) throws -> [String] {
        let requests = work.appendingPathComponent("requests.json")
        try Data(#"[{"case_id": 0, "prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": {"str": "Sony"}}, {"case_id": 1, "prompt": "{} plays the", "subject": "Liora Fairbanks", "target_new": {"str": "drums"}}]"#.utf8).write(to: requests)
        return ["edit", "--model", CLIFixture.model, "--config", try CLIFixture.hparams(samples: 300, in: work),
                "--requests", requests.path, "--corpus", CLIFixture.corpus, "--batch-size", "1",
                "--stats-dir", work.appendingPathComponent("\(name)/stats").path,
                "--output-dir", work.appendingPathComponent("\(name)/out").path, "-q"]
    }

    @Test func editWithTwoLocalWorkersGivesTheSingleProcessBytes() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try CLIRunner.run(try editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        let distributed = try CLIRunner.run(try editArguments(work, "two") + ["--workers", "2", "--threads", "1"], timeout: .seconds(300))
        #expect(distributed.status == 0, "\(distributed.stderr)")
        try expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("two"), "edit --workers 2")
    }

    /// Layer-sharded placement, forced by the workers' memory: 2 and 3 stages (GPT-2, AlphaEdit,
    /// templates sampled through the pipeline), and 2 stages of a Llama model (rotary positions,
    /// gated MLP, untied head) with MEMIT, each against one process.
    @Test func layerShardedEditsGiveTheSingleProcessBytes() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let single = try CLIRunner.run(try editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        for (name, workers, stages) in [("sharded2", "2", "0-1,2-3"), ("sharded3", "3", "0-1,2,3")] {
            let job = work.appendingPathComponent("job-\(name)")
            let run = try CLIRunner.run(try editArguments(work, name) + ["--workers", workers, "--threads", "1", "--worker-memory", "20MiB",
                                                                        "--job-dir", job.path], timeout: .seconds(300))
            #expect(run.status == 0, "\(run.stderr)")
            let plan = (try? String(contentsOf: job.appendingPathComponent("plan.txt"), encoding: .utf8)) ?? ""
            let ranges = plan.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.split(separator: " ").first.map { Int($0) != nil } == true }
                .map { String($0.split(separator: " ")[1]) }
            #expect(plan.contains("plan: layer-sharded over \(workers) workers") && ranges.joined(separator: ",") == stages, "\(plan)")
            try expectSame(work.appendingPathComponent("single"), work.appendingPathComponent(name), "edit, layer-sharded over \(workers)")
        }

        // Ten requests in one batch: several groups of target optimisations (at most 8 requests
        // and 512 prompt tokens each), two at a time in flight in the pipeline.
        let ten = work.appendingPathComponent("ten.json")
        let subjects = ["Talia Fairbanks", "Liora Fairbanks", "Marcus Webb", "Elena Voss", "Dmitri Alder", "Sana Okafor",
                        "Jonas Pike", "Mira Castell", "Tobias Reyne", "Ines Mallory"]
        let targets = ["Sony", "drums", "Google", "violin", "Nokia", "guitar", "IBM", "piano", "Intel", "cello"]
        let records = subjects.indices.map { i in
            #"{"case_id": \#(i), "prompt": "{} \#(i % 2 == 0 ? "works for" : "plays the")", "subject": "\#(subjects[i])", "target_new": {"str": "\#(targets[i])"}}"#
        }
        try Data(("[" + records.joined(separator: ", ") + "]").utf8).write(to: ten)
        func tenEdit(_ name: String) throws -> [String] {
            var arguments = try editArguments(work, name)
            arguments[arguments.firstIndex(of: "--requests")! + 1] = ten.path
            arguments[arguments.firstIndex(of: "--batch-size")! + 1] = "10"
            return arguments
        }
        let tenSingle = try CLIRunner.run(try tenEdit("ten-single"))
        #expect(tenSingle.status == 0, "\(tenSingle.stderr)")
        let tenSharded = try CLIRunner.run(try tenEdit("ten-sharded") + ["--workers", "2", "--threads", "1", "--worker-memory", "20MiB"],
                                           timeout: .seconds(300))
        #expect(tenSharded.status == 0, "\(tenSharded.stderr)")
        try expectSame(work.appendingPathComponent("ten-single"), work.appendingPathComponent("ten-sharded"), "edit of 10 requests, layer-sharded over 2")

        let llama = CLIRunner.fixture("alphaedit-oracle-llama")
        var hparams = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: llama + "/hparams.json"))) as! [String: Any]
        hparams["mom2_n_samples"] = 200
        let hparamsFile = work.appendingPathComponent("llama-hparams.json")
        try JSONSerialization.data(withJSONObject: hparams, options: [.sortedKeys]).write(to: hparamsFile)
        let requests = work.appendingPathComponent("llama-requests.json")
        try Data(#"[{"case_id": 0, "prompt": "The capital of {} is", "subject": "Norvania", "target_new": {"str": "Paris"}}, {"case_id": 1, "prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": {"str": "Sony"}}]"#.utf8).write(to: requests)
        func llamaEdit(_ name: String) -> [String] {
            ["edit", "--model", llama + "/model", "--config", hparamsFile.path, "--algorithm", "memit", "--requests", requests.path,
             "--corpus", llama + "/stats_corpus.txt", "--stats-dir", work.appendingPathComponent("\(name)/stats").path,
             "--output-dir", work.appendingPathComponent("\(name)/out").path, "-q"]
        }
        let llamaSingle = try CLIRunner.run(llamaEdit("llama-single"))
        #expect(llamaSingle.status == 0, "\(llamaSingle.stderr)")
        let llamaSharded = try CLIRunner.run(llamaEdit("llama-sharded") + ["--workers", "2", "--threads", "1", "--worker-memory", "14MiB"],
                                             timeout: .seconds(300))
        #expect(llamaSharded.status == 0, "\(llamaSharded.stderr)")
        try expectSame(work.appendingPathComponent("llama-single"), work.appendingPathComponent("llama-sharded"), "Llama MEMIT, layer-sharded over 2")
    }

    @Test func statsAndProjectWithWorkersGiveTheSingleProcessBytes() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 400, in: work)
        // The jobs' default job directories go under a temporary directory of this test's own.
        let tmp = work.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        for (name, extra) in [("single", [String]()), ("three", ["--workers", "3"])] {
            let stats = work.appendingPathComponent(name).path
            let common = ["--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus, "--stats-dir", stats, "-q"]
            let s = try CLIRunner.run(["stats"] + common + ["--chunk-samples", "100"] + extra, timeout: .seconds(300),
                                      environment: ["TMPDIR": tmp.path])
            #expect(s.status == 0, "\(name) stats: \(s.stderr)")
            let p = try CLIRunner.run(["project"] + common + extra, timeout: .seconds(300), environment: ["TMPDIR": tmp.path])
            #expect(p.status == 0, "\(name) project: \(p.stderr)")
        }
        try expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("three"), "stats/project --workers 3")
        // Jobs that succeeded leave no default job directory behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("alphaedit-job-") }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    /// A free loopback port (bound and released; the coordinator binds it right after).
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Over tcp with CURVE: two workers with authorised keys give the single-process bytes, while
    /// a worker with an unknown key and one without keys (plain text) try to join the whole time:
    /// neither registers (the coordinator never sees a REGISTER from them) and the job is unaffected.
    @Test func listenWithCurveWorkersOverTCPGivesTheSingleProcessBytesAndKeepsStrangersOut() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let keys = work.appendingPathComponent("keys").path
        let made = try CLIRunner.run(["keys", "generate", "coordinator", "stranger", "--directory", keys])
        #expect(made.status == 0, "\(made.stderr)")
        let authorized = keys + "/authorized_keys"
        let workersMade = try CLIRunner.run(["keys", "generate", "worker-0", "worker-1", "--directory", keys, "--authorize", authorized])
        #expect(workersMade.status == 0, "\(workersMade.stderr)")
        let single = try CLIRunner.run(try editArguments(work, "single"))
        #expect(single.status == 0, "\(single.stderr)")
        let endpoint = "tcp://127.0.0.1:\(try freePort())"
        var workers: [Process] = [], strangers: [Process] = []
        defer {
            for process in workers + strangers where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for process in workers + strangers { process.waitUntilExit() }
        }
        func start(_ arguments: [String], log: String? = nil) throws -> Process {
            let process = Process()
            process.executableURL = CLIRunner.executable
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            if let log {
                FileManager.default.createFile(atPath: work.appendingPathComponent(log).path, contents: nil)
                process.standardError = try FileHandle(forWritingTo: work.appendingPathComponent(log))
            } else {
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
            return process
        }
        // The strangers first, so they are knocking before the real workers arrive.
        strangers.append(try start(["worker", "--connect", endpoint, "--name", "unknown-key", "--key", keys + "/stranger.key",
                                    "--coordinator-key", keys + "/coordinator.pub", "--authorized-keys", authorized,
                                    "--registration-wait", "120"], log: "unknown-key.log"))
        strangers.append(try start(["worker", "--connect", endpoint, "--name", "plain-text", "--insecure",
                                    "--registration-wait", "120"], log: "plain-text.log"))
        for i in 0..<2 {
            workers.append(try start(["worker", "--connect", endpoint, "--name", "external-\(i)", "--threads", "1",
                                      "--key", keys + "/worker-\(i).key", "--coordinator-key", keys + "/coordinator.pub",
                                      "--authorized-keys", authorized, "--quiet"]))
        }
        let listened = try CLIRunner.run(try editArguments(work, "listen").filter { $0 != "-q" }
                                         + ["--listen", endpoint, "--min-workers", "2", "--worker-wait", "60",
                                            "--key", keys + "/coordinator.key", "--authorized-keys", authorized],
                                         timeout: .seconds(300))
        #expect(listened.status == 0, "\(listened.stderr)")
        try expectSame(work.appendingPathComponent("single"), work.appendingPathComponent("listen"), "edit --listen with 2 CURVE workers")
        #expect(listened.stderr.contains("refused a connection"), "\(listened.stderr)")
        // Exactly the two real workers registered (a stranger's REGISTER would log a line too).
        #expect(listened.stderr.components(separatedBy: ") registered").count - 1 == 2, "\(listened.stderr)")
        // The coordinator's SHUTDOWN ends the workers; the strangers learn from the failed
        // handshake that they were refused, and exit with an error saying what to do.
        let deadline = Date().addingTimeInterval(20)
        while (workers + strangers).contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(workers.allSatisfy { !$0.isRunning && $0.terminationStatus == 0 })
        #expect(strangers.allSatisfy { !$0.isRunning && $0.terminationStatus != 0 })
        let refusedKey = try String(contentsOf: work.appendingPathComponent("unknown-key.log"), encoding: .utf8)
        #expect(refusedKey.contains("refused this process's CURVE key (ZAP status 400)") && refusedKey.contains("authorised-keys"), "\(refusedKey)")
        let plainText = try String(contentsOf: work.appendingPathComponent("plain-text.log"), encoding: .utf8)
        #expect(plainText.contains("security handshake with \(endpoint) failed"), "\(plainText)")
    }

    @Test func tcpWithoutKeysIsRefusedUnlessInsecure() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let endpoint = "tcp://127.0.0.1:\(try freePort())"
        let coordinator = try CLIRunner.run(try editArguments(work, "plain") + ["--listen", endpoint, "--worker-wait", "1"])
        #expect(coordinator.status != 0 && coordinator.stderr.contains("tcp endpoint and the coordinator has no CURVE keys")
                && coordinator.stderr.contains("--insecure"), "\(coordinator.stderr)")
        let worker = try CLIRunner.run(["worker", "--connect", endpoint, "--registration-wait", "1"])
        #expect(worker.status != 0 && worker.stderr.contains("the worker has no CURVE keys"), "\(worker.stderr)")
        let half = try CLIRunner.run(["worker", "--connect", endpoint, "--key", work.path + "/missing.key"])
        #expect(half.status != 0 && half.stderr.contains("--key and --authorized-keys go together"), "\(half.stderr)")
        let missing = try CLIRunner.run(["worker", "--connect", endpoint, "--key", work.path + "/missing.key", "--authorized-keys", work.path + "/a",
                                         "--coordinator-key", "x"])
        #expect(missing.status != 0 && missing.stderr.contains("missing.key: cannot read it"), "\(missing.stderr)")
    }

    /// `alphaedit experiment --workers 2` (the oracle's tiny GPT-2 on CounterFact records, with
    /// statistics and projectors computed in the run): the same metrics as one process (the
    /// report's timings differ by nature; no metric may).
    @Test func experimentWithTwoWorkersGivesTheSingleProcessMetrics() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        var outputs: [String] = []
        for (name, extra) in [("single", [String]()), ("two", ["--workers", "2", "--threads", "1"])] {
            let run = try CLIRunner.run(["experiment", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                         "--dataset", "counterfact",
                                         "--data", CLIRunner.repositoryRoot.appendingPathComponent("Data/counterfact-preknown-1093.json").path,
                                         "--records", "0:3", "--batch-size", "2", "--eval-every", "2", "--algorithms", "alphaedit", "--no-generation",
                                         "--stats-dir", work.appendingPathComponent("\(name)-stats").path,
                                         "--output-dir", work.appendingPathComponent(name).path, "--json", "-q"] + extra,
                                        timeout: .seconds(600))
            #expect(run.status == 0, "\(name): \(run.stderr)")
            outputs.append(run.stdout)
        }
        #expect(!outputs[0].isEmpty && outputs[0] == outputs[1], "metrics differ:\n\(outputs[0])\n\(outputs[1])")
    }

    /// The coordinator plans the placement from the workers' memory before any work: a budget
    /// that forces layer sharding stops the job with the plan (not runnable yet); one that cannot
    /// fit says what is missing; enough memory gives a replicated plan, printed.
    @Test func workerMemoryDecidesThePlacementBeforeAnyWork() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        func stats(_ memory: String) throws -> CLIRunner.Result {
            try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                               "--stats-dir", work.appendingPathComponent(memory).path, "--workers", "2", "--threads", "1",
                               "--worker-memory", memory, "--job-dir", work.appendingPathComponent("job-\(memory)").path],
                              timeout: .seconds(120))
        }
        let tooSmall = try stats("5MiB")
        #expect(tooSmall.status != 0 && tooSmall.stderr.contains("no placement of the 4-block model fits"), "\(tooSmall.stderr)")
        let written = FileManager.default.enumerator(atPath: work.appendingPathComponent("5MiB").path)?.allObjects
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".safetensors") } ?? []
        #expect(written.isEmpty, "statistics written before the plan was refused: \(written)")
        let enough = try stats("200MiB")
        #expect(enough.status == 0 && enough.stderr.contains("plan: replicated over 2 workers"), "\(enough.stderr)")
        // Less memory: the layers are sharded, statistics flow through the pipeline, same bytes.
        let sharded = try stats("20MiB")
        #expect(sharded.status == 0 && sharded.stderr.contains("plan: layer-sharded over 2 workers"), "\(sharded.stderr)")
        try expectSame(work.appendingPathComponent("200MiB"), work.appendingPathComponent("20MiB"), "stats, layer-sharded")
        // Log lines carry the role and the job id (swift-log metadata).
        let job8 = enough.stderr.components(separatedBy: "[coordinator job=").dropFirst().first?.prefix(8) ?? ""
        #expect(job8.count == 8 && enough.stderr.contains("job \(job8)"), "\(enough.stderr)")
        // The job directory: the plan, the job and its workers, seconds per phase.
        let job = work.appendingPathComponent("job-200MiB")
        let plan = try String(contentsOf: job.appendingPathComponent("plan.txt"), encoding: .utf8)
        #expect(plan.contains("memory model (4 blocks") && plan.contains("plan: replicated over 2 workers"))
        let jobFile = try JSONSerialization.jsonObject(with: Data(contentsOf: job.appendingPathComponent("job.json"))) as! [String: Any]
        #expect((jobFile["workers"] as? [[String: Any]])?.count == 2 && (jobFile["command"] as? [String])?.contains("stats") == true)
        let timings = try JSONSerialization.jsonObject(with: Data(contentsOf: job.appendingPathComponent("timings.json"))) as! [String: Any]
        let phases = timings["phases"] as? [[String: Any]] ?? []
        #expect(phases.first?["phase"] as? String == "statistics of layers 1, 2 (chunks)" && (phases.first?["seconds"] as? Double ?? 0) > 0, "\(timings)")
        let lonely = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--corpus", CLIFixture.corpus,
                                        "--worker-memory", "1GiB"])
        #expect(lonely.status != 0 && lonely.stderr.contains("--worker-memory needs --workers"), "\(lonely.stderr)")
        let bad = try CLIRunner.run(["worker", "--connect", "ipc:///tmp/none", "--max-memory", "lots"])
        #expect(bad.status != 0 && bad.stderr.contains("--max-memory: 'lots' is not a size"), "\(bad.stderr)")
    }

    @Test func workerHelpAndBadFlags() throws {
        let help = try CLIRunner.run(["worker", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--workers") && help.stdout.contains("--listen") && help.stdout.contains("--connect"))
        let zero = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--corpus", CLIFixture.corpus, "--workers", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--workers must be at least 1"), "\(zero.stderr)")
        let both = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--corpus", CLIFixture.corpus,
                                      "--workers", "2", "--listen", "tcp://127.0.0.1:5999"])
        #expect(both.status != 0 && both.stderr.contains("exclude each other"), "\(both.stderr)")
        let endpoint = try CLIRunner.run(["worker", "--connect", "http://example"])
        #expect(endpoint.status != 0 && endpoint.stderr.contains("http://example"), "\(endpoint.stderr)")
        // No coordinator: the worker gives up after its registration wait, with a clear line.
        let alone = try CLIRunner.run(["worker", "--connect", "tcp://127.0.0.1:\(try freePort())", "--registration-wait", "1", "--insecure"], timeout: .seconds(30))
        #expect(alone.status != 0 && alone.stderr.contains("silent"), "\(alone.stderr)")
        // Heartbeat interval and liveness are the user's: 0.2 s × 2 declares the silence at 0.4 s.
        let quick = try CLIRunner.run(["worker", "--connect", "tcp://127.0.0.1:\(try freePort())", "--insecure", "--heartbeat", "0.2",
                                       "--liveness", "2"], timeout: .seconds(30))
        #expect(quick.status != 0 && quick.stderr.contains("silent for 0.4 s"), "\(quick.stderr)")
        let never = try CLIRunner.run(["worker", "--connect", "tcp://127.0.0.1:1", "--insecure", "--heartbeat", "0"])
        #expect(never.status != 0 && never.stderr.contains("--heartbeat must be between"), "\(never.stderr)")
    }
}
