extension ModelConfig {
    /// GPT-J (`GPTJForCausalLM`): one LayerNorm feeding attention and MLP in parallel, partial
    /// interleaved rotary embeddings, no attention biases, an LM head with bias.
    static func gptj(_ json: JSONObject) throws -> ModelConfig {
        let hidden = try json.positiveInt("n_embd")
        let heads = try json.positiveInt("n_head")
        let headDimension = hidden / heads
        let activationName = try json.optionalString("activation_function") ?? "gelu_new"
        guard let activation = Activation(huggingFaceName: activationName) else {
            throw ConfigError.invalidField(path: json.path, field: "activation_function",
                                reason: "\"\(activationName)\" is not supported (gelu_new, gelu, relu)")
        }
        let rotaryDimensions = try json.optionalInt("rotary_dim") ?? headDimension
        return ModelConfig(
            modelType: .gptj,
            layerCount: try json.positiveInt("n_layer"),
            hiddenSize: hidden,
            intermediateSize: try json.optionalInt("n_inner") ?? 4 * hidden,
            headCount: heads,
            keyValueHeadCount: heads,
            headDimension: headDimension,
            vocabularySize: try json.positiveInt("vocab_size"),
            maxPositions: try json.positiveInt("n_positions"),
            normalization: .layerNorm(epsilon: try json.optionalDouble("layer_norm_epsilon") ?? 1e-5),
            activation: activation,
            positionEncoding: .rotary(dimensions: rotaryDimensions, theta: 10_000, interleaved: true, scaling: nil),
            tiesWordEmbeddings: try json.optionalBool("tie_word_embeddings") ?? false,
            attentionBias: false,
            mlpBias: true,
            lmHeadBias: true,
            parallelResidual: true,
            slidingWindow: nil,
            bosTokenID: nil,
            eosTokenIDs: [],
            declaredDType: nil
        )
    }
}
