import Foundation
import Linalg
import Transformer

/// How likely a model finds a target after a prompt (teacher forcing).
public struct TargetScore: Sendable, Codable, Equatable {
    /// Mean negative log-likelihood per target token.
    public var meanNLL: Float
    /// exp(−Σ NLL): the probability of the whole target.
    public var probability: Float
    /// Probability of the target's first token.
    public var firstTokenProbability: Float

    enum CodingKeys: String, CodingKey {
        case meanNLL = "mean_nll", probability, firstTokenProbability = "first_token_probability"
    }
}

/// Scores targets after prompts in padded batches.
public struct TargetScorer: Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public var batchSize = 32

    public init(model: any LanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Token ids of a target continuation: `encode(target)` without a leading BOS.
    public func targetIDs(_ target: String) -> [Int] { Self.targetIDs(target, tokenizer: tokenizer) }

    public static func targetIDs(_ target: String, tokenizer: Tokenizer) -> [Int] {
        var ids = tokenizer.encode(target)
        if let first = ids.first, first == tokenizer.bosTokenID { ids.removeFirst() }
        return ids
    }

    /// - Parameter pairs: (prompt text, target text with its leading space).
    public func score(_ pairs: [(prompt: String, target: String)]) throws -> [TargetScore] {
        var scores: [TargetScore] = []
        var start = 0
        while start < pairs.count {
            let chunk = pairs[start..<min(start + batchSize, pairs.count)]
            let prompts = chunk.map { tokenizer.encode($0.prompt) }
            let targets = chunk.map { targetIDs($0.target) }
            let sequences = zip(prompts, targets).map { $0 + $1 }
            let batch = TokenBatch(sequences, padding: .right, padID: tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0)
            let logits = try model.run(batch).logits!
            for (b, (prompt, target)) in zip(prompts, targets).enumerated() {
                var total: Float = 0, first: Float = 0
                for (i, token) in target.enumerated() {
                    let row = batch.row(b, prompt.count + i - 1)
                    let lp = CrossEntropy.logSoftmax(logits.elements[(row * logits.cols)..<((row + 1) * logits.cols)])[token]
                    total -= lp
                    if i == 0 { first = expf(lp) }
                }
                scores.append(TargetScore(meanNLL: total / Float(max(target.count, 1)), probability: expf(-total), firstTokenProbability: first))
            }
            start += chunk.count
        }
        return scores
    }
}
