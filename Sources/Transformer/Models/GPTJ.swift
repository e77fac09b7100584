/// GPT-J (`GPTJForCausalLM`): one LayerNorm feeding attention and MLP in parallel, q/k/v/out
/// without biases, partial interleaved rotary embeddings, untied LM head with bias.
enum GPTJ: ModelFamily {
    static func skeleton(_ c: ModelConfig) -> ModelWeights {
        let d = c.hiddenSize, f = c.intermediateSize
        let block = BlockWeights(
            norm1: Zeros.norm(d, bias: true), norm2: nil,
            attention: AttentionWeights(fusedQKV: nil,
                                        query: Zeros.linear(d, d, bias: false, layout: .outIn),
                                        key: Zeros.linear(d, d, bias: false, layout: .outIn),
                                        value: Zeros.linear(d, d, bias: false, layout: .outIn),
                                        output: Zeros.linear(d, d, bias: false, layout: .outIn)),
            mlp: MLPWeights(up: Zeros.linear(d, f, bias: true, layout: .outIn), gate: nil,
                            down: Zeros.linear(f, d, bias: true, layout: .outIn)))
        return ModelWeights(
            tokenEmbedding: Zeros.matrix(c.vocabularySize, d), positionEmbedding: nil,
            blocks: Array(repeating: block, count: c.layerCount), finalNorm: Zeros.norm(d, bias: true),
            lmHead: c.tiesWordEmbeddings ? nil : Zeros.linear(d, c.vocabularySize, bias: true, layout: .outIn))
    }

    static func bindings(_ c: ModelConfig) -> [ParameterBinding] {
        let d = c.hiddenSize, f = c.intermediateSize
        var list = BindingList()
        list.add("transformer.wte.weight", [c.vocabularySize, d], \.tokenEmbedding)
        for i in 0..<c.layerCount {
            let p = "transformer.h.\(i)."
            list.add(p + "ln_1.weight", [d], \.blocks[i].norm1.weight)
            list.add(p + "ln_1.bias", [d], \.blocks[i].norm1.bias!)
            list.add(p + "attn.q_proj.weight", [d, d], \.blocks[i].attention.query!.weight)
            list.add(p + "attn.k_proj.weight", [d, d], \.blocks[i].attention.key!.weight)
            list.add(p + "attn.v_proj.weight", [d, d], \.blocks[i].attention.value!.weight)
            list.add(p + "attn.out_proj.weight", [d, d], \.blocks[i].attention.output.weight)
            list.add(p + "mlp.fc_in.weight", [f, d], \.blocks[i].mlp.up.weight)
            list.add(p + "mlp.fc_in.bias", [f], \.blocks[i].mlp.up.bias!)
            list.add(p + "mlp.fc_out.weight", [d, f], \.blocks[i].mlp.down.weight)
            list.add(p + "mlp.fc_out.bias", [d], \.blocks[i].mlp.down.bias!)
        }
        list.add("transformer.ln_f.weight", [d], \.finalNorm.weight)
        list.add("transformer.ln_f.bias", [d], \.finalNorm.bias!)
        if !c.tiesWordEmbeddings {
            list.add("lm_head.weight", [c.vocabularySize, d], \.lmHead!.weight)
            list.add("lm_head.bias", [c.vocabularySize], \.lmHead!.bias!)
        }
        return list.items
    }

    static func canonicalName(_ name: String) -> String? {
        // Causal-mask buffers of older files are not parameters.
        if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { return nil }
        return name
    }
}
