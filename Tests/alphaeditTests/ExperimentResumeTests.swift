import Foundation
import Testing

/// `alphaedit experiment --job-dir D` records itself after every batch; killed and rerun with
/// `--resume`, it goes on from there and writes the report of an uninterrupted run.
@Suite struct ExperimentResumeTests {
    @Test func aKilledExperimentResumesToTheSameReport() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 200, in: work)
        let jobDir = work.appendingPathComponent("job").path
        func experiment(_ extra: [String], to name: String, environment: [String: String] = [:]) throws -> CLIRunner.Result {
            try CLIRunner.run(["experiment", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                               "--records", "0:6", "--eval-every", "2", "--generation-records", "2",
                               "--stats-dir", work.appendingPathComponent("stats").path,
                               "--output-dir", work.appendingPathComponent(name).path] + extra,
                              timeout: .seconds(600), environment: environment)
        }
        func report(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("\(name)/report.json"))) as! [String: Any]
        }
        let whole = try experiment(["--batch-size", "2", "--threads", "1"], to: "whole")
        #expect(whole.status == 0, "\(whole.stderr)")

        // Killed after the fourth recorded batch: AlphaEdit's three and MEMIT's first.
        let killed = try experiment(["--batch-size", "2", "--threads", "1", "--job-dir", jobDir], to: "resumed",
                                    environment: ["ALPHAEDIT_FAULT": "experiment.batch-recorded#4"])
        #expect(killed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("resumed/report.json").path))
        // The report so far: AlphaEdit's three evaluation points and MEMIT's first.
        let progress = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("resumed/progress.json"))) as! [String: Any]
        let curves = progress["curves"] as! [String: [[String: Any]]]
        #expect(curves["alphaedit"]?.map { $0["edits"] as! Int } == [2, 4, 6])
        #expect(curves["memit"]?.map { $0["edits"] as! Int } == [2])
        #expect(curves["unedited"]?.count == 3)
        let progressText = try String(contentsOf: work.appendingPathComponent("resumed/progress.md"), encoding: .utf8)
        #expect(progressText.contains("In progress") && progressText.contains("AlphaEdit after 6, MEMIT after 2 of 6 edits"), "\(progressText)")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("resumed/progress.svg").path))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("whole/progress.json").path))

        let other = try experiment(["--batch-size", "3", "--job-dir", jobDir, "--resume"], to: "other")
        #expect(other.status != 0 && other.stderr.contains("records another experiment"), "\(other.stderr)")

        let resumed = try experiment(["--batch-size", "2", "--threads", "2", "--job-dir", jobDir, "--resume"], to: "resumed")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("unedited model's evaluation is in the journal"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("alphaedit: finished in the journal"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("memit: resuming from the journal after 2 edits"), "\(resumed.stderr)")
        // Both algorithms go on from their records, which hold their states: nothing is prepared again.
        #expect(!resumed.stderr.contains("projector"), "\(resumed.stderr)")
        // The final report replaces the report so far.
        for name in ["progress.json", "progress.md", "progress.svg"] {
            #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("resumed/\(name)").path), "\(name) left behind")
        }
        let (a, b) = (try report("whole"), try report("resumed"))
        #expect((a["methods"] as! [String: [String: Double]]) == (b["methods"] as! [String: [String: Double]]))
        let metrics = { (report: [String: Any]) in
            (report["curves"] as! [String: [[String: Any]]]).mapValues { $0.map { $0["metrics"] as! [String: Double] } }
        }
        #expect(metrics(a) == metrics(b))

        let noDirectory = try CLIRunner.run(["experiment", "--resume"])
        #expect(noDirectory.status != 0 && noDirectory.stderr.contains("--resume needs --job-dir"), "\(noDirectory.stderr)")
    }
}
