import Foundation
import Testing
import Transformer

/// Malformed or unsupported tokenizer files give one-line `TokenizerError`s naming the file and the field.
@Suite struct TokenizerErrorTests {
    static let gpt2 = FixturePaths.hfReference("tokenizer-gpt2")
    static let llama = FixturePaths.hfReference("tokenizer-llama3")

    /// Writes `tokenizer.json` (the fixture's, edited) and `tokenizer_config.json` to a temporary
    /// directory, loads it, and returns the error.
    static func loadError(
        from source: URL = gpt2,
        tokenizer edit: (inout [String: Any]) -> Void = { _ in },
        rawTokenizer: Data? = nil,
        config: String? = nil
    ) throws -> (TokenizerError?, URL) {
        let directory = try FixturePaths.temporaryDirectory("tokenizer-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try Data(contentsOf: source.appendingPathComponent("tokenizer.json"))
        var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        edit(&json)
        let data = try rawTokenizer ?? JSONSerialization.data(withJSONObject: json)
        try data.write(to: directory.appendingPathComponent("tokenizer.json"))
        if let config {
            try Data(config.utf8).write(to: directory.appendingPathComponent("tokenizer_config.json"))
        }
        let error = #expect(throws: TokenizerError.self) { try Tokenizer(directory: directory) }
        return (error, directory)
    }

    static func model(_ json: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var model = json["model"] as! [String: Any]
        edit(&model)
        json["model"] = model
    }

    @Test func missingFile() throws {
        let directory = try FixturePaths.temporaryDirectory("tokenizer-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: TokenizerError.self) { try Tokenizer(directory: directory) }
        let path = directory.appendingPathComponent("tokenizer.json").path
        #expect(error == .missingFile(path: path))
        #expect(error?.description.hasPrefix(path + ": no such file") == true)
    }

    @Test func truncatedJSON() throws {
        let original = try Data(contentsOf: Self.gpt2.appendingPathComponent("tokenizer.json"))
        let (error, directory) = try Self.loadError(rawTokenizer: original.prefix(1000))
        guard case .notJSON(let path, let reason) = error else {
            Issue.record("expected notJSON, got \(String(describing: error))")
            return
        }
        #expect(path == directory.appendingPathComponent("tokenizer.json").path)
        #expect(!reason.isEmpty)
        #expect(error?.description.contains("tokenizer.json: not valid JSON") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func unknownModelType() throws {
        let (error, directory) = try Self.loadError { json in Self.model(&json) { $0["type"] = "Unigram" } }
        let path = directory.appendingPathComponent("tokenizer.json").path
        #expect(error == .unsupported(path: path, field: "model.type", value: "\"Unigram\"", supported: "BPE"))
        #expect(error?.description == "\(path): model.type \"Unigram\" is not supported (supported: BPE)")
    }

    @Test func missingVocab() throws {
        let (error, directory) = try Self.loadError { json in Self.model(&json) { $0["vocab"] = nil } }
        #expect(error == .missingField(path: directory.appendingPathComponent("tokenizer.json").path, field: "model.vocab"))
        #expect(error?.description.hasSuffix("tokenizer.json: required field model.vocab is missing") == true)
    }

    @Test func vocabOfTheWrongType() throws {
        let (error, _) = try Self.loadError { json in Self.model(&json) { $0["vocab"] = ["a", "b"] } }
        guard case .invalidField(_, let field, let reason) = error else {
            Issue.record("expected invalidField, got \(String(describing: error))")
            return
        }
        #expect(field == "model.vocab")
        #expect(reason == "is not an object")
    }

    @Test func mergeNamingAnUnknownToken() throws {
        let (error, directory) = try Self.loadError { json in
            Self.model(&json) { model in
                var merges = model["merges"] as! [[String]]
                merges[3] = ["Ġt", "zzz"]
                model["merges"] = merges
            }
        }
        let path = directory.appendingPathComponent("tokenizer.json").path
        #expect(error == .unknownMergeToken(path: path, merge: 3, token: "zzz"))
        #expect(error?.description == "\(path): model.merges[3] names the token \"zzz\", which is not in model.vocab")
    }

    @Test func mergeWhoseResultIsNotInTheVocab() throws {
        let (error, _) = try Self.loadError { json in
            Self.model(&json) { model in
                var merges = model["merges"] as! [[String]]
                merges.append(["x", "q"])  // "xq" is not a token
                model["merges"] = merges
            }
        }
        guard case .unknownMergeToken(_, let merge, let token) = error else {
            Issue.record("expected unknownMergeToken, got \(String(describing: error))")
            return
        }
        #expect(merge == 255)
        #expect(token == "xq")
    }

    @Test func mergeStringWithoutOneSpace() throws {
        let (error, _) = try Self.loadError { json in
            Self.model(&json) { model in
                var merges = (model["merges"] as! [[String]]).map { $0.joined(separator: " ") }
                merges[7] = "a b c"
                model["merges"] = merges
            }
        }
        guard case .invalidField(_, let field, let reason) = error else {
            Issue.record("expected invalidField, got \(String(describing: error))")
            return
        }
        #expect(field == "model.merges[7]")
        #expect(reason.contains("\"a b c\""))
    }

    @Test func unsupportedModelOptions() throws {
        let (fallback, _) = try Self.loadError { json in Self.model(&json) { $0["byte_fallback"] = true } }
        #expect(fallback.map { "\($0)" }?.contains("model.byte_fallback true is not supported") == true)
        let (dropout, _) = try Self.loadError { json in Self.model(&json) { $0["dropout"] = 0.1 } }
        #expect(dropout.map { "\($0)" }?.contains("model.dropout 0.1 is not supported") == true)
        let (prefix, _) = try Self.loadError { json in Self.model(&json) { $0["continuing_subword_prefix"] = "##" } }
        #expect(prefix.map { "\($0)" }?.contains("model.continuing_subword_prefix \"##\" is not supported") == true)
        let (unk, _) = try Self.loadError { json in Self.model(&json) { $0["unk_token"] = "<unk>" } }
        guard case .unknownToken(_, let field, let token) = unk else {
            Issue.record("expected unknownToken, got \(String(describing: unk))")
            return
        }
        #expect(field == "model.unk_token")
        #expect(token == "<unk>")
    }

    @Test func unsupportedPipelineParts() throws {
        let (pre, _) = try Self.loadError { $0["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"] }
        #expect(pre.map { "\($0)" }?.contains("pre_tokenizer.type \"Metaspace\" is not supported") == true)
        let (decoder, _) = try Self.loadError { $0["decoder"] = ["type": "WordPiece"] }
        #expect(decoder.map { "\($0)" }?.contains("decoder.type \"WordPiece\" is not supported (supported: ByteLevel)") == true)
        let (post, _) = try Self.loadError { $0["post_processor"] = ["type": "BertProcessing"] }
        #expect(post.map { "\($0)" }?.contains("post_processor.type \"BertProcessing\" is not supported") == true)
        let (normalizer, _) = try Self.loadError { $0["normalizer"] = ["type": "Lowercase"] }
        #expect(normalizer.map { "\($0)" }?.contains("normalizer.type \"Lowercase\" is not supported") == true)
        let (noByteLevel, _) = try Self.loadError { $0["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": []] }
        #expect(noByteLevel.map { "\($0)" }?.contains("pre_tokenizer has no ByteLevel step") == true)
    }

    @Test func unsupportedSplit() throws {
        func editSplit(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { json in
                var pre = json["pre_tokenizer"] as! [String: Any]
                var steps = pre["pretokenizers"] as! [[String: Any]]
                steps[0][key] = value
                pre["pretokenizers"] = steps
                json["pre_tokenizer"] = pre
            }
        }
        let (behavior, _) = try Self.loadError(from: Self.llama, tokenizer: editSplit("behavior", "Removed"))
        #expect(behavior.map { "\($0)" }?.contains(
            "pre_tokenizer.pretokenizers[0].behavior \"Removed\" is not supported (supported: Isolated)") == true)
        let (invert, _) = try Self.loadError(from: Self.llama, tokenizer: editSplit("invert", true))
        #expect(invert.map { "\($0)" }?.contains("pre_tokenizer.pretokenizers[0].invert true is not supported") == true)
        let (regex, _) = try Self.loadError(from: Self.llama, tokenizer: editSplit("pattern", ["Regex": "(unclosed"]))
        guard case .invalidField(_, let field, _) = regex else {
            Issue.record("expected invalidField, got \(String(describing: regex))")
            return
        }
        #expect(field == "pre_tokenizer.pretokenizers[0].pattern.Regex")
    }

    @Test func templateNamingAMissingSpecialToken() throws {
        let (error, _) = try Self.loadError(from: Self.llama) { json in
            var post = json["post_processor"] as! [String: Any]
            var processors = post["processors"] as! [[String: Any]]
            processors[1]["special_tokens"] = [String: Any]()
            post["processors"] = processors
            json["post_processor"] = post
        }
        guard case .invalidField(_, let field, let reason) = error else {
            Issue.record("expected invalidField, got \(String(describing: error))")
            return
        }
        #expect(field == "post_processor.processors[1].special_tokens")
        #expect(reason.contains("<|begin_of_text|>"))
    }

    @Test func configErrorsNameTheConfigFile() throws {
        let (unknown, directory) = try Self.loadError(config: #"{"bos_token": {"content": "<s>"}}"#)
        let configPath = directory.appendingPathComponent("tokenizer_config.json").path
        #expect(unknown == .unknownToken(path: configPath, field: "bos_token", token: "<s>"))
        #expect(unknown?.description.hasPrefix(configPath + ": bos_token names the token \"<s>\"") == true)
        let (broken, brokenDirectory) = try Self.loadError(config: #"{"bos_token": "#)
        guard case .notJSON(let path, _) = broken else {
            Issue.record("expected notJSON, got \(String(describing: broken))")
            return
        }
        #expect(path == brokenDirectory.appendingPathComponent("tokenizer_config.json").path)
    }

    @Test func everyDescriptionIsOneLine() {
        let errors: [TokenizerError] = [
            .missingFile(path: "/x/tokenizer.json"),
            .unreadable(path: "/x/tokenizer.json", reason: "permission denied"),
            .notJSON(path: "/x/tokenizer.json", reason: "unexpected end of file"),
            .missingField(path: "/x/tokenizer.json", field: "model.vocab"),
            .invalidField(path: "/x/tokenizer.json", field: "model.merges[2]", reason: "has 3 tokens, not 2"),
            .unsupported(path: "/x/tokenizer.json", field: "model.type", value: "\"WordPiece\"", supported: "BPE"),
            .unknownMergeToken(path: "/x/tokenizer.json", merge: 0, token: "a\nb"),
            .unknownToken(path: "/x/tokenizer_config.json", field: "eos_token", token: "</s>"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(error.description.hasPrefix("/x/tokenizer"))
        }
    }
}
