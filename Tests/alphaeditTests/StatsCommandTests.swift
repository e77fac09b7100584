import Foundation
import Testing

/// `alphaedit stats`, `stats merge` and `stats import`, run as a user runs them.
@Suite struct StatsCommandTests {
    @Test func computesThenReusesTheCache() throws {
        let work = try CLIRunner.temporaryDirectory()
        let hparams = try CLIFixture.hparams(samples: 100, in: work)
        let arguments = ["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                         "--stats-dir", work.appendingPathComponent("stats").path, "--json"]
        let first = try CLIRunner.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("tokens/s"), "progress shows the rate: \(first.stderr)")
        let report = try CLIFixture.json(first.stdout)
        let layers = report["layers"] as! [[String: Any]]
        #expect(layers.map { $0["layer"] as! Int } == [1, 2])
        #expect(layers.allSatisfy { $0["cached"] as! Bool == false && $0["samples"] as! Int == 100 && $0["width"] as! Int == 512 })
        let path = layers[0]["path"] as! String
        #expect(path.hasSuffix("stats/model/stats_corpus_stats/transformer.h.1.mlp.c_proj_float32_mom2_100.safetensors"))
        #expect(FileManager.default.fileExists(atPath: path))

        let second = try CLIRunner.run(arguments)
        #expect(second.status == 0)
        let again = try CLIFixture.json(second.stdout)["layers"] as! [[String: Any]]
        #expect(again.allSatisfy { $0["cached"] as! Bool })
        #expect(again.map { $0["tokens"] as! Int } == layers.map { $0["tokens"] as! Int })

        // Text output: one line per layer.
        let text = try CLIRunner.run(Array(arguments.dropLast()) + ["-q"])
        #expect(text.status == 0 && text.stderr.isEmpty)
        #expect(text.stdout.split(separator: "\n").count == 2 && text.stdout.contains("layer 1  transformer.h.1.mlp.c_proj"))
    }

    /// A run killed (SIGKILL) after a checkpoint and run again ends with the bytes of an
    /// uninterrupted run.
    @Test func killedRunResumesToTheSameBytes() throws {
        let work = try CLIRunner.temporaryDirectory()
        let hparams = try CLIFixture.hparams(samples: 120, in: work)
        func arguments(_ stats: String) -> [String] {
            ["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
             "--stats-dir", work.appendingPathComponent(stats).path, "--checkpoint-every", "20", "--chunk-samples", "20", "-q"]
        }
        let whole = try CLIRunner.run(arguments("whole"))
        #expect(whole.status == 0, "\(whole.stderr)")
        let folder = "model/stats_corpus_stats/"
        let final = work.appendingPathComponent("killed/" + folder + "transformer.h.2.mlp.c_proj_float32_mom2_120.safetensors")
        let partial = final.deletingPathExtension().appendingPathExtension("partial.safetensors")

        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = arguments("killed")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: partial.path) && process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run ended before it could be killed")
        #expect(!FileManager.default.fileExists(atPath: final.path))

        let resumed = try CLIRunner.run(Array(arguments("killed").dropLast()))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming statistics at sample"), "\(resumed.stderr)")
        for layer in [1, 2] {
            let name = folder + "transformer.h.\(layer).mlp.c_proj_float32_mom2_120.safetensors"
            let expected = try Data(contentsOf: work.appendingPathComponent("whole/" + name))
            let actual = try Data(contentsOf: work.appendingPathComponent("killed/" + name))
            #expect(actual == expected, "layer \(layer): resumed file differs from the uninterrupted run's")
        }
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }

    /// Statistics of two shards of a corpus, merged, equal the statistics of the whole corpus.
    @Test func mergeOfShardsEqualsTheUnion() throws {
        let work = try CLIRunner.temporaryDirectory()
        let lines = try String(contentsOfFile: CLIFixture.corpus, encoding: .utf8).split(separator: "\n").prefix(120)
        func corpus(_ name: String, _ part: ArraySlice<Substring>) throws -> String {
            let url = work.appendingPathComponent(name)
            try (part.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let shards = [try corpus("shard0.txt", lines.prefix(50)), try corpus("shard1.txt", lines.dropFirst(50)),
                      try corpus("union.txt", lines)]
        var files: [String] = []
        for shard in shards {
            // mom2_n_samples 2000 ≥ the lines of each corpus: every line is used.
            let result = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--corpus", shard,
                                            "--stats-dir", work.appendingPathComponent("stats").path, "--json", "-q"])
            #expect(result.status == 0, "\(result.stderr)")
            files.append(((try CLIFixture.json(result.stdout)["layers"] as! [[String: Any]])[0]["path"] as! String))
        }
        let output = work.appendingPathComponent("merged.safetensors").path
        let merge = try CLIRunner.run(["stats", "merge", files[0], files[1], "--output", output, "--json"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let report = try CLIFixture.json(merge.stdout)
        #expect(report["samples"] as! Int == 120 && report["layer"] as! Int == 1)

        let merged = try SafetensorsPeek(URL(fileURLWithPath: output))
        let union = try SafetensorsPeek(URL(fileURLWithPath: files[2]))
        #expect(merged.metadata["count"] == union.metadata["count"] && merged.metadata["samples"] == "120")
        #expect(merged.metadata["model"] == union.metadata["model"] && merged.metadata["module"] == "transformer.h.1.mlp.c_proj")
        let a = try merged.doubles("mom2.sum"), b = try union.doubles("mom2.sum")
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += (x - y) * (x - y); norm += y * y }
        // Not bit-identical: the union run groups the samples into other forward batches, and each
        // batch's Gram matrix is rounded in float32 before the float64 accumulation.
        #expect(a.count == 512 * 512 && (difference / norm).squareRoot() < 1e-6, "relative error \((difference / norm).squareRoot())")

        // The output is refused if it exists; --overwrite replaces it.
        let again = try CLIRunner.run(["stats", "merge", files[0], files[1], "--output", output])
        #expect(again.isOneLineError && again.stderr.contains("--overwrite"), "\(again.stderr)")
        #expect(try CLIRunner.run(["stats", "merge", files[0], files[1], "--output", output, "--overwrite"]).status == 0)
    }

    @Test func mergeRefusesStatisticsThatDoNotAddUp() throws {
        let work = try CLIRunner.temporaryDirectory()
        let hparams = try CLIFixture.hparams(samples: 60, in: work)
        let stats = work.appendingPathComponent("stats").path
        let run = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                     "--stats-dir", stats, "--json", "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        let paths = (try CLIFixture.json(run.stdout)["layers"] as! [[String: Any]]).map { $0["path"] as! String }
        // Another model (one weight changed), another corpus.
        let other = try CLIFixture.perturbedModel(in: work.appendingPathComponent("other"))
        let otherCorpus = work.appendingPathComponent("other.txt")
        try String(contentsOfFile: CLIFixture.corpus, encoding: .utf8).split(separator: "\n").reversed().joined(separator: "\n")
            .write(to: otherCorpus, atomically: true, encoding: .utf8)
        let otherRun = try CLIRunner.run(["stats", "--model", other, "--config", hparams, "--corpus", otherCorpus.path,
                                          "--stats-dir", work.appendingPathComponent("other-stats").path, "--json", "-q"])
        #expect(otherRun.status == 0, "\(otherRun.stderr)")
        let otherPath = (try CLIFixture.json(otherRun.stdout)["layers"] as! [[String: Any]])[0]["path"] as! String
        let output = work.appendingPathComponent("out.safetensors").path

        let models = try CLIRunner.run(["stats", "merge", paths[0], otherPath, "--output", output])
        #expect(models.isOneLineError && models.stderr.contains("different models cannot be merged"), "\(models.stderr)")
        let layers = try CLIRunner.run(["stats", "merge", paths[0], paths[1], "--output", output])
        #expect(layers.isOneLineError && layers.stderr.contains("different layers cannot be merged"), "\(layers.stderr)")
        let twice = try CLIRunner.run(["stats", "merge", paths[0], paths[0], "--output", output])
        #expect(twice.isOneLineError && twice.stderr.contains("would count it twice"), "\(twice.stderr)")
        let missing = try CLIRunner.run(["stats", "merge", paths[0], work.appendingPathComponent("none.safetensors").path, "--output", output])
        #expect(missing.isOneLineError && missing.stderr.contains("none.safetensors"), "\(missing.stderr)")
        let notStats = try CLIRunner.run(["stats", "merge", paths[0], CLIFixture.model + "/model.safetensors", "--output", output])
        #expect(notStats.isOneLineError && notStats.stderr.contains("not an alphaedit statistics file"), "\(notStats.stderr)")
        let one = try CLIRunner.run(["stats", "merge", paths[0], "--output", output])
        #expect(one.status != 0 && one.stderr.hasPrefix("Error: give at least two"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func badInputsOfStatsGiveOneLine() throws {
        let work = try CLIRunner.temporaryDirectory()
        let stats = work.appendingPathComponent("stats").path
        let base = ["stats", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--stats-dir", stats, "-q"]
        let noCorpus = try CLIRunner.run(base + ["--corpus", work.appendingPathComponent("missing.txt").path])
        #expect(noCorpus.isOneLineError && noCorpus.stderr.contains("missing.txt: cannot be read"), "\(noCorpus.stderr)")
        let noHparams = try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", "nope.json", "--corpus", CLIFixture.corpus, "-q"])
        #expect(noHparams.isOneLineError && noHparams.stderr.contains("nope.json"), "\(noHparams.stderr)")
        let noModel = try CLIRunner.run(["stats", "--model", work.appendingPathComponent("absent").path, "--config", CLIFixture.hparams,
                                         "--corpus", CLIFixture.corpus])
        #expect(noModel.status != 0 && noModel.stderr.hasPrefix("Error: --model") && noModel.stderr.contains("absent"), "\(noModel.stderr)")
        let interval = try CLIRunner.run(base + ["--corpus", CLIFixture.corpus, "--checkpoint-every", "0"])
        #expect(interval.status != 0 && interval.stderr.hasPrefix("Error: --checkpoint-every must be at least 1"))

        // Statistics cached for another model under the same name are refused, naming the file.
        let hparams = try CLIFixture.hparams(samples: 30, in: work)
        #expect(try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                   "--stats-dir", stats, "-q"]).status == 0)
        let other = try CLIFixture.perturbedModel(in: work.appendingPathComponent("other"))
        let wrong = try CLIRunner.run(["stats", "--model", other, "--config", hparams, "--corpus", CLIFixture.corpus, "--stats-dir", stats, "-q"])
        #expect(wrong.isOneLineError && wrong.stderr.contains("statistics were made for model") && wrong.stderr.contains("mom2_30.safetensors"),
                "\(wrong.stderr)")
    }

    @Test func importsTheOfficialStatistics() throws {
        let work = try CLIRunner.temporaryDirectory()
        let stats = work.appendingPathComponent("stats").path
        let npz = CLIRunner.fixture("npz/oracle/transformer.h.1.mlp.c_proj_float32_mom2_2000.npz")
        let arguments = ["stats", "import", "--model", CLIFixture.model, "--config", CLIFixture.hparams, "--stats-dir", stats]
        let result = try CLIRunner.run(arguments + ["--json", "-q", npz])
        #expect(result.status == 0, "\(result.stderr)")
        let layer = (try CLIFixture.json(result.stdout)["layers"] as! [[String: Any]])[0]
        #expect(layer["layer"] as! Int == 1 && layer["tokens"] as! Int == 24512 && layer["samples"] as! Int == 2000 && layer["edit_layer"] as! Bool)
        #expect(layer["path"] as! String == stats + "/model/stats_corpus_stats/transformer.h.1.mlp.c_proj_float32_mom2_2000.safetensors")
        let peek = try SafetensorsPeek(URL(fileURLWithPath: layer["path"] as! String))
        #expect(peek.metadata["format"] == "alphaedit-statistics" && peek.metadata["count"] == "24512")

        // Again: refused without --overwrite.
        let again = try CLIRunner.run(arguments + ["-q", npz])
        #expect(again.isOneLineError && again.stderr.contains("--overwrite"), "\(again.stderr)")
        #expect(try CLIRunner.run(arguments + ["-q", "--overwrite", npz]).status == 0)

        // Statistics of a model 8 wide, named for this model's layer 2.
        let small = work.appendingPathComponent("transformer.h.2.mlp.c_proj_float32_mom2_2000.npz")
        try FileManager.default.copyItem(atPath: CLIRunner.fixture("npz/stored_f4.npz"), toPath: small.path)
        let wrong = try CLIRunner.run(arguments + ["-q", small.path])
        #expect(wrong.isOneLineError && wrong.stderr.contains("holds 8×8 statistics, but this model's MLP keys are 512 wide"), "\(wrong.stderr)")
        let damaged = work.appendingPathComponent("transformer.h.3.mlp.c_proj_float32_mom2_2000.npz")
        try FileManager.default.copyItem(atPath: CLIRunner.fixture("npz/bad_version.npz"), toPath: damaged.path)
        let bad = try CLIRunner.run(arguments + ["-q", damaged.path])
        #expect(bad.isOneLineError && bad.stderr.contains("member \"mom2.mom2\"") && bad.stderr.contains("version 4.0"), "\(bad.stderr)")
        let missing = try CLIRunner.run(arguments + ["-q", work.appendingPathComponent("transformer.h.0.mlp.c_proj_float32_mom2_2000.npz").path])
        #expect(missing.isOneLineError && missing.stderr.contains("no such file"), "\(missing.stderr)")
        let badName = try CLIRunner.run(arguments + ["-q", CLIRunner.fixture("npz/stored_f4.npz")])
        #expect(badName.isOneLineError && badName.stderr.contains("does not follow the official"), "\(badName.stderr)")
    }
}

// MARK: - Shared fixtures of the command tests

enum CLIFixture {
    static let model = CLIRunner.fixture("alphaedit-oracle/model")
    static let hparams = CLIRunner.fixture("alphaedit-oracle/hparams.json")
    static let corpus = CLIRunner.fixture("alphaedit-oracle/stats_corpus.txt")

    /// The oracle's hparams with `mom2_n_samples` = `samples` (and optionally other layers).
    static func hparams(samples: Int, layers: [Int]? = nil, in directory: URL) throws -> String {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hparams))) as! [String: Any]
        object["mom2_n_samples"] = samples
        if let layers { object["layers"] = layers }
        let url = directory.appendingPathComponent("hparams-\(samples)-\(layers.map { $0.map(String.init).joined(separator: "_") } ?? "").json")
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        return url.path
    }

    /// A copy of the oracle model, in a folder also named `model`, with one weight byte changed:
    /// another model (fingerprint) under the same statistics-cache name.
    static func perturbedModel(in parent: URL) throws -> String {
        let directory = parent.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: model, toPath: directory.path)
        let file = directory.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: file))
        bytes[bytes.count - 3] ^= 0x01   // the last tensor's last float, low mantissa bits
        try Data(bytes).write(to: file)
        return directory.path
    }

    static func json(_ text: String) throws -> [String: Any] {
        let lines = text.split(separator: "\n")
        guard lines.count == 1, let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any] else {
            throw CLIFixtureError(message: "not one line of JSON: \(text)")
        }
        return object
    }

    struct CLIFixtureError: Error { let message: String }
}

/// A minimal safetensors reader for the tests of the command line (which do not link the libraries).
struct SafetensorsPeek {
    let metadata: [String: String]
    let tensors: [String: [String: Any]]
    let data: Data
    let dataStart: Int

    init(_ url: URL) throws {
        data = try Data(contentsOf: url)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        metadata = header["__metadata__"] as? [String: String] ?? [:]
        tensors = header.filter { $0.key != "__metadata__" }.mapValues { $0 as! [String: Any] }
        dataStart = 8 + length
    }

    func shape(_ name: String) -> [Int] { tensors[name]!["shape"] as! [Int] }

    /// An F32 or F64 tensor as doubles.
    func doubles(_ name: String) throws -> [Double] {
        let info = tensors[name]!
        let offsets = info["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        switch info["dtype"] as! String {
        case "F64": return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        case "F32": return bytes.withUnsafeBytes { $0.bindMemory(to: Float.self).map(Double.init) }
        default: throw CLIFixture.CLIFixtureError(message: "\(name) is \(info["dtype"]!)")
        }
    }
}
