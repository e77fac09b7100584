import Foundation
import Testing

/// `alphaedit experiment` runs AlphaEdit and MEMIT side by side when it has a thread for each; the
/// report's numbers are the same as one after the other.
@Suite struct ExperimentSideBySideTests {
    @Test func sideBySideGivesTheNumbersOfOneAfterTheOther() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        func experiment(threads: Int) throws -> (report: [String: Any], stderr: String) {
            let out = work.appendingPathComponent("threads-\(threads)")
            let run = try CLIRunner.run(["experiment", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                         "--records", "0:4", "--batch-size", "2", "--eval-every", "2", "--generation-records", "2",
                                         "--stats-dir", work.appendingPathComponent("stats").path, "--threads", String(threads),
                                         "--output-dir", out.path], timeout: .seconds(600))
            #expect(run.status == 0, "\(run.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as! [String: Any]
            return (report, run.stderr)
        }
        let alone = try experiment(threads: 1)
        let together = try experiment(threads: 2)
        #expect(!alone.stderr.contains("side by side"))
        #expect(together.stderr.contains("AlphaEdit and MEMIT run side by side, 1 thread each"), "\(together.stderr)")
        let methods = { (report: [String: Any]) in report["methods"] as! [String: [String: Double]] }
        #expect(methods(alone.report) == methods(together.report))
        let metrics = { (report: [String: Any]) in
            (report["curves"] as! [String: [[String: Any]]]).mapValues { $0.map { $0["metrics"] as! [String: Double] } }
        }
        #expect(metrics(alone.report) == metrics(together.report))
        #expect(Set(methods(together.report).keys) == ["unedited", "alphaedit", "memit"])
    }
}
