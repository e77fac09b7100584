import Foundation
import Testing
import Transformer

/// Inputs the libFuzzer harnesses (Fuzz/) found that trapped or misbehaved, each now a typed,
/// one-line error naming the file and the field.
@Suite struct FuzzRegressionTests {
    static func configError(_ json: String) -> ConfigError? {
        #expect(throws: ConfigError.self) { try ModelConfig.parse(data: Data(json.utf8), path: "fuzz/config.json") }
    }

    /// FuzzModelConfig: `num_key_value_heads: 0` divided by zero in validation.
    @Test func zeroKeyValueHeadsIsAnError() throws {
        let error = try #require(Self.configError("""
            {"model_type":"mistral","hidden_size":16,"num_attention_heads":4,"num_key_value_heads":0,"num_hidden_layers":4,
             "intermediate_size":32,"vocab_size":64}
            """))
        #expect(error == .invalidField(path: "fuzz/config.json", field: "num_key_value_heads", reason: "must be positive, found 0"))
    }

    /// Sizes whose products overflow (heads × head_dim, parameter counts) are refused when read,
    /// so `parameterCount` and the shard planner can never trap.
    @Test func absurdSizesAreRefused() throws {
        let llama = #"{"model_type":"llama","hidden_size":16,"num_attention_heads":4611686018427387904,"head_dim":4,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":9}"#
        #expect(Self.configError(llama)?.description.contains("\"head_dim\"") == true)
        let wide = #"{"model_type":"gpt2","n_embd":1099511627776,"n_head":1,"n_layer":1,"vocab_size":9,"n_positions":8}"#
        #expect(Self.configError(wide)?.description.contains("\"n_embd\" is 1099511627776, more than") == true)
        let deep = #"{"model_type":"llama","hidden_size":16,"num_attention_heads":4,"num_hidden_layers":4294967296,"intermediate_size":8,"vocab_size":9}"#
        #expect(Self.configError(deep)?.description.contains("\"num_hidden_layers\"") == true)
        let negativeHead = #"{"model_type":"llama","hidden_size":16,"num_attention_heads":4,"head_dim":-4,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":9}"#
        #expect(Self.configError(negativeHead)?.description.contains("\"head_dim\"") == true)
        // The largest accepted sizes still give parameter counts.
        let big = try ModelConfig.parse(data: Data(#"{"model_type":"llama","hidden_size":1048576,"num_attention_heads":8192,"num_hidden_layers":65536,"intermediate_size":1048576,"vocab_size":1048576,"max_position_embeddings":268435456}"#.utf8))
        #expect(big.parameterCount > 0)
    }

    /// FuzzModelConfig: a config.json with leading zeros in a number (invalid JSON) gave an error
    /// whose description (Foundation's reason) spans lines.
    @Test func configErrorsAreOneLine() throws {
        let json = #"{"model_type":"qwen2","hidden_size":16,"rope_parameters\n":{"rope_theti":0000100.0}}"#
        let error = try #require(Self.configError(json))
        #expect(!error.description.contains("\n"))
        let type = try #require(Self.configError(#"{"model_type":"gpt\n2"}"#))
        #expect(type.description.hasPrefix(#"fuzz/config.json: model_type "gpt\n2" is not supported"#))
    }

    /// A minimal byte-level BPE tokenizer.json with `extra` merged into the top level.
    static func tokenizerJSON(vocabID: Int = 0, addedID: Int = 3, templateID: Int) -> Data {
        Data("""
        {"added_tokens":[{"id":\(addedID),"content":"<s>","special":true}],
         "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},"decoder":{"type":"ByteLevel"},
         "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
           "pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
           "special_tokens":{"<s>":{"id":"<s>","ids":[\(templateID)],"tokens":["<s>"]}}},
         "model":{"type":"BPE","vocab":{"a":\(vocabID),"b":1,"ab":2},"merges":["a b"]}}
        """.utf8)
    }

    /// FuzzTokenizer: a template's special token id that names no token was emitted by `encode`
    /// (and would index past a model's embedding table).
    @Test func templateIDsMustNameTokens() throws {
        let tokenizer = try Tokenizer(json: Self.tokenizerJSON(templateID: 3))
        #expect(tokenizer.encode("ab") == [3, 2])
        let error = #expect(throws: TokenizerError.self) { try Tokenizer(json: Self.tokenizerJSON(templateID: 5), path: "fuzz/tokenizer.json") }
        #expect(error == .invalidField(path: "fuzz/tokenizer.json", field: "post_processor.special_tokens",
                                       reason: "gives \"<s>\" the id 5, which names no token of the vocabulary or added_tokens"))
    }

    /// Ids index dense tables: an id of 10^12 must be refused before they are allocated.
    @Test func absurdTokenIDsAreRefusedBeforeAllocating() throws {
        let vocab = #expect(throws: TokenizerError.self) { try Tokenizer(json: Self.tokenizerJSON(vocabID: 1_000_000_000_000, templateID: 3)) }
        #expect(vocab?.description.contains("model.vocab") == true)
        let added = #expect(throws: TokenizerError.self) { try Tokenizer(json: Self.tokenizerJSON(addedID: Int.max, templateID: 1)) }
        #expect(added?.description.contains("added_tokens[0].id") == true)
    }
}
