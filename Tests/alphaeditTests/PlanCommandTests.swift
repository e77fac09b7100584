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
        let json = try CLIRunner.run(["plan", "--model", model + "/config.json", "--config", model + "/alphaedit-hparams.json",
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
