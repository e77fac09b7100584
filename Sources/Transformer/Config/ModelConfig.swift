import Foundation

/// The architecture of a decoder-only checkpoint, read from its Hugging Face `config.json`.
///
/// One value describes all supported families; the family-specific readers
/// (`ModelConfig+GPT2.swift`, `ModelConfig+GPTJ.swift`, `ModelConfig+Llama.swift`) map each
/// config.json dialect onto it. Unknown keys are ignored, as transformers does.
public struct ModelConfig: Sendable, Equatable {
    public enum Normalization: Sendable, Equatable {
        /// LayerNorm with weight and bias (GPT-2, GPT-J).
        case layerNorm(epsilon: Double)
        /// RMSNorm with weight only (Llama, Mistral, Qwen2).
        case rmsNorm(epsilon: Double)

        public var epsilon: Double {
            switch self {
            case .layerNorm(let epsilon), .rmsNorm(let epsilon): return epsilon
            }
        }
    }

    public enum Activation: String, Sendable, Equatable {
        /// GPT-2's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
        case geluTanh = "gelu_new"
        /// Exact erf GELU (`gelu`).
        case gelu = "gelu"
        /// SiLU, used gated (`silu(gate) * up`) by the Llama family.
        case silu = "silu"
        case relu = "relu"

        init?(huggingFaceName name: String) {
            switch name {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
            case "gelu": self = .gelu
            case "silu", "swish": self = .silu
            case "relu": self = .relu
            default: return nil
            }
        }
    }

    /// Llama-3 style frequency scaling of rotary embeddings (`rope_type: "llama3"`), or linear scaling.
    public enum RopeScaling: Sendable, Equatable {
        case linear(factor: Double)
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double,
                    originalMaxPositions: Int)
    }

    public enum PositionEncoding: Sendable, Equatable {
        /// A learned table of `maxPositions × hiddenSize` (GPT-2's `wpe`).
        case learned
        /// Rotary embeddings on the first `dimensions` of each head.
        /// `interleaved`: GPT-J's rotate-every-two layout; otherwise Llama's rotate-half.
        case rotary(dimensions: Int, theta: Double, interleaved: Bool, scaling: RopeScaling?)
    }

    public var modelType: ModelType
    public var layerCount: Int
    /// d1: width of the residual stream.
    public var hiddenSize: Int
    /// d0: width of the MLP inner layer (the AlphaEdit key width).
    public var intermediateSize: Int
    public var headCount: Int
    /// Key/value heads (grouped-query attention when smaller than `headCount`).
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var vocabularySize: Int
    public var maxPositions: Int
    public var normalization: Normalization
    public var activation: Activation
    public var positionEncoding: PositionEncoding
    public var tiesWordEmbeddings: Bool
    /// q/k/v projections carry biases (GPT-2's c_attn, Qwen2, Llama with `attention_bias`).
    public var attentionBias: Bool
    /// MLP projections carry biases (GPT-2, GPT-J, Llama with `mlp_bias`).
    public var mlpBias: Bool
    /// The LM head carries a bias (GPT-J).
    public var lmHeadBias: Bool
    /// GPT-J computes attention and MLP in parallel from one norm.
    public var parallelResidual: Bool
    /// Sliding-window attention width (Mistral), if any.
    public var slidingWindow: Int?
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    /// The dtype the checkpoint declares (`dtype` or `torch_dtype`), e.g. "float32", "bfloat16".
    public var declaredDType: String?

    /// Reads `<directory>/config.json`.
    public static func load(directory: URL) throws -> ModelConfig {
        try load(file: directory.appendingPathComponent("config.json"))
    }

    /// Reads a config.json file.
    public static func load(file: URL) throws -> ModelConfig {
        let path = file.path
        guard FileManager.default.fileExists(atPath: path) else { throw ConfigError.missingFile(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw ConfigError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(data: data, path: path)
    }

    /// Parses the bytes of a config.json; `path` is used in error messages.
    public static func parse(data: Data, path: String = "config.json") throws -> ModelConfig {
        let json = try JSONObject(path: path, data: data)
        let typeName = try json.string("model_type")
        guard let type = ModelType(rawValue: typeName) else {
            throw ConfigError.unsupportedModelType(path: path, found: typeName)
        }
        var config: ModelConfig
        switch type {
        case .gpt2: config = try gpt2(json)
        case .gptj: config = try gptj(json)
        case .llama, .mistral, .qwen2: config = try llamaFamily(json, type: type)
        }
        config.bosTokenID = try json.optionalInt("bos_token_id")
        config.eosTokenIDs = try json.optionalIntList("eos_token_id") ?? []
        config.declaredDType = try json.optionalString("dtype") ?? json.optionalString("torch_dtype")
        try config.validate(path: path)
        return config
    }

    /// Largest width accepted (hidden, intermediate, vocabulary, heads × head dimension): 2^20,
    /// 16× the largest published models; with at most 2^16 layers and 2^28 positions the
    /// parameter counts cannot overflow.
    static let maxWidth = 1 << 20
    static let maxLayers = 1 << 16
    static let maxPositionCount = 1 << 28

    func validate(path: String) throws {
        let gptStyle = modelType == .gpt2 || modelType == .gptj
        func bound(_ value: Int, _ limit: Int, _ field: String) throws {
            guard value <= limit else {
                throw ConfigError.invalidField(path: path, field: field, reason: "is \(value), more than the \(limit) this package supports")
            }
        }
        try bound(hiddenSize, Self.maxWidth, gptStyle ? "n_embd" : "hidden_size")
        try bound(intermediateSize, Self.maxWidth, gptStyle ? "n_inner" : "intermediate_size")
        try bound(vocabularySize, Self.maxWidth, "vocab_size")
        try bound(layerCount, Self.maxLayers, gptStyle ? "n_layer" : "num_hidden_layers")
        try bound(maxPositions, Self.maxPositionCount, gptStyle ? "n_positions" : "max_position_embeddings")
        guard headDimension > 0 else {
            throw ConfigError.invalidField(path: path, field: gptStyle ? "n_head" : "head_dim",
                                reason: "gives a head dimension of \(headDimension); it must be positive")
        }
        guard keyValueHeadCount > 0 else {
            throw ConfigError.invalidField(path: path, field: "num_key_value_heads", reason: "must be positive, found \(keyValueHeadCount)")
        }
        let (queryWidth, overflow) = headCount.multipliedReportingOverflow(by: headDimension)
        guard !overflow, queryWidth <= Self.maxWidth else {
            throw ConfigError.invalidField(path: path, field: gptStyle ? "n_head" : "head_dim",
                                reason: "\(headCount) heads of \(headDimension) exceed the \(Self.maxWidth) this package supports")
        }
        guard hiddenSize == queryWidth || !gptStyle else {
            throw ConfigError.invalidField(path: path, field: "n_head",
                                reason: "must divide n_embd (\(hiddenSize) is not a multiple of \(headCount))")
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw ConfigError.invalidField(path: path, field: "num_key_value_heads",
                                reason: "must divide num_attention_heads (\(headCount) is not a multiple of \(keyValueHeadCount))")
        }
        if case .rotary(let dimensions, _, _, _) = positionEncoding {
            guard dimensions > 0, dimensions <= headDimension, dimensions % 2 == 0 else {
                throw ConfigError.invalidField(path: path, field: "rotary_dim",
                                    reason: "must be even and at most the head dimension \(headDimension), found \(dimensions)")
            }
        }
    }

    // MARK: Derived sizes

    /// Parameters of the model as stored (embeddings, blocks, norms, head unless tied).
    public var parameterCount: Int {
        embeddingParameterCount + layerCount * blockParameterCount + headParameterCount
    }

    /// Parameters of one decoder block (attention, MLP, norms, biases).
    public var blockParameterCount: Int {
        let d = hiddenSize, f = intermediateSize, kv = keyValueHeadCount * headDimension
        let q = headCount * headDimension
        var perBlock = d * q + 2 * d * kv + q * d              // q, k, v, o
        if attentionBias { perBlock += q + 2 * kv }
        if modelType == .gpt2 || modelType == .gptj { perBlock += d }     // output projection bias
        switch modelType {
        case .gpt2, .gptj: perBlock += 2 * d * f + (mlpBias ? f + d : 0)
        case .llama, .mistral, .qwen2: perBlock += 3 * d * f + (mlpBias ? 2 * f + d : 0)
        }
        switch normalization {
        case .layerNorm: perBlock += (parallelResidual ? 1 : 2) * 2 * d
        case .rmsNorm: perBlock += 2 * d
        }
        return perBlock
    }

    /// Parameters before the first block: the token embedding and a learned position table.
    public var embeddingParameterCount: Int {
        vocabularySize * hiddenSize + (positionEncoding == .learned ? maxPositions * hiddenSize : 0)
    }

    /// Parameters after the last block: the final norm and the LM head unless it is tied to the
    /// token embedding (a process that holds the head but not the embedding then needs its own
    /// copy of that table).
    public var headParameterCount: Int {
        let d = hiddenSize
        var total: Int
        switch normalization {
        case .layerNorm: total = 2 * d
        case .rmsNorm: total = d
        }
        if !tiesWordEmbeddings { total += vocabularySize * d }
        if lmHeadBias { total += vocabularySize }
        return total
    }
}
