import ArgumentParser
import Foundation
import Transformer

/// `alphaedit generate`: continue prompts with a checkpoint, to see what an edit changed.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue prompts with a model (greedy, or top-k sampling with a seed).",
        discussion: """
        Greedy by default; --top-k K samples among the K most likely tokens (the official evaluation uses \
        K = 5), reproducibly for a given --seed. Generation stops after --max-new-tokens or at the \
        end-of-sequence token (unless --ignore-eos). Several --prompt options are generated as one batch.

        Example:
          alphaedit generate --model Tests/Fixtures/alphaedit-oracle/model --prompt "Talia Fairbanks works for"
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("A prompt to continue (repeat for several).", valueName: "text"))
    var prompt: [String] = []

    @Option(name: .customLong("max-new-tokens"), help: ArgumentHelp("Tokens to generate per prompt.", valueName: "n"))
    var maxNewTokens = 20

    @Option(name: .customLong("top-k"), help: ArgumentHelp("Sample among the k most likely tokens instead of taking the most likely.", valueName: "k"))
    var topK: Int?

    @Option(help: "Seed of the sampling (with --top-k).")
    var seed: UInt64 = 0

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating after the end-of-sequence token.")
    var ignoreEOS = false

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func validate() throws {
        if prompt.isEmpty { throw ValidationError("give at least one --prompt") }
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    struct Result: Encodable {
        let prompt: String
        let continuation: String
        let prompt_tokens: Int
        let token_ids: [Int]
    }

    func run() throws {
        let config = try ModelConfig.load(directory: model.modelURL)
        let tokenizer = try Tokenizer(directory: model.modelURL, model: config)
        let ids = prompt.map { tokenizer.encode($0) }
        for (text, promptIDs) in zip(prompt, ids) {
            if promptIDs.isEmpty { throw CommandFailure("--prompt \(text.debugDescription) encodes to no tokens") }
            if config.positionEncoding == .learned, promptIDs.count + maxNewTokens > config.maxPositions {
                throw CommandFailure("--prompt \(text.debugDescription) is \(promptIDs.count) tokens; with --max-new-tokens \(maxNewTokens) that exceeds the model's \(config.maxPositions) positions")
            }
        }
        let transformer = try TransformerModel.load(directory: model.modelURL)
        let stops: Set<Int> = ignoreEOS ? [] : Set([tokenizer.eosTokenID].compactMap { $0 })
        let outputs = transformer.generate(prompts: ids, maxNewTokens: maxNewTokens, sampling: topK.map { .topK($0) } ?? .greedy,
                                           seed: seed, stopTokens: stops)
        let results = zip(zip(prompt, ids), outputs).map { pair, newIDs in
            let (text, promptIDs) = pair
            // Decoded together so that a character split across the boundary comes out whole.
            let whole = tokenizer.decode(promptIDs + newIDs, skipSpecialTokens: true)
            let head = tokenizer.decode(promptIDs, skipSpecialTokens: true)
            let continuation = whole.hasPrefix(head) ? String(whole.dropFirst(head.count)) : tokenizer.decode(newIDs, skipSpecialTokens: true)
            return Result(prompt: text, continuation: continuation, prompt_tokens: promptIDs.count, token_ids: newIDs)
        }
        if json {
            struct Report: Encodable {
                let model: String
                let sampling: String
                let top_k: Int?
                let seed: UInt64?
                let max_new_tokens: Int
                let results: [Result]
            }
            try JSONOutput.print(Report(model: model.model, sampling: topK == nil ? "greedy" : "top_k", top_k: topK,
                                        seed: topK == nil ? nil : seed, max_new_tokens: maxNewTokens, results: results))
            return
        }
        for (i, result) in results.enumerated() {
            if i > 0 { print("") }
            print(result.prompt + result.continuation)
        }
    }
}
