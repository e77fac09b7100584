import ArgumentParser
import Foundation
import Transformer

/// `alphaedit tokenize`: token ids of texts, as the model's Hugging Face tokenizer gives them.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of texts with a model's tokenizer.json.",
        discussion: """
        Special tokens are added as the Hugging Face tokenizer adds them by default \
        (for example the BOS of Llama-3 tokenizers); --no-special-tokens leaves them out.

        Example:
          alphaedit tokenize --model Tests/Fixtures/hf-reference/llama --json "Hello world"
          {"ids":[[0,...]]}
        """
    )

    @OptionGroup var model: ModelOptions

    @Flag(help: "Print {\"ids\": [[...], ...]}, one list per text, on one line.")
    var json = false

    @Flag(name: .customLong("no-special-tokens"), help: "Do not add BOS/EOS or other template tokens.")
    var noSpecialTokens = false

    @Argument(help: "The texts to tokenize.")
    var texts: [String]

    func validate() throws {
        if texts.isEmpty { throw ValidationError("give at least one TEXT to tokenize") }
    }

    func run() throws {
        let tokenizer = try Tokenizer(directory: model.modelURL)
        let ids = texts.map { tokenizer.encode($0, addSpecialTokens: !noSpecialTokens) }
        if json {
            struct Output: Encodable { let ids: [[Int]] }
            try JSONOutput.print(Output(ids: ids))
            return
        }
        for (text, textIDs) in zip(texts, ids) {
            print("\(text.debugDescription): \(textIDs.count) tokens")
            let pieces = textIDs.map { id in "\(id) \((tokenizer.token(forID: id) ?? "?").debugDescription)" }
            print("  " + pieces.joined(separator: ", "))
        }
    }
}
