import Foundation
import Testing
import Linalg
@testable import Transformer

/// A forward pass, its backward pass and a generation run as stages, each holding only its
/// blocks' weights (as layer-sharded workers do), give the whole model's bits.
struct StagePipelineTests {
    func stages(_ directory: URL, split: [Range<Int>]) throws -> [TransformerModel] {
        let config = try ModelConfig.load(directory: directory)
        return try split.map { try ModelStage.load(config: config, checkpoint: try Checkpoint(directory: directory), blocks: $0, directoryName: "fixture").model }
    }

    func batch(_ config: ModelConfig) -> TokenBatch {
        var generator = SplitMix64(seed: 7)
        let sequences = [9, 6, 4].map { n in (0..<n).map { _ in Int(generator.next() % UInt64(config.vocabularySize)) } }
        return TokenBatch(sequences, padding: .right)
    }

    @Test(arguments: ["gpt2", "gptj", "llama", "qwen2"])
    func forwardAndBackwardThroughStagesEqualTheWholeModel(model name: String) throws {
        let directory = FixturePaths.hfReference(name)
        let whole = try TransformerModel.load(directory: directory)
        let config = whole.config
        let parts = try stages(directory, split: [0..<1, 1..<2])
        let tokens = batch(config)
        let rows = [2, 8, 10, 20]
        let hooks = Hooks(capture: [.mlpDownInput(0), .blockOutput(1)], logitRows: rows)

        // Whole: resumed after block 0, as the target optimisation does, with a tape.
        let (prefix, _) = whole.forward(tokens, hooks: Hooks(capture: [.blockOutput(0)], stopAfterBlock: 0))
        let hidden0 = prefix.captured[.blockOutput(0)]!
        let (result, _) = whole.forward(tokens, hooks: hooks)
        var dLogits = Matrix<Float>(rows: rows.count, cols: result.logits!.cols, repeating: 0)
        for i in dLogits.elements.indices { dLogits.elements[i] = Float((i * 7919) % 23) / 23 - 0.5 }
        let (resumed, resumedTape) = whole.forward(tokens, hooks: Hooks(logitRows: rows), from: (1, hidden0), keepTape: true)
        let wholeGradient = whole.backward(resumedTape!, dLogits: dLogits, inputGradient: true).inputGradient!

        // Stages: embed and block 0 on the first, block 1 and the head on the second.
        var captured: [HookPoint: Matrix<Float>] = [:]
        var h = parts[0].embed(tokens, hooks: hooks, captured: &captured)
        (h, _) = parts[0].runBlocks(h, batch: tokens, blocks: 0..<1, hooks: hooks, keepTape: true, captured: &captured)
        #expect(h.elements == hidden0.elements)
        let (out1, _) = parts[1].runBlocks(h, batch: tokens, blocks: 1..<2, hooks: hooks, keepTape: false, captured: &captured)
        let (logits, _) = parts[1].head(out1, hooks: hooks, keepTape: false, captured: &captured)
        #expect(logits.elements == result.logits!.elements, "\(name) logits")
        #expect(captured[.mlpDownInput(0)]?.elements == result.captured[.mlpDownInput(0)]?.elements, "\(name) keys")
        #expect(captured[.blockOutput(1)]?.elements == result.captured[.blockOutput(1)]?.elements, "\(name) block 1 output")

        // Captures of only some rows (what a key pass returns) are those rows of the whole capture.
        let kept = [9, 2, 20]
        var rowsOnly: [HookPoint: Matrix<Float>] = [:]
        let keptHooks = Hooks(capture: [.mlpDownInput(0), .blockOutput(1)], captureRows: kept)
        let k0 = parts[0].embed(tokens, hooks: keptHooks, captured: &rowsOnly)
        let (k1, _) = parts[0].runBlocks(k0, batch: tokens, blocks: 0..<1, hooks: keptHooks, keepTape: false, captured: &rowsOnly)
        _ = parts[1].runBlocks(k1, batch: tokens, blocks: 1..<2, hooks: keptHooks, keepTape: false, captured: &rowsOnly)
        for point in [HookPoint.mlpDownInput(0), .blockOutput(1)] {
            let all = result.captured[point]!
            #expect(rowsOnly[point]?.rows == kept.count, "\(name) \(point) rows")
            #expect(rowsOnly[point]?.elements == kept.flatMap { all.row($0) }, "\(name) \(point) kept rows")
        }
        #expect(whole.forward(tokens, hooks: keptHooks).0.captured[.blockOutput(1)]?.elements == rowsOnly[.blockOutput(1)]?.elements)

        // Backward from the resumed pass's logits through the second stage.
        var none: [HookPoint: Matrix<Float>] = [:]
        let (resumedOut, resumedBlocks) = parts[1].runBlocks(hidden0, batch: tokens, blocks: 1..<2, hooks: Hooks(logitRows: rows), keepTape: true, captured: &none)
        let (resumedLogits, resumedHead) = parts[1].head(resumedOut, hooks: Hooks(logitRows: rows), keepTape: true, captured: &none)
        #expect(resumedLogits.elements == resumed.logits!.elements)
        var g = parts[1].backwardHead(resumedHead!, dLogits: dLogits)
        g = parts[1].backwardBlocks(resumedBlocks!, gradient: g)
        #expect(g.elements == wholeGradient.elements, "\(name) input gradient")
    }

    @Test(arguments: ["gpt2", "llama"])
    func generationThroughStagesEqualsTheWholeModel(model name: String) throws {
        let directory = FixturePaths.hfReference(name)
        let whole = try TransformerModel.load(directory: directory)
        let parts = try stages(directory, split: [0..<1, 1..<2])
        let prompts = [[5, 9, 13], [7, 2]]
        let expected = whole.generate(prompts: prompts, maxNewTokens: 6, sampling: .topK(5), seed: 11)
        let batch = TokenBatch(prompts, padding: .left)
        var first = StageGenerator(config: whole.config, blocks: 0..<1, batchSize: 2, capacity: batch.length + 6)
        var second = StageGenerator(config: whole.config, blocks: 1..<2, batchSize: 2, capacity: batch.length + 6)
        let staged = TransformerModel.generate(batch: batch, maxNewTokens: 6, sampling: .topK(5), seed: 11, stopTokens: []) { step in
            let h = first.step(model: parts[0], batch: step, input: nil)
            return second.step(model: parts[1], batch: step, input: h)
        }
        #expect(staged == expected)
    }
}
