/// Llama, Llama-3, Mistral and Qwen2: RMSNorm, rotate-half rotary embeddings, grouped-query
/// attention (Qwen2 with q/k/v biases), gated SiLU MLP, `nn.Linear` weights stored `[out, in]`.
enum Llama: ModelFamily {
    static func skeleton(_ c: ModelConfig) -> ModelWeights {
        let d = c.hiddenSize, f = c.intermediateSize
        let q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        let block = BlockWeights(
            norm1: Zeros.norm(d, bias: false), norm2: Zeros.norm(d, bias: false),
            attention: AttentionWeights(fusedQKV: nil,
                                        query: Zeros.linear(d, q, bias: c.attentionBias, layout: .outIn),
                                        key: Zeros.linear(d, kv, bias: c.attentionBias, layout: .outIn),
                                        value: Zeros.linear(d, kv, bias: c.attentionBias, layout: .outIn),
                                        output: Zeros.linear(q, d, bias: c.attentionBias && c.modelType != .qwen2, layout: .outIn)),
            mlp: MLPWeights(up: Zeros.linear(d, f, bias: c.mlpBias, layout: .outIn),
                            gate: Zeros.linear(d, f, bias: c.mlpBias, layout: .outIn),
                            down: Zeros.linear(f, d, bias: c.mlpBias, layout: .outIn)))
        return ModelWeights(
            tokenEmbedding: Zeros.matrix(c.vocabularySize, d), positionEmbedding: nil,
            blocks: Array(repeating: block, count: c.layerCount), finalNorm: Zeros.norm(d, bias: false),
            lmHead: c.tiesWordEmbeddings ? nil : Zeros.linear(d, c.vocabularySize, bias: false, layout: .outIn))
    }

    static func bindings(_ c: ModelConfig) -> [ParameterBinding] {
        let d = c.hiddenSize, f = c.intermediateSize
        let q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        let outputBias = c.attentionBias && c.modelType != .qwen2
        var list = BindingList()
        list.add("model.embed_tokens.weight", [c.vocabularySize, d], \.tokenEmbedding)
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            list.add(p + "input_layernorm.weight", [d], \.blocks[i].norm1.weight)
            list.add(p + "self_attn.q_proj.weight", [q, d], \.blocks[i].attention.query!.weight)
            list.add(p + "self_attn.k_proj.weight", [kv, d], \.blocks[i].attention.key!.weight)
            list.add(p + "self_attn.v_proj.weight", [kv, d], \.blocks[i].attention.value!.weight)
            if c.attentionBias {
                list.add(p + "self_attn.q_proj.bias", [q], \.blocks[i].attention.query!.bias!)
                list.add(p + "self_attn.k_proj.bias", [kv], \.blocks[i].attention.key!.bias!)
                list.add(p + "self_attn.v_proj.bias", [kv], \.blocks[i].attention.value!.bias!)
            }
            list.add(p + "self_attn.o_proj.weight", [d, q], \.blocks[i].attention.output.weight)
            if outputBias { list.add(p + "self_attn.o_proj.bias", [d], \.blocks[i].attention.output.bias!) }
            list.add(p + "post_attention_layernorm.weight", [d], \.blocks[i].norm2!.weight)
            list.add(p + "mlp.gate_proj.weight", [f, d], \.blocks[i].mlp.gate!.weight)
            list.add(p + "mlp.up_proj.weight", [f, d], \.blocks[i].mlp.up.weight)
            list.add(p + "mlp.down_proj.weight", [d, f], \.blocks[i].mlp.down.weight)
            if c.mlpBias {
                list.add(p + "mlp.gate_proj.bias", [f], \.blocks[i].mlp.gate!.bias!)
                list.add(p + "mlp.up_proj.bias", [f], \.blocks[i].mlp.up.bias!)
                list.add(p + "mlp.down_proj.bias", [d], \.blocks[i].mlp.down.bias!)
            }
        }
        list.add("model.norm.weight", [d], \.finalNorm.weight)
        if !c.tiesWordEmbeddings { list.add("lm_head.weight", [c.vocabularySize, d], \.lmHead!.weight) }
        return list.items
    }

    static func canonicalName(_ name: String) -> String? {
        // Rotary caches saved by some exporters are not parameters.
        if name.hasSuffix(".rotary_emb.inv_freq") { return nil }
        return name
    }
}
