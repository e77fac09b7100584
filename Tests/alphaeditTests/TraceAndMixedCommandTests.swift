import Foundation
import Testing

/// `alphaedit trace` end to end, `alphaedit experiment --dataset mixed`, and `--skip-too-long`.
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
        #expect(wrong.status != 0 && wrong.stderr.contains("'mixed' is invalid for '--dataset"), "\(wrong.stderr)")
    }

    /// A zsRE record whose neighbourhood question is longer than the model's 128 positions: the run
    /// stops at once and names it and the flag; with `--skip-too-long` it is edited, left out of
    /// every method's metrics, and listed in the report.
    @Test func experimentLeavesOutTooLongRecordsOnlyWhenAsked() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        let shipped = CLIRunner.repositoryRoot.appendingPathComponent("Data/zsre-easyedit-portability-1037.json")
        var records = Array((try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as! [[String: Any]]).prefix(3))
        records[1]["loc"] = "nq question: " + Array(repeating: "where is the river", count: 40).joined(separator: " ")
        let data = work.appendingPathComponent("zsre-long.json")
        try JSONSerialization.data(withJSONObject: records).write(to: data)
        func experiment(_ extra: [String], to name: String) throws -> CLIRunner.Result {
            try CLIRunner.run(["experiment", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                               "--dataset", "zsre", "--data", data.path, "--batch-size", "3", "--eval-every", "3",
                               "--algorithms", "alphaedit", "--stats-dir", work.appendingPathComponent("stats").path,
                               "--output-dir", work.appendingPathComponent(name).path, "-q"] + extra, timeout: .seconds(600))
        }
        let refused = try experiment([], to: "refused")
        #expect(refused.status != 0 && refused.stderr.contains("case 1:") && refused.stderr.contains("--skip-too-long"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("refused/report.json").path))

        let run = try experiment(["--skip-too-long"], to: "kept")
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("kept/report.json"))) as! [String: Any]
        #expect(report["edits"] as? Int == 3)
        #expect((report["left_out"] as? [String: [Int]]) == ["zsre": [1]], "\(report["left_out"] ?? "none")")
        let markdown = try String(contentsOf: work.appendingPathComponent("kept/report.md"), encoding: .utf8)
        #expect(markdown.contains("zsRE case 1 (1 of 3 records) is edited but left out"), "\(markdown)")

        let evalRefused = try CLIRunner.run(["eval", "--model", CLIFixture.model, "--dataset", "zsre", "--data", data.path, "-q"])
        #expect(evalRefused.status != 0 && evalRefused.stderr.contains("case 1:") && evalRefused.stderr.contains("--skip-too-long"),
                "\(evalRefused.stderr)")
        let evaluated = try CLIRunner.run(["eval", "--model", CLIFixture.model, "--dataset", "zsre", "--data", data.path,
                                           "--skip-too-long", "--json", "-q"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Any]
        #expect(summary["skipped"] as? [Int] == [1] && summary["records"] as? Int == 2, "\(evaluated.stdout)")
    }
}
