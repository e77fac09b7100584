import Foundation
import Testing

/// `alphaedit train` from the command line: a model folder from a given tokenizer into a folder
/// that does not exist yet, with the activation asked for; a tokenizer folder without the files
/// is refused naming the flag.
@Suite struct TrainCommandTests {
    @Test func trainsIntoAFreshFolderWithAGivenTokenizer() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let output = work.appendingPathComponent("new/model")
        let run = try CLIRunner.run(["train", "--corpus", CLIFixture.corpus, "--tokenizer", CLIFixture.model,
                                     "--output-dir", output.path, "--layers", "1", "--width", "16", "--heads", "2",
                                     "--context", "16", "--activation", "relu", "--steps", "2", "--batch-size", "2",
                                     "--micro-batch-size", "1", "--warmup", "1", "--threads", "1", "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name) is missing")
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(config?["activation_function"] as? String == "relu")

        let empty = work.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let refused = try CLIRunner.run(["train", "--corpus", CLIFixture.corpus, "--tokenizer", empty.path,
                                         "--output-dir", work.appendingPathComponent("other").path, "--steps", "1", "-q"])
        #expect(refused.status != 0 && refused.stderr.contains("--tokenizer \(empty.path): no tokenizer.json"), "\(refused.stderr)")
        let unknown = try CLIRunner.run(["train", "--corpus", CLIFixture.corpus, "--output-dir", work.appendingPathComponent("x").path,
                                         "--activation", "swish"])
        #expect(unknown.status != 0 && unknown.stderr.contains("activation \"swish\""), "\(unknown.stderr)")
    }
}
