import Foundation
import Testing
import Transformer

/// A tokenizer that can produce ids the model has no embedding row for (the tokenizer of another
/// model, or one with extra added tokens) is refused when the model's tokenizer is loaded, naming
/// the file and the token, instead of trapping in the embedding on the first text that uses it.
@Suite struct TokenizerModelFitTests {
    static let gpt2 = FixturePaths.hfReference("gpt2")

    @Test func theModelsOwnTokenizerFits() throws {
        let config = try ModelConfig.load(directory: Self.gpt2)
        let tokenizer = try Tokenizer(directory: Self.gpt2, model: config)
        #expect(tokenizer.largestID == config.vocabularySize - 1)
    }

    @Test func anAddedTokenBeyondTheEmbeddingIsRefused() throws {
        let directory = try FixturePaths.temporaryDirectory("tokenizer-fit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try Data(contentsOf: Self.gpt2.appendingPathComponent("tokenizer.json"))
        var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        var added = try #require(json["added_tokens"] as? [[String: Any]])
        added.append(["id": 9999, "content": "<|extra|>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true])
        json["added_tokens"] = added
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("tokenizer.json"))
        let config = try ModelConfig.load(directory: Self.gpt2)

        // Alone, the tokenizer is valid (it is another model's)…
        let alone = try Tokenizer(directory: directory)
        #expect(alone.encode("a <|extra|>").last == 9999)
        // …but not for this model.
        let error = #expect(throws: TokenizerError.self) { try Tokenizer(directory: directory, model: config) }
        let path = directory.appendingPathComponent("tokenizer.json").path
        #expect(error == .idOutsideModel(path: path, token: "<|extra|>", id: 9999, modelVocabulary: 512))
        #expect(error?.description.hasPrefix(path + ": the token \"<|extra|>\" has the id 9999") == true)
        #expect(error?.description.contains("vocab_size 512") == true)
    }
}
