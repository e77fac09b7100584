import Foundation
import Testing
import Linalg
@testable import Transformer

/// A stage of a model (layer-sharded placement) reads only its tensors: the bytes read from the
/// checkpoint are exactly those of the stage's parameters, shards it does not need are never
/// touched, and what it holds equals the whole model's weights.
struct ModelStageTests {
    /// Every parameter of a stage, by name, with its matrix.
    func matrices(_ weights: ModelWeights, _ bindings: [ParameterBinding]) -> [String: Matrix<Float>] {
        Dictionary(uniqueKeysWithValues: bindings.map { ($0.name, weights[keyPath: $0.path]) })
    }

    /// The coordinator of a layer-sharded edit reads only the down projections of the edit layers.
    @Test(arguments: ["gpt2", "gptj", "llama", "qwen2"])
    func downProjectionsOnly(model name: String) throws {
        let directory = FixturePaths.hfReference(name)
        let config = try ModelConfig.load(directory: directory)
        let whole = try TransformerModel.load(directory: directory)
        let checkpoint = try Checkpoint(directory: directory)
        let stage = try ModelStage.load(config: config, checkpoint: checkpoint, downProjectionsOf: [1], directoryName: name)
        #expect(!stage.bindings.isEmpty && stage.bindings.allSatisfy { $0.block == 1 })
        #expect(stage.bindings.contains { $0.path == \ModelWeights.blocks[1].mlp.down.weight })
        #expect(stage.weights.blocks[1].mlp.down.weight.elements == whole.weights.blocks[1].mlp.down.weight.elements)
        #expect(stage.weights.blocks[1].mlp.down.bias?.elements == whole.weights.blocks[1].mlp.down.bias?.elements)
        #expect(stage.weights.blocks[1].mlp.up.weight.elements.isEmpty && stage.weights.blocks[0].mlp.down.weight.elements.isEmpty)
        #expect(stage.weights.tokenEmbedding.elements.isEmpty)
        let expected = try stage.bindings.reduce(0) { sum, binding in
            let stored = checkpoint.tensorNames.first { config.modelType.canonicalTensorName($0) == binding.name }!
            return sum + (try checkpoint.info(stored)).byteCount
        }
        #expect(checkpoint.bytesRead == expected, "\(name): read \(checkpoint.bytesRead) bytes, the down projection has \(expected)")
    }

    @Test(arguments: ["gpt2", "gptj", "llama", "llama-sharded", "qwen2", "gpt2-bf16"])
    func aStageReadsOnlyItsTensors(model name: String) throws {
        let directory = FixturePaths.hfReference(name)
        let config = try ModelConfig.load(directory: directory)
        let whole = try TransformerModel.load(directory: directory)
        let wholeMatrices = matrices(whole.weights, whole.bindings)
        let totalBytes = try Checkpoint(directory: directory).files.reduce(0) { sum, file in
            sum + file.tensors.reduce(0) { $0 + $1.byteCount }
        }
        for blocks in [0..<1, 1..<2, 0..<2] {
            let checkpoint = try Checkpoint(directory: directory)   // fresh byte counters
            let stage = try ModelStage.load(config: config, checkpoint: checkpoint, blocks: blocks, directoryName: name)
            // Exactly the stage's tensors were read.
            let expected = try stage.bindings.reduce(0) { sum, binding in
                let stored = checkpoint.tensorNames.first { config.modelType.canonicalTensorName($0) == binding.name }!
                return sum + (try checkpoint.info(stored)).byteCount
            }
            #expect(checkpoint.bytesRead == expected, "\(name) blocks \(blocks)")
            if blocks != 0..<2 { #expect(checkpoint.bytesRead < totalBytes, "\(name) blocks \(blocks) read the whole model") }
            // The right parameters, with the whole model's values; nothing else held.
            #expect(stage.bindings.allSatisfy { $0.block.map(blocks.contains) ?? true })
            #expect(stage.bindings.contains { $0.block == blocks.lowerBound })
            #expect(stage.bindings.contains { $0.path == \ModelWeights.tokenEmbedding } == (blocks.lowerBound == 0 || (blocks.upperBound == 2 && config.tiesWordEmbeddings)))
            for (tensor, matrix) in matrices(stage.weights, stage.bindings) {
                #expect(matrix.elements == wholeMatrices[tensor]?.elements, "\(name) \(tensor)")
            }
            for (i, block) in stage.weights.blocks.enumerated() where !blocks.contains(i) {
                #expect(block.mlp.down.weight.elements.isEmpty && block.norm1.weight.elements.isEmpty)
            }
            if blocks.upperBound < 2 { #expect(stage.weights.finalNorm.weight.elements.isEmpty) }
        }
    }

    /// A stage holding neither the embedding nor the head never builds their zeros on its way to
    /// dropping them (a 128k × 8192 vocabulary is 4 GB).
    @Test(arguments: ["gpt2", "gptj", "llama"])
    func aStageWithoutTheVocabularyBuildsNoVocabularySizedZeros(type: String) throws {
        let config = try ModelConfig.parse(data: Data(#"""
            {"model_type": "\#(type)", "n_layer": 3, "n_embd": 16, "n_head": 2, "n_positions": 64, "vocab_size": 1000000,
             "num_hidden_layers": 3, "hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
             "max_position_embeddings": 64, "tie_word_embeddings": false, "rotary_dim": 4}
            """#.utf8))
        let middle = ModelStage.skeleton(config, vocabulary: false, positions: false)
        #expect(middle.tokenEmbedding.elements.isEmpty && (middle.lmHead?.weight.elements.isEmpty ?? true))
        #expect(middle.positionEmbedding?.elements.isEmpty ?? true)
        #expect(middle.blocks.count == 3 && middle.blocks[1].mlp.down.weight.elements.count == config.intermediateSize * 16)
        let first = ModelStage.skeleton(config, vocabulary: true, positions: true)
        #expect(first.tokenEmbedding.rows == 1_000_000)
    }

    @Test func aStageOfAShardedCheckpointLeavesOtherShardsUntouched() throws {
        let directory = FixturePaths.hfReference("llama-sharded")
        let checkpoint = try Checkpoint(directory: directory)
        // Block 1's tensors are in shards 2 and 3 (its norm in 2); shard 1 holds the embedding and head.
        _ = try ModelStage.load(config: try ModelConfig.load(directory: directory), checkpoint: checkpoint, blocks: 1..<2,
                                directoryName: "llama-sharded")
        let read = checkpoint.files.map(\.bytesRead)
        // The last stage holds the head (lm_head and norm): shard 1 is read for lm_head only.
        let shard1Head = try checkpoint.files[0].info("lm_head.weight").byteCount
        #expect(read[0] == shard1Head, "\(read)")
        #expect(read[1] > 0 && read[2] > 0)
    }

    @Test func aBadRangeIsRefused() throws {
        let directory = FixturePaths.hfReference("gpt2")
        let config = try ModelConfig.load(directory: directory)
        for blocks in [0..<0, 1..<3, 2..<3] {
            #expect(throws: ModelLoadError.self) {
                try ModelStage.load(config: config, checkpoint: try Checkpoint(directory: directory), blocks: blocks, directoryName: "gpt2")
            }
        }
    }
}
