import Foundation
import Testing

/// Bad input gives a one-line error naming the file and the fault, a non-zero exit and no stack trace.
@Suite struct ErrorReportingTests {
    /// A copy of a fixture model directory that a test may damage.
    func copyOfModel(_ name: String) throws -> URL {
        let directory = try CLIRunner.temporaryDirectory().appendingPathComponent(name)
        try FileManager.default.copyItem(atPath: CLIRunner.fixture("hf-reference/\(name)"), toPath: directory.path)
        return directory
    }

    /// A request longer than GPT-2's learned positions is refused before any work (it used to
    /// trap in the embedding), naming the request; so is one that fits alone but not with the
    /// context templates.
    @Test func aRequestLongerThanThePositionsIsRefused() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let oracle = CLIRunner.fixture("alphaedit-oracle")
        func edit(_ prompt: String, _ extra: [String] = []) throws -> CLIRunner.Result {
            let requests = work.appendingPathComponent("requests.json")
            let record: [String: Any] = ["case_id": 7, "prompt": prompt, "subject": "Talia Fairbanks", "target_new": ["str": "Sony"]]
            try JSONSerialization.data(withJSONObject: [record]).write(to: requests)
            return try CLIRunner.run(["edit", "--model", oracle + "/model", "--config", oracle + "/hparams.json", "--requests", requests.path,
                                      "--corpus", oracle + "/stats_corpus.txt", "--stats-dir", work.appendingPathComponent("stats").path,
                                      "--output-dir", work.appendingPathComponent("out").path, "-q"] + extra)
        }
        let long = try edit(String(repeating: "word ", count: 300) + "{} works for")
        #expect(long.isOneLineError, "\(long.stderr)")
        #expect(long.stderr.contains("request 0 (case_id 7)") && long.stderr.contains("128 positions"), "\(long.stderr)")
        // Fits alone (about 110 tokens with this tokenizer), not inside a 61-token context template.
        let templates = work.appendingPathComponent("templates.json")
        try Data(#"[["{}"], ["One two three four five six seven eight nine ten one two three four five six seven eight nine ten. {}"]]"#.utf8)
            .write(to: templates)
        let edge = try edit(String(repeating: "word ", count: 35) + "{} works for", ["--context-templates", templates.path])
        #expect(edge.isOneLineError && edge.stderr.contains("context template"), "\(edge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stats").path), "work was done before the refusal")
    }

    /// A bad ALPHAEDIT_FREED_MEMORY stops every command before any work, naming the variable.
    @Test func aBadFreedMemoryPolicyIsRefused() throws {
        let result = try CLIRunner.run(["inspect", "--model", CLIRunner.fixture("hf-reference/gpt2")], environment: ["ALPHAEDIT_FREED_MEMORY": "keep"])
        #expect(result.status != 0)
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("ALPHAEDIT_FREED_MEMORY=keep"), "\(result.stderr)")
        let fine = try CLIRunner.run(["inspect", "--model", CLIRunner.fixture("hf-reference/gpt2")], environment: ["ALPHAEDIT_FREED_MEMORY": "release"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test func truncatedSafetensors() throws {
        let model = try copyOfModel("gpt2")
        let file = model.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        let result = try CLIRunner.run(["inspect", "--model", model.path])
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("model.safetensors"))
    }

    @Test func lyingSafetensorsHeader() throws {
        let model = try copyOfModel("gpt2")
        let file = model.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: file))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        var header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        header = header.replacingOccurrences(of: "[512,64]", with: "[512,65]")   // wte shape lies about its bytes
        bytes.replaceSubrange(8..<(8 + headerLength), with: Array(header.utf8))
        try Data(bytes).write(to: file)
        let result = try CLIRunner.run(["inspect", "--model", model.path])
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("model.safetensors") && result.stderr.contains("transformer.wte.weight"), "\(result.stderr)")
    }

    @Test func unsupportedConfig() throws {
        let model = try copyOfModel("gpt2")
        let config = model.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"model_type\": \"gpt2\"", with: "\"model_type\": \"bert\"")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["inspect", "--model", model.path])
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("config.json") && result.stderr.contains("bert") && result.stderr.contains("gpt2, gptj, llama, mistral, qwen2"))
    }

    @Test func malformedTokenizer() throws {
        let model = try copyOfModel("llama")
        let tokenizer = model.appendingPathComponent("tokenizer.json")
        let data = try Data(contentsOf: tokenizer)
        try data.prefix(1000).write(to: tokenizer)
        let result = try CLIRunner.run(["tokenize", "--model", model.path, "Hello"])
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("tokenizer.json"))
    }

    @Test func missingTensorAndWrongShapeNameTheTensor() throws {
        let model = try copyOfModel("gpt2")
        let config = model.appendingPathComponent("config.json")
        // A config that asks for a third layer the checkpoint does not have.
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 3")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let missing = try CLIRunner.run(["generate", "--model", model.path, "--prompt", "Hi", "--max-new-tokens", "1"])
        #expect(missing.isOneLineError, "\(missing.stderr)")
        #expect(missing.stderr.contains("transformer.h.2.") && missing.stderr.contains("missing"), "\(missing.stderr)")

        let wide = try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "\"n_layer\": 3", with: "\"n_layer\": 2")
            .replacingOccurrences(of: "\"n_positions\": 128", with: "\"n_positions\": 256")
        try wide.write(to: config, atomically: true, encoding: .utf8)
        let shape = try CLIRunner.run(["generate", "--model", model.path, "--prompt", "Hi", "--max-new-tokens", "1"])
        #expect(shape.isOneLineError, "\(shape.stderr)")
        #expect(shape.stderr.contains("transformer.wpe.weight") && shape.stderr.contains("[128, 64]") && shape.stderr.contains("[256, 64]"), "\(shape.stderr)")
    }

    @Test func missingModelDirectory() throws {
        let result = try CLIRunner.run(["inspect", "--model", "/nonexistent/model"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model"))
    }
}
