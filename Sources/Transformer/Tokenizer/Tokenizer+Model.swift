import Foundation

extension Tokenizer {
    /// The tokenizer of a model directory, checked against the model: every id it can produce
    /// must have an embedding row (`config.vocabularySize`), or a token of the text would index
    /// past the embedding table.
    /// - Throws: `TokenizerError`, as `init(directory:)`, and `.idOutsideModel` for a tokenizer of
    ///   another model.
    public convenience init(directory: URL, model config: ModelConfig) throws {
        try self.init(directory: directory)
        try checkFits(config, path: directory.appendingPathComponent("tokenizer.json").path)
    }

    /// Refuses a tokenizer with ids at or above the model's vocabulary size.
    /// - Parameter path: how the error names the tokenizer.json.
    public func checkFits(_ config: ModelConfig, path: String) throws {
        guard largestID < config.vocabularySize else {
            throw TokenizerError.idOutsideModel(path: path, token: token(forID: largestID) ?? "?", id: largestID,
                                                modelVocabulary: config.vocabularySize)
        }
    }
}
