import Foundation
import Testing

/// `alphaedit plan`: prints the memory model and the plan, as JSON too; refuses what cannot fit.
@Suite struct PlanCommandTests {
    let model = CLIRunner.repositoryRoot.appendingPathComponent("Models/knowledge-gpt2").path

    @Test func printsTheMemoryModelAndAShardedPlan() throws {
        let result = try CLIRunner.run(["plan", "--model", model, "--layers", "0,1", "--workers", "3", "--worker-memory", "100MiB"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("memory model (8 blocks, width 256, d0 1024"))
        #expect(result.stdout.contains("edit state per edit layer"))
        #expect(result.stdout.contains("plan: layer-sharded over 3 workers"))
        // the edit layers are given here, so that the plan does not follow the shipped hparams' choice
        let json = try CLIRunner.run(["plan", "--model", model + "/config.json", "--layers", "0,1",
                                      "--memory", "100MiB,100MiB,100MiB", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        #expect(report["placement"] as? String == "layer-sharded")
        let stages = report["stages"] as! [[String: Any]]
        #expect(stages.map { $0["first_block"] as? Int } == [0, 1, 2])
        #expect(stages.map { $0["last_block"] as? Int } == [0, 1, 7])
        #expect(stages.allSatisfy { ($0["total"] as! Int) <= ($0["budget"] as! Int) })
    }

    @Test func replicatedWhenEachWorkerHoldsTheModel() throws {
        let result = try CLIRunner.run(["plan", "--model", model, "--layers", "0,1", "--workers", "2", "--worker-memory", "1GiB"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("plan: replicated over 2 workers"))
    }

    @Test(arguments: [
        (["--layers", "0,1", "--workers", "2", "--worker-memory", "30MiB"], "no placement of the 8-block model fits"),
        (["--layers", "0,1", "--workers", "2", "--worker-memory", "lots"], "--worker-memory: 'lots' is not a size"),
        (["--layers", "0,9", "--workers", "2"], "edit layer 9 is outside the model's blocks 0-7"),
        (["--layers", "0,1", "--memory", "1GiB,1GiB", "--placement", "0-3,5-7"], "--placement '0-3,5-7': block 4 is not placed"),
        (["--layers", "0,1"], "give --workers N"),
    ])
    func refusesWithTheReason(arguments: [String], message: String) throws {
        let result = try CLIRunner.run(["plan", "--model", model] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}

/// A layer-sharded worker's load, from the command line: `inspect --load-blocks` reads only the
/// stage's tensors, and the process's peak resident memory stays below a process that loads the
/// whole model by at least half of the bytes it left out.
@Suite struct StageLoadCommandTests {
    let model = CLIRunner.repositoryRoot.appendingPathComponent("Models/knowledge-gpt2").path

    func stage(_ blocks: String) throws -> [String: Any] {
        let result = try CLIRunner.run(["inspect", "--model", model, "--json", "--no-tensors", "--load-blocks", blocks])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        return report["stage"] as! [String: Any]
    }

    @Test func aStageReadsOnlyItsBlocksAndStaysSmallerThanTheWholeModel() throws {
        let part = try stage("2-3"), whole = try stage("all")
        // Blocks 2 and 3 of the shipped model: 2 × 789,760 float32 parameters.
        #expect(part["bytes_read"] as? Int == 2 * 789_760 * 4)
        #expect(whole["bytes_read"] as? Int == 7_399_936 * 4)
        let partPeak = try #require(part["peak_rss_bytes"] as? Int), wholePeak = try #require(whole["peak_rss_bytes"] as? Int)
        let leftOut = (7_399_936 - 2 * 789_760) * 4
        #expect(partPeak + leftOut / 2 < wholePeak, "peak RSS \(partPeak) for blocks 2-3, \(wholePeak) for the whole model")
        let bad = try CLIRunner.run(["inspect", "--model", model, "--load-blocks", "3-9"])
        #expect(bad.status != 0 && bad.stderr.contains("are not a non-empty range of the model's 8 blocks"), "\(bad.stderr)")
    }
}
