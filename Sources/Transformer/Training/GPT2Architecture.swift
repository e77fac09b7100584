import Foundation

/// The shape of a GPT-2 model to train, and the Hugging Face `config.json` that describes it.
public struct GPT2Architecture: Codable, Sendable, Equatable {
    public var layers: Int
    /// n_embd.
    public var width: Int
    public var heads: Int
    public var vocabularySize: Int
    /// n_positions: the longest sequence.
    public var contextLength: Int
    /// The id of `<|endoftext|>` (bos, eos and pad).
    public var endOfTextID: Int
    /// n_inner, the MLP's hidden width (the keys' width d0 of an edit); nil is GPT-2's 4 × width.
    public var mlpWidth: Int?
    /// The MLP's activation_function (gelu_new, gelu or relu); nil is GPT-2's gelu_new.
    public var activation: String?

    /// The activations a trained model may use.
    public static let activations = ["gelu_new", "gelu", "relu"]

    public init(layers: Int, width: Int, heads: Int, vocabularySize: Int, contextLength: Int, endOfTextID: Int = 0,
                mlpWidth: Int? = nil, activation: String? = nil) {
        self.layers = layers
        self.width = width
        self.heads = heads
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.endOfTextID = endOfTextID
        self.mlpWidth = mlpWidth
        self.activation = activation
    }

    enum CodingKeys: String, CodingKey {
        case layers = "n_layer", width = "n_embd", heads = "n_head", vocabularySize = "vocab_size"
        case contextLength = "n_positions", endOfTextID = "eos_token_id", mlpWidth = "n_inner"
        case activation = "activation_function"
    }

    /// The MLP's hidden width.
    public var innerWidth: Int { mlpWidth ?? 4 * width }

    /// The first rule the values break, or nil.
    public var problem: String? {
        if layers < 1 { return "layers must be at least 1" }
        if width < 1 || heads < 1 || width % heads != 0 { return "width (\(width)) must be a positive multiple of heads (\(heads))" }
        if vocabularySize < 257 { return "vocabulary size must be at least 257 (256 bytes and <|endoftext|>)" }
        if contextLength < 2 { return "context length must be at least 2" }
        if let mlpWidth, mlpWidth < 1 { return "MLP width must be at least 1" }
        if let activation, !Self.activations.contains(activation) {
            return "activation \"\(activation)\" is not one of \(Self.activations.joined(separator: ", "))"
        }
        return nil
    }

    /// Parameters: embeddings (tied head), positions, 4·d² + 2·d·f + 9·d + f per block (12·d² + 13·d
    /// for GPT-2's f = 4·d), final norm.
    public var parameterCount: Int {
        let d = width, f = innerWidth
        return vocabularySize * d + contextLength * d + layers * (4 * d * d + 2 * d * f + 9 * d + f) + 2 * d
    }

    /// transformers' GPT2Config for this shape, as `save_pretrained` writes it (sorted keys,
    /// 2-space indent): gelu_new unless `activation` says otherwise, layer-norm epsilon 1e-5, tied
    /// embeddings, no dropout.
    public var configJSON: String {
        let eot = endOfTextID
        let fields: [(String, String)] = [
            ("activation_function", "\"\(activation ?? "gelu_new")\""),
            ("architectures", "[\n    \"GPT2LMHeadModel\"\n  ]"),
            ("attn_pdrop", "0.0"),
            ("bos_token_id", "\(eot)"),
            ("embd_pdrop", "0.0"),
            ("eos_token_id", "\(eot)"),
            ("initializer_range", "0.02"),
            ("layer_norm_epsilon", "1e-05"),
            ("model_type", "\"gpt2\""),
            ("n_ctx", "\(contextLength)"),
            ("n_embd", "\(width)"),
            ("n_head", "\(heads)"),
            ("n_inner", mlpWidth.map(String.init) ?? "null"),
            ("n_layer", "\(layers)"),
            ("n_positions", "\(contextLength)"),
            ("pad_token_id", "\(eot)"),
            ("reorder_and_upcast_attn", "false"),
            ("resid_pdrop", "0.0"),
            ("scale_attn_by_inverse_layer_idx", "false"),
            ("scale_attn_weights", "true"),
            ("summary_activation", "null"),
            ("summary_first_dropout", "0.0"),
            ("summary_proj_to_labels", "true"),
            ("summary_type", "\"cls_index\""),
            ("summary_use_proj", "true"),
            ("tie_word_embeddings", "true"),
            ("torch_dtype", "\"float32\""),
            ("use_cache", "true"),
            ("vocab_size", "\(vocabularySize)"),
        ]
        return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// generation_config.json: greedy by default, stop and pad at `<|endoftext|>`.
    public var generationConfigJSON: String {
        """
        {
          "bos_token_id": \(endOfTextID),
          "do_sample": false,
          "eos_token_id": \(endOfTextID),
          "pad_token_id": \(endOfTextID)
        }

        """
    }

    /// The runtime's view of this architecture.
    public func modelConfig() throws -> ModelConfig {
        try ModelConfig.parse(data: Data(configJSON.utf8))
    }
}

extension TransformerModel {
    /// Writes a Hugging Face GPT-2 folder: config.json, generation_config.json and
    /// model.safetensors (every parameter under transformers' name, float32 or `dtype`).
    /// Tokenizer files are written by `BPETrainer` (or copied by the caller).
    /// - Throws: file-system and `SafetensorsError`s.
    public func writeHuggingFaceGPT2(architecture: GPT2Architecture, to directory: URL, dtype: DType = .F32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = CheckpointWriter()
        for binding in bindings {
            try writer.add(name: binding.name, floats: weights[keyPath: binding.path].elements, shape: binding.shape, as: dtype)
        }
        try writer.write(to: directory)
        try AtomicFile.writeText(architecture.configJSON, to: directory.appendingPathComponent("config.json"))
        try AtomicFile.writeText(architecture.generationConfigJSON, to: directory.appendingPathComponent("generation_config.json"))
    }
}

extension AtomicFile {
    /// Writes UTF-8 text atomically (temporary sibling, fsync, rename).
    static func writeText(_ text: String, to url: URL) throws {
        try write(url) { try $0.write(Array(text.utf8)) }
    }
}
