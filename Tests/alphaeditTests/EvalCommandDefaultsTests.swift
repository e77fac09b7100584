import Foundation
import Testing

/// `alphaedit eval` without `--model` and `--data` evaluates the shipped model on the
/// repository's copy of `--dataset`, as `experiment` does.
@Suite struct EvalCommandDefaultsTests {
    @Test func evalDefaultsToTheShippedModelAndData() throws {
        let run = try CLIRunner.run(["eval", "--dataset", "zsre", "--records", "0:3", "--json", "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect((summary["model"] as? String)?.hasSuffix("Models/knowledge-gpt2") == true, "\(run.stdout)")
        #expect((summary["data"] as? String)?.hasSuffix("Data/zsre-easyedit-portability-1037.json") == true, "\(run.stdout)")
        #expect(summary["records"] as? Int == 3, "\(run.stdout)")

        let missing = try CLIRunner.run(["eval", "--model", "/nonexistent/model", "--records", "0:1"])
        #expect(missing.status != 0 && missing.stderr.contains("--model /nonexistent/model: no such directory"), "\(missing.stderr)")
    }
}
