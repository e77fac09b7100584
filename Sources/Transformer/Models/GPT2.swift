/// GPT-2 (`GPT2LMHeadModel`): learned positions, pre-LayerNorm blocks, fused q/k/v, Conv1D
/// weights stored `[in, out]`, LM head tied to `wte`.
enum GPT2: ModelFamily {
    static func skeleton(_ c: ModelConfig) -> ModelWeights {
        let d = c.hiddenSize, f = c.intermediateSize
        let block = BlockWeights(
            norm1: Zeros.norm(d, bias: true), norm2: Zeros.norm(d, bias: true),
            attention: AttentionWeights(fusedQKV: Zeros.linear(d, 3 * d, bias: true, layout: .inOut),
                                        query: nil, key: nil, value: nil,
                                        output: Zeros.linear(d, d, bias: true, layout: .inOut)),
            mlp: MLPWeights(up: Zeros.linear(d, f, bias: true, layout: .inOut), gate: nil,
                            down: Zeros.linear(f, d, bias: true, layout: .inOut)))
        return ModelWeights(
            tokenEmbedding: Zeros.matrix(c.vocabularySize, d), positionEmbedding: Zeros.matrix(c.maxPositions, d),
            blocks: Array(repeating: block, count: c.layerCount), finalNorm: Zeros.norm(d, bias: true),
            lmHead: c.tiesWordEmbeddings ? nil : Zeros.linear(d, c.vocabularySize, bias: false, layout: .outIn))
    }

    static func bindings(_ c: ModelConfig) -> [ParameterBinding] {
        let d = c.hiddenSize, f = c.intermediateSize
        var list = BindingList()
        list.add("transformer.wte.weight", [c.vocabularySize, d], \.tokenEmbedding)
        list.add("transformer.wpe.weight", [c.maxPositions, d], \.positionEmbedding!)
        for i in 0..<c.layerCount {
            let p = "transformer.h.\(i)."
            list.add(p + "ln_1.weight", [d], \.blocks[i].norm1.weight)
            list.add(p + "ln_1.bias", [d], \.blocks[i].norm1.bias!)
            list.add(p + "attn.c_attn.weight", [d, 3 * d], \.blocks[i].attention.fusedQKV!.weight)
            list.add(p + "attn.c_attn.bias", [3 * d], \.blocks[i].attention.fusedQKV!.bias!)
            list.add(p + "attn.c_proj.weight", [d, d], \.blocks[i].attention.output.weight)
            list.add(p + "attn.c_proj.bias", [d], \.blocks[i].attention.output.bias!)
            list.add(p + "ln_2.weight", [d], \.blocks[i].norm2!.weight)
            list.add(p + "ln_2.bias", [d], \.blocks[i].norm2!.bias!)
            list.add(p + "mlp.c_fc.weight", [d, f], \.blocks[i].mlp.up.weight)
            list.add(p + "mlp.c_fc.bias", [f], \.blocks[i].mlp.up.bias!)
            list.add(p + "mlp.c_proj.weight", [f, d], \.blocks[i].mlp.down.weight)
            list.add(p + "mlp.c_proj.bias", [d], \.blocks[i].mlp.down.bias!)
        }
        list.add("transformer.ln_f.weight", [d], \.finalNorm.weight)
        list.add("transformer.ln_f.bias", [d], \.finalNorm.bias!)
        if !c.tiesWordEmbeddings { list.add("lm_head.weight", [c.vocabularySize, d], \.lmHead!.weight) }
        return list.items
    }

    static func canonicalName(_ name: String) -> String? {
        // Older GPT-2 files carry the causal-mask buffers; they are not parameters.
        if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { return nil }
        if name.hasPrefix("transformer.") || name.hasPrefix("lm_head.") { return name }
        return "transformer." + name  // the original `gpt2` files omit the prefix
    }
}
