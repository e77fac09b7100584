extension ModelConfig {
    /// GPT-2 (`GPT2LMHeadModel`): learned positions, LayerNorm, Conv1D weights stored [in, out].
    static func gpt2(_ json: JSONObject) throws -> ModelConfig {
        let hidden = try json.positiveInt("n_embd")
        let heads = try json.positiveInt("n_head")
        let activationName = try json.optionalString("activation_function") ?? "gelu_new"
        guard let activation = Activation(huggingFaceName: activationName) else {
            throw ConfigError.invalidField(path: json.path, field: "activation_function",
                                reason: "\"\(activationName)\" is not supported (gelu_new, gelu, relu)")
        }
        if try json.optionalBool("scale_attn_by_inverse_layer_idx") == true {
            throw ConfigError.invalidField(path: json.path, field: "scale_attn_by_inverse_layer_idx", reason: "true is not supported")
        }
        if try json.optionalBool("add_cross_attention") == true {
            throw ConfigError.invalidField(path: json.path, field: "add_cross_attention", reason: "true is not supported")
        }
        return ModelConfig(
            modelType: .gpt2,
            layerCount: try json.positiveInt("n_layer"),
            hiddenSize: hidden,
            intermediateSize: try json.optionalInt("n_inner") ?? 4 * hidden,
            headCount: heads,
            keyValueHeadCount: heads,
            headDimension: hidden / heads,
            vocabularySize: try json.positiveInt("vocab_size"),
            maxPositions: try json.positiveInt("n_positions"),
            normalization: .layerNorm(epsilon: try json.optionalDouble("layer_norm_epsilon") ?? 1e-5),
            activation: activation,
            positionEncoding: .learned,
            tiesWordEmbeddings: try json.optionalBool("tie_word_embeddings") ?? true,
            attentionBias: true,
            mlpBias: true,
            lmHeadBias: false,
            parallelResidual: false,
            slidingWindow: nil,
            bosTokenID: nil,
            eosTokenIDs: [],
            declaredDType: nil
        )
    }
}
