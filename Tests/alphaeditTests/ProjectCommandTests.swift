import Foundation
import Testing

/// `alphaedit project`, run as a user runs it.
@Suite struct ProjectCommandTests {
    /// The official statistics of layer 1, imported, give the official null-space dimension.
    @Test func officialStatisticsGiveTheOfficialNullSpace() throws {
        let work = try CLIRunner.temporaryDirectory()
        let stats = work.appendingPathComponent("stats").path
        let hparams = try CLIFixture.hparams(samples: 2000, layers: [1], in: work)
        let imported = try CLIRunner.run(["stats", "import", "--model", CLIFixture.model, "--config", hparams, "--stats-dir", stats, "-q",
                                          CLIRunner.fixture("npz/oracle/transformer.h.1.mlp.c_proj_float32_mom2_2000.npz")])
        #expect(imported.status == 0, "\(imported.stderr)")
        let arguments = ["project", "--model", CLIFixture.model, "--config", hparams, "--stats-dir", stats]
        let result = try CLIRunner.run(arguments + ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let layer = (try CLIFixture.json(result.stdout)["layers"] as! [[String: Any]])[0]
        #expect(layer["layer"] as! Int == 1 && layer["width"] as! Int == 512 && layer["threshold"] as! Double == 0.02)
        #expect(layer["null_space_dim"] as! Int == 349)   // oracle.json projector.1.null_space_dim
        #expect(layer["cached"] as! Bool == false)
        let near = layer["eigenvalues_near_threshold"] as! [Double]
        #expect(near.count == 3 && near.allSatisfy { abs($0 - 0.02) < 1e-3 })
        #expect((layer["below"] as! Double) < 0.02 && (layer["above"] as! Double) >= 0.02)
        #expect(FileManager.default.fileExists(atPath: layer["path"] as! String))
        #expect(result.stderr.contains("null space 349 of 512"), "\(result.stderr)")

        // Text, from the cache.
        let text = try CLIRunner.run(arguments + ["-q"])
        #expect(text.status == 0 && text.stderr.isEmpty)
        #expect(text.stdout.hasPrefix("layer 1  transformer.h.1.mlp.c_proj  null space 349 of 512  (λ < 0.02; nearest: "), "\(text.stdout)")
        #expect(text.stdout.contains("cached"))

        // Another threshold, another projector.
        let wide = try CLIRunner.run(arguments + ["--threshold", "0.5", "--json", "-q"])
        #expect(wide.status == 0, "\(wide.stderr)")
        let dimension = (try CLIFixture.json(wide.stdout)["layers"] as! [[String: Any]])[0]["null_space_dim"] as! Int
        #expect(dimension > 349)
    }

    @Test func computesMissingStatisticsFromACorpus() throws {
        let work = try CLIRunner.temporaryDirectory()
        let hparams = try CLIFixture.hparams(samples: 100, in: work)
        let stats = work.appendingPathComponent("stats").path
        let arguments = ["project", "--model", CLIFixture.model, "--config", hparams, "--stats-dir", stats, "--json", "-q"]
        let missing = try CLIRunner.run(arguments)
        #expect(missing.isOneLineError && missing.stderr.contains("no statistics for layer 1") && missing.stderr.contains("stats import"),
                "\(missing.stderr)")
        let result = try CLIRunner.run(arguments + ["--corpus", CLIFixture.corpus])
        #expect(result.status == 0, "\(result.stderr)")
        let layers = try CLIFixture.json(result.stdout)["layers"] as! [[String: Any]]
        #expect(layers.map { $0["layer"] as! Int } == [1, 2])
        #expect(layers.allSatisfy { ($0["null_space_dim"] as! Int) > 0 && ($0["null_space_dim"] as! Int) < 512 })
    }

    @Test func refusesStatisticsOfAnotherModel() throws {
        let work = try CLIRunner.temporaryDirectory()
        let hparams = try CLIFixture.hparams(samples: 40, in: work)
        let stats = work.appendingPathComponent("stats").path
        #expect(try CLIRunner.run(["stats", "--model", CLIFixture.model, "--config", hparams, "--corpus", CLIFixture.corpus,
                                   "--stats-dir", stats, "-q"]).status == 0)
        // Same folder name "model", other weights: the cached statistics are not its own.
        let other = try CLIFixture.perturbedModel(in: work.appendingPathComponent("other"))
        let result = try CLIRunner.run(["project", "--model", other, "--config", hparams, "--stats-dir", stats, "-q"])
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("transformer.h.1.mlp.c_proj_float32_mom2_40.safetensors: statistics were made for model"), "\(result.stderr)")
        #expect(result.stderr.contains("compute them again with `alphaedit stats`"))
        // Bad options.
        let threshold = try CLIRunner.run(["project", "--model", CLIFixture.model, "--config", hparams, "--threshold", "0"])
        #expect(threshold.status != 0 && threshold.stderr.hasPrefix("Error: --threshold must be a positive number"), "\(threshold.stderr)")
        let layers = try CLIFixture.hparams(samples: 40, layers: [1, 7], in: work)
        let range = try CLIRunner.run(["project", "--model", CLIFixture.model, "--config", layers, "--stats-dir", stats, "-q"])
        #expect(range.isOneLineError && range.stderr.contains("names layer 7, but the model has layers 0…3"), "\(range.stderr)")
    }
}
