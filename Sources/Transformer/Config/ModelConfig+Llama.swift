extension ModelConfig {
    /// Llama (also Llama-3), Mistral and Qwen2: RMSNorm, gated SiLU MLP, rotate-half rotary
    /// embeddings, grouped-query attention. Qwen2 always has q/k/v biases.
    static func llamaFamily(_ json: JSONObject, type: ModelType) throws -> ModelConfig {
        let hidden = try json.positiveInt("hidden_size")
        let heads = try json.positiveInt("num_attention_heads")
        let headDimension = try json.optionalInt("head_dim") ?? hidden / heads
        let activationName = try json.optionalString("hidden_act") ?? "silu"
        guard activationName == "silu" || activationName == "swish" else {
            throw ConfigError.invalidField(path: json.path, field: "hidden_act",
                                reason: "\"\(activationName)\" is not supported (silu)")
        }
        // transformers >= 5 nests theta and scaling in `rope_parameters`; older files use
        // `rope_theta` and `rope_scaling` at the top level.
        let ropeParameters = try json.optionalObject("rope_parameters")
        let defaultTheta: Double = type == .qwen2 ? 1_000_000 : 10_000
        let theta = try ropeParameters?.optionalDouble("rope_theta") ?? json.optionalDouble("rope_theta") ?? defaultTheta
        let scaling = try ropeScaling(ropeParameters ?? json.optionalObject("rope_scaling"),
                                      field: ropeParameters != nil ? "rope_parameters" : "rope_scaling", path: json.path)
        var slidingWindow: Int? = nil
        if type == .mistral {
            slidingWindow = try json.optionalInt("sliding_window")
        } else if type == .qwen2, try json.optionalBool("use_sliding_window") == true {
            slidingWindow = try json.optionalInt("sliding_window")
        }
        return ModelConfig(
            modelType: type,
            layerCount: try json.positiveInt("num_hidden_layers"),
            hiddenSize: hidden,
            intermediateSize: try json.positiveInt("intermediate_size"),
            headCount: heads,
            keyValueHeadCount: try json.optionalInt("num_key_value_heads") ?? heads,
            headDimension: headDimension,
            vocabularySize: try json.positiveInt("vocab_size"),
            maxPositions: try json.optionalInt("max_position_embeddings") ?? 2048,
            normalization: .rmsNorm(epsilon: try json.optionalDouble("rms_norm_eps") ?? 1e-6),
            activation: .silu,
            positionEncoding: .rotary(dimensions: headDimension, theta: theta, interleaved: false, scaling: scaling),
            tiesWordEmbeddings: try json.optionalBool("tie_word_embeddings") ?? false,
            attentionBias: type == .qwen2 ? true : (try json.optionalBool("attention_bias") ?? false),
            mlpBias: try json.optionalBool("mlp_bias") ?? false,
            lmHeadBias: false,
            parallelResidual: false,
            slidingWindow: slidingWindow,
            bosTokenID: nil,
            eosTokenIDs: [],
            declaredDType: nil
        )
    }

    private static func ropeScaling(_ object: JSONObject?, field: String, path: String) throws -> RopeScaling? {
        guard let object else { return nil }
        let type = try object.optionalString("rope_type") ?? object.optionalString("type") ?? "default"
        switch type {
        case "default":
            return nil
        case "linear":
            return .linear(factor: try object.double("factor"))
        case "llama3":
            return .llama3(
                factor: try object.double("factor"),
                lowFrequencyFactor: try object.double("low_freq_factor"),
                highFrequencyFactor: try object.double("high_freq_factor"),
                originalMaxPositions: try object.int("original_max_position_embeddings"))
        default:
            throw ConfigError.invalidField(path: path, field: "\(field).rope_type",
                                reason: "\"\(type)\" is not supported (default, linear, llama3)")
        }
    }
}
