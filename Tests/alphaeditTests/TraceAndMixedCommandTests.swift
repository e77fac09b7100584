import Foundation
import Testing

/// `alphaedit trace` end to end, and `alphaedit experiment --dataset mixed`.
@Suite struct TraceAndMixedCommandTests {
    @Test func traceOfOnePromptWritesTheReportHeatmapAndSuggestion() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let run = try CLIRunner.run(["trace", "--model", CLIFixture.model, "--prompt", "The mother tongue of Danielle Darrieux is",
                                     "--subject", "Danielle Darrieux", "--target", "French", "--samples", "2", "--window", "2",
                                     "--output-dir", work.path, "-q"], timeout: .seconds(300))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Suggested edit layers: `\"layers\": ["), "\(run.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("trace.json"))) as! [String: Any]
        let traces = json["traces"] as! [[String: Any]]
        #expect(traces.count == 1)
        let restored = traces[0]["restored"] as! [String: [[Double]]]
        #expect(Set(restored.keys) == ["hidden", "mlp", "attention"])
        let svg = try String(contentsOf: work.appendingPathComponent("trace.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("*</text>"))
    }

    @Test func traceRefusesBadInputNamingIt() throws {
        let missing = try CLIRunner.run(["trace", "--prompt", "The capital of France is"])
        #expect(missing.status != 0 && missing.stderr.contains("--subject"), "\(missing.stderr)")
        let kinds = try CLIRunner.run(["trace", "--kinds", "hidden,residual"])
        #expect(kinds.status != 0 && kinds.stderr.contains("residual"), "\(kinds.stderr)")
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let absent = try CLIRunner.run(["trace", "--model", CLIFixture.model, "--prompt", "The capital of France is", "--subject", "Germany",
                                        "--target", "Paris", "--output-dir", work.path, "-q"])
        #expect(absent.status != 0 && absent.stderr.contains("\"Germany\" does not occur"), "\(absent.stderr)")
    }

    /// Two CounterFact and two zsRE records interleaved, in batches of 2: both datasets' metrics
    /// at every point and in the report.
    @Test func mixedExperimentReportsBothDatasets() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        let out = work.appendingPathComponent("mixed")
        let run = try CLIRunner.run(["experiment", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                     "--dataset", "mixed", "--records", "0:2", "--batch-size", "2", "--eval-every", "2",
                                     "--algorithms", "alphaedit", "--no-generation", "--stats-dir", work.appendingPathComponent("stats").path,
                                     "--output-dir", out.path, "--json", "-q"], timeout: .seconds(600))
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(summary["edits"] as? Int == 4)
        let alphaedit = (summary["methods"] as! [String: [String: Double]])["alphaedit"]!
        #expect(alphaedit["efficacy_score"] != nil && alphaedit["zsre_rewrite_acc"] != nil, "\(alphaedit)")
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("CF Eff.") && markdown.contains("zsRE Eff.") && markdown.contains("interleaved"))
        let wrong = try CLIRunner.run(["eval", "--model", CLIFixture.model, "--dataset", "mixed", "--data", CLIFixture.corpus])
        #expect(wrong.status != 0 && wrong.stderr.contains("mixed is for experiment"), "\(wrong.stderr)")
    }
}
