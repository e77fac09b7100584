import Foundation
import Testing

/// `alphaedit generate`, run as a user runs it.
@Suite struct GenerateCommandTests {
    /// The oracle model knows its facts: greedy decoding says them and stops at <|endoftext|>.
    @Test func greedyContinuesWithTheKnownFact() throws {
        let result = try CLIRunner.run(["generate", "--model", CLIFixture.model,
                                        "--prompt", "Talia Fairbanks works for", "--prompt", "The capital of Norhaven is"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Talia Fairbanks works for Adobe.\n\nThe capital of Norhaven is Moscow.\n", "\(result.stdout)")
        #expect(result.stderr.isEmpty)

        let json = try CLIRunner.run(["generate", "--model", CLIFixture.model, "--prompt", "Talia Fairbanks works for", "--json",
                                      "--max-new-tokens", "5", "--ignore-eos"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try CLIFixture.json(json.stdout)
        #expect(report["sampling"] as! String == "greedy" && report["seed"] == nil && report["max_new_tokens"] as! Int == 5)
        let first = (report["results"] as! [[String: Any]])[0]
        #expect(first["prompt"] as! String == "Talia Fairbanks works for")
        #expect((first["continuation"] as! String).hasPrefix(" Adobe."))
        #expect((first["token_ids"] as! [Int]).count == 5)
        #expect(first["prompt_tokens"] as! Int > 0)
    }

    @Test func topKSamplingIsReproducibleForASeed() throws {
        func sample(seed: Int) throws -> [String] {
            let result = try CLIRunner.run(["generate", "--model", CLIFixture.model, "--prompt", "The", "--prompt", "I think",
                                            "--top-k", "5", "--seed", String(seed), "--max-new-tokens", "12", "--ignore-eos", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try CLIFixture.json(result.stdout)
            #expect(report["sampling"] as! String == "top_k" && report["top_k"] as! Int == 5 && report["seed"] as! Int == seed)
            let results = report["results"] as! [[String: Any]]
            #expect(results.allSatisfy { ($0["token_ids"] as! [Int]).count == 12 })
            return results.map { $0["continuation"] as! String }
        }
        let a = try sample(seed: 1), b = try sample(seed: 1)
        #expect(a == b)
        let others = try (2...4).map { try sample(seed: $0) }
        #expect(others.contains { $0 != a }, "four seeds gave the same text")
    }

    /// A Llama-family fixture (BOS added by the tokenizer, rotary positions).
    @Test func llamaFixtureGenerates() throws {
        let result = try CLIRunner.run(["generate", "--model", CLIRunner.fixture("hf-reference/llama"), "--prompt", "Hello world",
                                        "--max-new-tokens", "4", "--ignore-eos", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let first = ((try CLIFixture.json(result.stdout))["results"] as! [[String: Any]])[0]
        #expect((first["token_ids"] as! [Int]).count == 4)
    }

    @Test func badInputsOfGenerate() throws {
        let long = try CLIRunner.run(["generate", "--model", CLIFixture.model, "--prompt", "The", "--max-new-tokens", "500"])
        #expect(long.isOneLineError && long.stderr.contains("exceeds the model's 128 positions"), "\(long.stderr)")
        let empty = try CLIRunner.run(["generate", "--model", CLIFixture.model, "--prompt", ""])
        #expect(empty.isOneLineError && empty.stderr.contains("encodes to no tokens"), "\(empty.stderr)")
        let noPrompt = try CLIRunner.run(["generate", "--model", CLIFixture.model])
        #expect(noPrompt.status != 0 && noPrompt.stderr.hasPrefix("Error: give at least one --prompt"), "\(noPrompt.stderr)")
        let topK = try CLIRunner.run(["generate", "--model", CLIFixture.model, "--prompt", "The", "--top-k", "0"])
        #expect(topK.status != 0 && topK.stderr.hasPrefix("Error: --top-k must be at least 1"), "\(topK.stderr)")
        let noModel = try CLIRunner.run(["generate", "--model", "/nonexistent/model", "--prompt", "The"])
        #expect(noModel.status != 0 && noModel.stderr.hasPrefix("Error: --model /nonexistent/model: no such directory"), "\(noModel.stderr)")
        let work = try CLIRunner.temporaryDirectory()
        let broken = work.appendingPathComponent("model")
        try FileManager.default.copyItem(atPath: CLIFixture.model, toPath: broken.path)
        try Data("{".utf8).write(to: broken.appendingPathComponent("tokenizer.json"))
        let badTokenizer = try CLIRunner.run(["generate", "--model", broken.path, "--prompt", "The"])
        #expect(badTokenizer.isOneLineError && badTokenizer.stderr.contains("tokenizer.json"), "\(badTokenizer.stderr)")
    }
}
