import Foundation
import Testing
@testable import Transformer

@Suite struct ModelConfigTests {
    @Test func readsEveryFixtureModel() throws {
        for folder in FixturePaths.hfModelFolders {
            let config = try ModelConfig.load(directory: FixturePaths.hfReference(folder))
            #expect(config.layerCount == 2, "\(folder)")
            #expect(config.hiddenSize == 64, "\(folder)")
            #expect(config.vocabularySize == 512, "\(folder)")
            #expect(config.headCount == 4, "\(folder)")
        }
    }

    @Test func gpt2Geometry() throws {
        let config = try ModelConfig.load(directory: FixturePaths.hfReference("gpt2"))
        #expect(config.modelType == .gpt2)
        #expect(config.intermediateSize == 256)
        #expect(config.headDimension == 16)
        #expect(config.positionEncoding == .learned)
        #expect(config.normalization == .layerNorm(epsilon: 1e-5))
        #expect(config.activation == .geluTanh)
        #expect(config.tiesWordEmbeddings)
        #expect(config.maxPositions == 128)
        #expect(config.declaredDType == "float32")
        #expect(try ModelConfig.load(directory: FixturePaths.hfReference("gpt2-bf16")).declaredDType == "bfloat16")
    }

    @Test func gptjGeometry() throws {
        let config = try ModelConfig.load(directory: FixturePaths.hfReference("gptj"))
        #expect(config.modelType == .gptj)
        #expect(config.positionEncoding == .rotary(dimensions: 8, theta: 10_000, interleaved: true, scaling: nil))
        #expect(config.parallelResidual)
        #expect(config.lmHeadBias)
        #expect(!config.attentionBias)
        #expect(!config.tiesWordEmbeddings)
    }

    @Test func llamaAndQwen2Geometry() throws {
        let llama = try ModelConfig.load(directory: FixturePaths.hfReference("llama"))
        #expect(llama.modelType == .llama)
        #expect(llama.intermediateSize == 172)
        #expect(llama.keyValueHeadCount == 2)
        #expect(llama.headDimension == 16)
        #expect(llama.normalization == .rmsNorm(epsilon: 1e-5))
        #expect(llama.positionEncoding == .rotary(dimensions: 16, theta: 500_000, interleaved: false, scaling: nil))
        #expect(!llama.attentionBias)
        #expect(llama.eosTokenIDs == [1])

        let qwen = try ModelConfig.load(directory: FixturePaths.hfReference("qwen2"))
        #expect(qwen.modelType == .qwen2)
        #expect(qwen.attentionBias)
        #expect(qwen.tiesWordEmbeddings)
        #expect(qwen.normalization == .rmsNorm(epsilon: 1e-6))
        #expect(qwen.positionEncoding == .rotary(dimensions: 16, theta: 1_000_000, interleaved: false, scaling: nil))
    }

    @Test func legacyRopeKeysAndLlama3Scaling() throws {
        let json = """
        {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
         "intermediate_size": 128, "vocab_size": 100, "rope_theta": 500000.0, "torch_dtype": "bfloat16",
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
         "eos_token_id": [128001, 128009]}
        """
        let config = try ModelConfig.parse(data: Data(json.utf8))
        #expect(config.positionEncoding == .rotary(
            dimensions: 16, theta: 500_000, interleaved: false,
            scaling: .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192)))
        #expect(config.declaredDType == "bfloat16")
        #expect(config.eosTokenIDs == [128001, 128009])
    }

    @Test func mistralReadsSlidingWindow() throws {
        let json = """
        {"model_type": "mistral", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1,
         "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100, "sliding_window": 4096}
        """
        let config = try ModelConfig.parse(data: Data(json.utf8))
        #expect(config.modelType == .mistral)
        #expect(config.slidingWindow == 4096)
        #expect(config.keyValueHeadCount == 1)
    }

    @Test func parameterCountMatchesTheCheckpoint() throws {
        // gpt2 fixture: tied head; wte 512x64, wpe 128x64, 2 blocks, ln_f.
        let gpt2 = try ModelConfig.load(directory: FixturePaths.hfReference("gpt2"))
        let block = 2 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 2 * 64 + 64 * 256 + 256 + 256 * 64 + 64
        #expect(gpt2.parameterCount == 512 * 64 + 128 * 64 + 2 * block + 2 * 64)
        // llama fixture: untied head, GQA (kv width 32), no biases.
        let llama = try ModelConfig.load(directory: FixturePaths.hfReference("llama"))
        let llamaBlock = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 172 + 2 * 64
        #expect(llama.parameterCount == 2 * 512 * 64 + 2 * llamaBlock + 64)
    }

    @Test func unsupportedModelTypeNamesTheSupportedOnes() {
        let error = #expect(throws: ConfigError.self) {
            try ModelConfig.parse(data: Data(#"{"model_type": "bert"}"#.utf8), path: "/m/config.json")
        }
        #expect(error?.description == #"/m/config.json: model_type "bert" is not supported (supported: gpt2, gptj, llama, mistral, qwen2)"#)
    }

    @Test func missingAndInvalidFieldsAreNamed() {
        let missing = #expect(throws: ConfigError.self) {
            try ModelConfig.parse(data: Data(#"{"model_type": "gpt2", "n_embd": 64, "n_head": 4}"#.utf8))
        }
        #expect(missing == .missingField(path: "config.json", field: "n_layer"))
        let invalid = #expect(throws: ConfigError.self) {
            try ModelConfig.parse(data: Data(#"{"model_type": "gpt2", "n_embd": "wide"}"#.utf8))
        }
        #expect(invalid == .invalidField(path: "config.json", field: "n_embd", reason: "must be an integer"))
        let notJSON = #expect(throws: ConfigError.self) { try ModelConfig.parse(data: Data("{".utf8)) }
        #expect(notJSON?.description.hasPrefix("config.json: not a JSON object") == true)
        let badHeads = #expect(throws: ConfigError.self) {
            try ModelConfig.parse(data: Data(#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 3, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 9}"#.utf8))
        }
        #expect(badHeads?.description.contains("num_key_value_heads") == true)
    }

    @Test func missingFileIsNamed() {
        let error = #expect(throws: ConfigError.self) {
            try ModelConfig.load(directory: URL(fileURLWithPath: "/nonexistent-model"))
        }
        #expect(error == .missingFile(path: "/nonexistent-model/config.json"))
    }
}
