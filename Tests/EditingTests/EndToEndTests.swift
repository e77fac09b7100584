import Foundation
import Linalg
import Testing
@testable import Editing
@testable import Transformer

/// Whole edit jobs: from the corpus and the requests to the written checkpoint, against the
/// official run (relative Frobenius error of the total deltas).
@Suite(.serialized) struct EndToEndTests {
    /// Runs `alphaedit edit`'s job on an oracle: its 6 requests in batches of 3, its templates.
    func runJob(_ oracle: OracleFixture, algorithm: EditAlgorithm, requests: Range<Int> = 0..<6,
                output: URL? = nil, stats: URL? = nil, state: URL? = nil) throws -> (URL, EditJobSummary) {
        let work = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                               appropriateFor: FileManager.default.temporaryDirectory, create: true)
        let requestsFile = work.appendingPathComponent("requests.json")
        let all = oracle.json.objectValue!["requests"]!.arrayValue!
        try JSONEncoder().encode(JSONValue.array(Array(all[requests]))).write(to: requestsFile)
        let out = output ?? work.appendingPathComponent("out")
        var configuration = EditJobConfiguration(modelDirectory: oracle.modelDirectory, hparamsFile: oracle.hparamsURL,
                                                 requestsFile: requestsFile, outputDirectory: out,
                                                 statsDirectory: stats ?? work.appendingPathComponent("stats"))
        configuration.algorithm = algorithm
        configuration.corpus = oracle.directory.appendingPathComponent("stats_corpus.txt")
        configuration.batchSize = 3
        configuration.contextTemplatesFile = oracle.directory.appendingPathComponent("oracle.json")
        configuration.stateFile = state
        let summary = try EditJob(configuration).run()
        return (out, summary)
    }

    func deltas(_ out: URL) throws -> SafetensorsFile {
        try SafetensorsFile(url: out.appendingPathComponent("alphaedit-deltas.safetensors"))
    }

    /// The official total delta of a layer in the checkpoint's layout: final − original weight.
    func officialDelta(_ oracle: OracleFixture, layer: Int, name: String) throws -> Matrix<Float> {
        let original = try Checkpoint(directory: oracle.modelDirectory)
        let shape = try original.info(name).shape
        let before = Matrix(rows: shape[0], cols: shape[1], elements: try original.floats(name))
        var final = try oracle.matrix("final.L\(layer).weight")   // [d0, d1], key-major
        if shape[0] != final.rows { final = final.transposed() }
        return final - before
    }

    /// GPT-2 oracle: end to end within 1e-2. The Llama oracle's official projector carries the
    /// float32 SVD noise measured in ProjectorTests (‖ΔP‖/‖P‖ ≈ 0.1) and every AlphaEdit delta lies
    /// in range(P), so its end-to-end deltas are only checked to 0.35 here (measured 0.31 and 0.17)
    /// and to 1e-2 with the official projector in `llamaDeltasWithTheOfficialProjector`.
    @Test(arguments: OracleFixture.names)
    func alphaEditDeltasMatchTheOfficialRun(oracle name: String) throws {
        let oracle = try OracleFixture(name)
        let (out, summary) = try runJob(oracle, algorithm: .alphaedit)
        #expect(summary.batches == 2)
        let file = try deltas(out)
        let names = ModuleNames(config: try ModelConfig.load(directory: oracle.modelDirectory))
        for layer in oracle.layers {
            let tensor = names.downProjection(layer) + ".weight"
            let shape = try file.info(tensor).shape
            let ours = Matrix(rows: shape[0], cols: shape[1], elements: try file.floats(tensor))
            let error = ours.relativeError(to: try officialDelta(oracle, layer: layer, name: tensor))
            #expect(error < (name == "alphaedit-oracle" ? 1e-2 : 0.35), "\(name) layer \(layer): total delta relative error \(error)")
        }
        // The written checkpoint holds original + delta.
        let edited = try TransformerModel.load(directory: out)
        let original = try TransformerModel.load(directory: oracle.modelDirectory)
        for layer in oracle.layers {
            let tensor = names.downProjection(layer) + ".weight"
            let shape = try file.info(tensor).shape
            let delta = Matrix(rows: shape[0], cols: shape[1], elements: try file.floats(tensor))
            let expected = original.weights.blocks[layer].mlp.down.weight + delta
            #expect(edited.weights.blocks[layer].mlp.down.weight.maxAbsDifference(expected) < 1e-6)
        }
        let log = try String(contentsOf: out.appendingPathComponent("edits.jsonl"), encoding: .utf8)
        #expect(log.split(separator: "\n").count == 6)
    }

    /// The Llama oracle from the requests to the total deltas, with the official projectors.
    @Test func llamaDeltasWithTheOfficialProjector() throws {
        let oracle = try OracleFixture("alphaedit-oracle-llama")
        var model = try oracle.model()
        let original = model.weights
        let editor = BatchEditor(tokenizer: try oracle.tokenizer(), hparams: try oracle.hparams())
        var state = EditState(algorithm: .alphaedit,
                              layerStates: try oracle.layers.map { LayerEditState(layer: $0, constraint: .projector(try oracle.symmetric("P.L\($0).triu"))) },
                              templates: try oracle.templates(), modelFingerprint: "oracle")
        let requests = try oracle.requests()
        for b in 0..<2 { _ = try editor.apply(Array(requests[(3 * b)..<(3 * b + 3)]), to: &model, state: &state) }
        for layer in oracle.layers {
            let tensor = "model.layers.\(layer).mlp.down_proj.weight"
            let ours = model.weights.blocks[layer].mlp.down.weight - original.blocks[layer].mlp.down.weight
            let error = ours.relativeError(to: try officialDelta(oracle, layer: layer, name: tensor))
            #expect(error < 1e-2, "layer \(layer): total delta relative error \(error)")
        }
    }

    @Test func memitDeltasMatchTheOfficialFactors() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let (out, _) = try runJob(oracle, algorithm: .memit, requests: 0..<3)
        let file = try deltas(out)
        for layer in oracle.layers {
            let tensor = "transformer.h.\(layer).mlp.c_proj.weight"
            let shape = try file.info(tensor).shape
            let ours = Matrix(rows: shape[0], cols: shape[1], elements: try file.floats(tensor))
            let official = Matrix<Float>(matmul(try oracle.doubleMatrix("memit.L\(layer).adj_k"),
                                                try oracle.doubleMatrix("memit.L\(layer).resid"), transposeB: true))
            let error = ours.relativeError(to: official)
            #expect(error < 1e-2, "MEMIT layer \(layer): delta relative error \(error)")
        }
    }

    @Test func continuingFromTheStateEqualsOneRun() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let work = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                               appropriateFor: FileManager.default.temporaryDirectory, create: true)
        let stats = work.appendingPathComponent("stats")
        let (whole, _) = try runJob(oracle, algorithm: .alphaedit, output: work.appendingPathComponent("whole"), stats: stats)
        let (first, _) = try runJob(oracle, algorithm: .alphaedit, requests: 0..<3, output: work.appendingPathComponent("first"), stats: stats)
        // Second half: start from the first output, with its state.
        let secondOracle = oracle
        let requestsFile = work.appendingPathComponent("second.json")
        try JSONEncoder().encode(JSONValue.array(Array(oracle.json.objectValue!["requests"]!.arrayValue![3..<6]))).write(to: requestsFile)
        var configuration = EditJobConfiguration(modelDirectory: first, hparamsFile: secondOracle.hparamsURL, requestsFile: requestsFile,
                                                 outputDirectory: work.appendingPathComponent("second"), statsDirectory: stats)
        configuration.stateFile = first.appendingPathComponent("alphaedit-state.safetensors")
        configuration.batchSize = 3
        _ = try EditJob(configuration).run()
        let a = try TransformerModel.load(directory: whole), b = try TransformerModel.load(directory: work.appendingPathComponent("second"))
        for layer in oracle.layers {
            #expect(a.weights.blocks[layer].mlp.down.weight == b.weights.blocks[layer].mlp.down.weight, "layer \(layer)")
        }
        let stateA = try SafetensorsFile(url: whole.appendingPathComponent("alphaedit-state.safetensors"))
        let stateB = try SafetensorsFile(url: work.appendingPathComponent("second/alphaedit-state.safetensors"))
        for layer in oracle.layers {
            #expect(try stateA.floats("layer.\(layer).cache") == stateB.floats("layer.\(layer).cache"))
        }
        // Reverting the continued run gives the first run's checkpoint back, with its edit count.
        let second = work.appendingPathComponent("second")
        let deltas = try SafetensorsFile(url: second.appendingPathComponent("alphaedit-deltas.safetensors"))
        #expect(deltas.metadata["edits"] == "6" && deltas.metadata["edits_before"] == "3")
        let reverted = work.appendingPathComponent("reverted")
        _ = try RevertJob(modelDirectory: second, deltasFile: second.appendingPathComponent("alphaedit-deltas.safetensors"),
                          outputDirectory: reverted).run()
        #expect(try Checkpoint(directory: reverted).metadata["alphaedit.edits"] == "3")
        let f = try TransformerModel.load(directory: first), r = try TransformerModel.load(directory: reverted)
        for layer in oracle.layers {
            let error = r.weights.blocks[layer].mlp.down.weight.relativeError(to: f.weights.blocks[layer].mlp.down.weight)
            #expect(error < 1e-6, "layer \(layer): reverted vs first run \(error)")
        }
    }

    /// For keys from the preserved subspace of the statistics, an AlphaEdit update changes the
    /// layer's output by less than 1e-3 of it; MEMIT's visibly more.
    @Test func alphaEditPreservesKeysOfThePreservedSubspace() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let layer = oracle.layers[0]
        let c0 = Matrix<Double>(try oracle.symmetric("cov.L\(layer).triu"))
        let projector = try NullSpaceProjector(layer: layer, secondMoment: c0, threshold: 0.02)
        let (values, vectors) = try symmetricEigen(c0)
        let model = try oracle.model()
        let weight = model.weights.blocks[layer].mlp.down.weight   // W̃ [d0, d1] (Conv1D)
        let keys = try oracle.matrix("b0.L\(layer).keys")
        let residuals = try oracle.matrix("b0.L\(layer).resid")
        let alpha = try WeightUpdate.alphaEdit(keys: keys, residuals: residuals, projector: projector.matrix,
                                               cache: Matrix(rows: keys.rows, cols: keys.rows, repeating: 0), l2: 10)
        let memit = try WeightUpdate.memit(keys: keys, residuals: residuals, secondMoment: c0, updateWeight: 20_000).delta
        var worstAlpha = 0.0, worstMemit = 0.0
        // Preserved subspace: eigenvectors with eigenvalue ≥ threshold (what P removes).
        for (j, value) in values.enumerated() where value >= 0.02 {
            let k = vectors.column(j).map(Float.init)
            func norm(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
            func ratio(_ delta: Matrix<Float>) -> Double {
                let change: [Float] = matvec(delta, k, transposeA: true)
                let output: [Float] = matvec(weight, k, transposeA: true)
                return norm(change) / norm(output)
            }
            worstAlpha = max(worstAlpha, ratio(alpha))
            worstMemit = max(worstMemit, ratio(memit))
        }
        #expect(worstAlpha < 1e-3, "AlphaEdit: worst ‖Δᵀk‖/‖W̃ᵀk‖ = \(worstAlpha)")
        #expect(worstMemit > 10 * worstAlpha, "MEMIT: worst ‖Δᵀk‖/‖W̃ᵀk‖ = \(worstMemit)")
    }
}
