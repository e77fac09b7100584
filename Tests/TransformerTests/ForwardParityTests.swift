import Foundation
import Linalg
import Testing
@testable import Transformer

/// Forward passes against Hugging Face transformers' tensors for every fixture model.
@Suite struct ForwardParityTests {
    static let tolerance = 1e-4

    @Test(arguments: FixturePaths.hfModelFolders, ["right", "left"])
    func hiddenStatesKeysAndLogits(folder: String, side: String) throws {
        let fixture = try ReferenceFixture(folder)
        let batch = try fixture.batch(side)
        let layers = fixture.model.config.layerCount
        var capture: Set<HookPoint> = [.embeddings, .finalNorm]
        for l in 0..<layers { capture.formUnion([.mlpDownInput(l), .mlpOutput(l), .blockOutput(l)]) }
        let (result, _) = fixture.model.forward(batch, hooks: Hooks(capture: capture))

        var checks: [(String, Matrix<Float>)] = [("hidden.0", result.captured[.embeddings]!),
                                                 ("final_norm", result.captured[.finalNorm]!),
                                                 ("logits", result.logits!)]
        for l in 0..<layers {
            checks.append(("mlp_down_in.\(l)", result.captured[.mlpDownInput(l)]!))
            checks.append(("mlp_out.\(l)", result.captured[.mlpOutput(l)]!))
            checks.append(("hidden.\(l + 1)", result.captured[.blockOutput(l)]!))
        }
        for (name, ours) in checks {
            let error = relativeMaxError(ours, try fixture.matrix("\(side).\(name)"), rows: batch.mask)
            #expect(error < Self.tolerance, "\(folder) \(side).\(name): relative error \(error)")
            if ProcessInfo.processInfo.environment["ALPHAEDIT_PRINT_ERRORS"] != nil { print("\(folder) \(side).\(name) \(error)") }
        }
    }

    @Test func shardedCheckpointLoadsTheSameWeights() throws {
        let whole = try TransformerModel.load(directory: FixturePaths.hfReference("llama"))
        let sharded = try TransformerModel.load(directory: FixturePaths.hfReference("llama-sharded"))
        for binding in whole.bindings {
            #expect(whole.weights[keyPath: binding.path] == sharded.weights[keyPath: binding.path], "\(binding.name)")
        }
    }

    @Test func stoppingEarlyGivesTheSameKeys() throws {
        let fixture = try ReferenceFixture("gpt2")
        let batch = try fixture.batch("right")
        let (full, _) = fixture.model.forward(batch, hooks: Hooks(capture: [.mlpDownInput(0)]))
        let (early, _) = fixture.model.forward(batch, hooks: Hooks(capture: [.mlpDownInput(0)], stopAfterBlock: 0))
        #expect(early.logits == nil)
        #expect(early.captured[.mlpDownInput(0)] == full.captured[.mlpDownInput(0)])
    }

    @Test func resumingFromAHiddenStateGivesTheSameLogits() throws {
        let fixture = try ReferenceFixture("llama")
        let batch = try fixture.batch("right")
        let (full, _) = fixture.model.forward(batch, hooks: Hooks(capture: [.blockOutput(0)]))
        let (resumed, _) = fixture.model.forward(batch, from: (layer: 1, hidden: full.captured[.blockOutput(0)]!))
        #expect(resumed.logits == full.logits)
    }

    @Test func moduleNamesResolveLikeTheOfficialTemplates() throws {
        let gpt2 = ModuleNames(config: try ModelConfig.load(directory: FixturePaths.hfReference("gpt2")))
        #expect(gpt2.hookPoint(module: "transformer.h.1.mlp.c_proj", input: true) == .mlpDownInput(1))
        #expect(gpt2.hookPoint(module: "transformer.h.1.mlp.c_proj", input: false) == .mlpOutput(1))
        #expect(gpt2.hookPoint(module: "transformer.h.1", input: false) == .blockOutput(1))
        #expect(gpt2.hookPoint(module: "transformer.h.0", input: true) == .embeddings)
        #expect(gpt2.hookPoint(module: "transformer.h.2", input: false) == nil)
        #expect(gpt2.hookPoint(module: "transformer.ln_f", input: false) == .finalNorm)
        let gptj = ModuleNames(config: try ModelConfig.load(directory: FixturePaths.hfReference("gptj")))
        #expect(gptj.hookPoint(module: ModuleNames.format("transformer.h.{}.mlp.fc_out", layer: 1), input: true) == .mlpDownInput(1))
        let llama = ModuleNames(config: try ModelConfig.load(directory: FixturePaths.hfReference("qwen2")))
        #expect(llama.hookPoint(module: "model.layers.0.mlp.down_proj", input: true) == .mlpDownInput(0))
        #expect(llama.hookPoint(module: "model.layers.1", input: false) == .blockOutput(1))
        #expect(llama.hookPoint(module: "model.norm", input: false) == .finalNorm)
    }
}
