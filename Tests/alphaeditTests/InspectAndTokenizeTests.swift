import Foundation
import Testing

@Suite struct InspectAndTokenizeTests {
    @Test func tokenizeJSONMatchesTheReferenceIDs() throws {
        let result = try CLIRunner.run(["tokenize", "--model", CLIRunner.fixture("hf-reference/llama"), "--json", "Hello world", "The capital of France is Paris."])
        #expect(result.status == 0, "\(result.stderr)")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: CLIRunner.fixture("hf-reference/llama/reference.json")))) as! [String: Any]
        let expected = (reference["token_ids"] as! [[String: Any]]).prefix(2).map { $0["ids"] as! [Int] }
        let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(output["ids"] as! [[Int]] == Array(expected))
    }

    @Test func inspectDescribesTheModel() throws {
        let result = try CLIRunner.run(["inspect", "--model", CLIRunner.fixture("hf-reference/llama-sharded"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(report["model_type"] as? String == "llama")
        #expect(report["layers"] as? Int == 2)
        #expect(report["kv_heads"] as? Int == 2)
        #expect(report["shards"] as? Int == 3)
        #expect(report["parameters"] as? Int == report["config_parameters"] as? Int)
        let text = try CLIRunner.run(["inspect", "--model", CLIRunner.fixture("hf-reference/gpt2-bf16")])
        #expect(text.status == 0)
        #expect(text.stdout.contains("BF16"))
    }

    @Test func helpListsTheCommands() throws {
        let result = try CLIRunner.run(["--help"])
        #expect(result.status == 0)
        for command in ["edit", "tokenize", "inspect"] { #expect(result.stdout.contains(command)) }
    }
}
