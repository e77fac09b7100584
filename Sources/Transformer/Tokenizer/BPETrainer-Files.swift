import Foundation

extension BPETrainer.Model {
    /// tokenizer.json as the `tokenizers` library writes a GPT-2 tokenizer: the special tokens as
    /// added tokens, no normalizer, ByteLevel pre-tokenizer (GPT-2 regex, no prefix space),
    /// post-processor and decoder, and a BPE model with the vocabulary in id order and the merges
    /// as `["left", "right"]` pairs.
    public var tokenizerJSON: String {
        func quoted(_ s: String) -> String { SafetensorsJSON.quoted(s) }
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        out += specialTokens.enumerated().map { id, token in
            """

                {
                  "id": \(id),
                  "content": \(quoted(token)),
                  "single_word": false,
                  "lstrip": false,
                  "rstrip": false,
                  "normalized": false,
                  "special": true
                }
            """
        }.joined(separator: ",")
        out += """

          ],
          "normalizer": null,
          "pre_tokenizer": {
            "type": "ByteLevel",
            "add_prefix_space": false,
            "trim_offsets": true,
            "use_regex": true
          },
          "post_processor": {
            "type": "ByteLevel",
            "add_prefix_space": true,
            "trim_offsets": false,
            "use_regex": true
          },
          "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": true,
            "trim_offsets": true,
            "use_regex": true
          },
          "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": false,
            "vocab": {
        """
        out += "\n" + tokens.enumerated().map { id, token in "      \(quoted(token)): \(id)" }.joined(separator: ",\n")
        out += "\n    },\n    \"merges\": ["
        out += merges.map { "\n      [\n        \(quoted($0.0)),\n        \(quoted($0.1))\n      ]" }.joined(separator: ",")
        out += merges.isEmpty ? "]\n  }\n}" : "\n    ]\n  }\n}"
        return out
    }

    /// tokenizer_config.json for transformers' GPT-2 tokenizer: the first special token is bos,
    /// eos, pad and unk; no BOS is added; no clean-up of spaces on decode.
    public func tokenizerConfigJSON(modelMaxLength: Int) -> String {
        let first = SafetensorsJSON.quoted(specialTokens.first ?? "<|endoftext|>")
        let decoder = specialTokens.enumerated().map { id, token in
            """
                "\(id)": {
                  "content": \(SafetensorsJSON.quoted(token)),
                  "lstrip": false,
                  "normalized": false,
                  "rstrip": false,
                  "single_word": false,
                  "special": true
                }
            """
        }.joined(separator: ",\n")
        return """
        {
          "add_bos_token": false,
          "add_prefix_space": false,
          "added_tokens_decoder": {
        \(decoder)
          },
          "bos_token": \(first),
          "clean_up_tokenization_spaces": false,
          "eos_token": \(first),
          "errors": "replace",
          "model_max_length": \(modelMaxLength),
          "pad_token": \(first),
          "tokenizer_class": "GPT2Tokenizer",
          "unk_token": \(first)
        }

        """
    }

    /// Writes tokenizer.json and tokenizer_config.json into `directory` (created if needed),
    /// each atomically.
    public func write(to directory: URL, modelMaxLength: Int) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(directory.appendingPathComponent("tokenizer.json")) { try $0.write(Array(tokenizerJSON.utf8)) }
        try AtomicFile.write(directory.appendingPathComponent("tokenizer_config.json")) {
            try $0.write(Array(tokenizerConfigJSON(modelMaxLength: modelMaxLength).utf8))
        }
    }
}
