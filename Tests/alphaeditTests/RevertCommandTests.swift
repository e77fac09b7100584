import Foundation
import Testing

/// `alphaedit revert`, run as a user runs it.
@Suite struct RevertCommandTests {
    /// The oracle model edited with its first request (once for the suite).
    static let edited = Result { try edit(in: try CLIRunner.temporaryDirectory()) }

    /// Edits the oracle model with its first request; returns the output directory.
    static func edit(in work: URL) throws -> URL {
        let oracle = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: CLIRunner.fixture("alphaedit-oracle/oracle.json")))) as! [String: Any]
        let requests = work.appendingPathComponent("requests.json")
        try JSONSerialization.data(withJSONObject: Array((oracle["requests"] as! [Any]).prefix(1))).write(to: requests)
        let output = work.appendingPathComponent("edited")
        let result = try CLIRunner.run(["edit", "--model", CLIFixture.model, "--config", try CLIFixture.hparams(samples: 100, in: work),
                                        "--requests", requests.path, "--corpus", CLIFixture.corpus,
                                        "--stats-dir", work.appendingPathComponent("stats").path,
                                        "--context-templates", CLIRunner.fixture("alphaedit-oracle/oracle.json"),
                                        "--output-dir", output.path, "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        return output
    }

    @Test func editThenRevertRestoresTheWeights() throws {
        let work = try CLIRunner.temporaryDirectory()
        let edited = try Self.edited.get()
        let reverted = work.appendingPathComponent("reverted").path
        let result = try CLIRunner.run(["revert", "--model", edited.path, "--deltas", edited.appendingPathComponent("alphaedit-deltas.safetensors").path,
                                        "--output-dir", reverted, "--json", "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try CLIFixture.json(result.stdout)
        let tensors = report["tensors"] as! [[String: Any]]
        #expect(tensors.map { $0["name"] as! String } == ["transformer.h.1.mlp.c_proj.weight", "transformer.h.2.mlp.c_proj.weight"])
        #expect(tensors.allSatisfy { $0["dtype"] as! String == "F32" && $0["max_abs_delta"] as! Double > 0 })
        #expect(report["edits"] as! Int == 1)

        let original = try SafetensorsPeek(URL(fileURLWithPath: CLIFixture.model + "/model.safetensors"))
        let back = try SafetensorsPeek(URL(fileURLWithPath: reverted + "/model.safetensors"))
        let changed = try SafetensorsPeek(edited.appendingPathComponent("model.safetensors"))
        #expect(Set(back.tensors.keys) == Set(original.tensors.keys))
        for name in original.tensors.keys {
            let a = try original.doubles(name), b = try back.doubles(name), e = try changed.doubles(name)
            let scale = a.map(abs).max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-6 * scale, "\(name): max |reverted − original| = \(worst), max |w| = \(scale)")
            if name.hasSuffix("c_proj.weight") && (name.contains(".1.mlp") || name.contains(".2.mlp")) {
                #expect(zip(a, e).map { abs($0 - $1) }.max()! > 1e-3, "\(name) was edited")
            }
        }
        for file in ["config.json", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: reverted + "/" + file))
        }
        #expect(!FileManager.default.fileExists(atPath: reverted + "/alphaedit-deltas.safetensors"))

        // --deltas defaults to the model's own; text output names the tensors.
        let text = try CLIRunner.run(["revert", "--model", edited.path, "--output-dir", work.appendingPathComponent("again").path, "-q"])
        #expect(text.status == 0 && text.stdout.hasPrefix("Reverted 2 tensors (1 edits) → "), "\(text.stdout)\(text.stderr)")
    }

    @Test func badInputsOfRevertGiveOneLine() throws {
        let work = try CLIRunner.temporaryDirectory()
        let edited = try Self.edited.get()
        let deltas = edited.appendingPathComponent("alphaedit-deltas.safetensors").path
        func revert(_ model: String, _ deltas: String, _ output: String = work.appendingPathComponent("out-\(UUID().uuidString)").path) throws -> CLIRunner.Result {
            try CLIRunner.run(["revert", "--model", model, "--deltas", deltas, "--output-dir", output, "-q"])
        }
        let missing = try revert(edited.path, work.appendingPathComponent("none.safetensors").path)
        #expect(missing.isOneLineError && missing.stderr.contains("none.safetensors"), "\(missing.stderr)")
        let notDeltas = try revert(edited.path, edited.appendingPathComponent("model.safetensors").path)
        #expect(notDeltas.isOneLineError && notDeltas.stderr.contains("not an alphaedit deltas file"), "\(notDeltas.stderr)")
        let unedited = try revert(CLIFixture.model, deltas)
        #expect(unedited.isOneLineError && unedited.stderr.contains("not a checkpoint written by `alphaedit edit`"), "\(unedited.stderr)")
        // Deltas of another edit (same base, other edit count): the header's "edits" rewritten in place.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: deltas)))
        let header = String(decoding: bytes[8..<(8 + Int(bytes[0]) + Int(bytes[1]) << 8)], as: UTF8.self)
        #expect(header.contains("\"edits\":\"1\""), "\(header)")
        let rewritten = Array(header.replacingOccurrences(of: "\"edits\":\"1\"", with: "\"edits\":\"2\"").utf8)
        bytes.replaceSubrange(8..<(8 + rewritten.count), with: rewritten)
        let otherDeltas = work.appendingPathComponent("other-deltas.safetensors")
        try Data(bytes).write(to: otherDeltas)
        let otherEdit = try revert(edited.path, otherDeltas.path)
        #expect(otherEdit.isOneLineError && otherEdit.stderr.contains("after 2 edits, but --model records 1 edits"), "\(otherEdit.stderr)")
        let noModel = try revert(work.appendingPathComponent("absent").path, deltas)
        #expect(noModel.status != 0 && noModel.stderr.hasPrefix("Error: --model") && noModel.stderr.contains("absent"), "\(noModel.stderr)")
        let occupied = work.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: occupied.appendingPathComponent("file"))
        let exists = try revert(edited.path, deltas, occupied.path)
        #expect(exists.isOneLineError && exists.stderr.contains("--overwrite"), "\(exists.stderr)")
        let same = try revert(edited.path, deltas, edited.path)
        #expect(same.isOneLineError && same.stderr.contains("--output-dir must differ from --model"), "\(same.stderr)")
        // A reverted model is the base model: reverting it again is refused.
        let once = work.appendingPathComponent("once").path
        #expect(try revert(edited.path, deltas, once).status == 0)
        let twice = try revert(once, deltas)
        #expect(twice.isOneLineError && twice.stderr.contains("already reverted"), "\(twice.stderr)")
    }
}
