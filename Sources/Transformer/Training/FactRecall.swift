import Foundation
import Linalg

/// How well a model completes facts with greedy decoding.
///
/// For a fact (prompt, target) the target tokens are `tokenizer.encode(" " + target)` (as ROME
/// tokenizes targets) and the model reads prompt + target once (teacher forcing). The fact is
/// - *first-token correct* when the most likely token after the prompt is the target's first;
/// - *exactly recalled* when at every target position the most likely token is the target's
///   token — the same as greedy decoding producing the whole target;
/// and its *token accuracy* is the share of target positions whose most likely token is right
/// (the official ZsRE metric). Ties in the arg-max go to the lower id.
public enum FactRecall {
    /// Outcome for one fact.
    public struct Outcome: Sendable, Equatable {
        public var firstToken: Bool
        public var exact: Bool
        /// Correct target positions / target length.
        public var tokenAccuracy: Double
        /// The greedy tokens at the target positions (teacher-forced).
        public var predicted: [Int]
        /// The target tokens.
        public var target: [Int]
        /// log P(target | prompt): the sum of the target tokens' log-probabilities (nats).
        public var targetLogProbability: Double
    }

    /// Totals over a group of facts.
    public struct Summary: Sendable, Equatable, Codable {
        public var facts: Int
        public var firstToken: Int
        public var exact: Int
        public var tokenAccuracySum: Double

        public init() { facts = 0; firstToken = 0; exact = 0; tokenAccuracySum = 0 }

        public var firstTokenRate: Double { facts == 0 ? 0 : Double(firstToken) / Double(facts) }
        public var exactRate: Double { facts == 0 ? 0 : Double(exact) / Double(facts) }
        public var tokenAccuracy: Double { facts == 0 ? 0 : tokenAccuracySum / Double(facts) }

        mutating func add(_ outcome: Outcome) {
            facts += 1
            if outcome.firstToken { firstToken += 1 }
            if outcome.exact { exact += 1 }
            tokenAccuracySum += outcome.tokenAccuracy
        }
    }

    /// Scores every fact; `prefix` (e.g. "The answer is simple.") is put before each prompt,
    /// separated by a space.
    /// - Complexity: one forward pass per `batchSize` facts.
    public static func measure(model: TransformerModel, tokenizer: Tokenizer, facts: [Fact], prefix: String? = nil,
                               batchSize: Int = 32) -> [Outcome] {
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(facts.count)
        let limit = model.config.maxPositions
        for start in stride(from: 0, to: facts.count, by: batchSize) {
            let group = facts[start..<min(start + batchSize, facts.count)]
            var sequences: [[Int]] = []
            var spans: [(promptLength: Int, target: [Int])] = []
            for fact in group {
                let prompt = tokenizer.encode((prefix.map { $0 + " " } ?? "") + fact.prompt, addSpecialTokens: false)
                var target = tokenizer.encode(" " + fact.target, addSpecialTokens: false)
                let room = max(0, limit - prompt.count)
                target = Array(target.prefix(room))
                let keptPrompt = Array(prompt.suffix(limit - target.count))
                sequences.append(keptPrompt + target)
                spans.append((keptPrompt.count, target))
            }
            let batch = TokenBatch(sequences, padding: .right, padID: 0)
            let logits = model.forward(batch).result.logits!
            let v = logits.cols
            logits.elements.withUnsafeBufferPointer { ls in
                for (b, span) in spans.enumerated() {
                    var predicted: [Int] = []
                    var logProbability = 0.0
                    for (j, token) in span.target.enumerated() {
                        let row = batch.row(b, span.promptLength - 1 + j)
                        var best = 0
                        for c in 1..<v where ls[row * v + c] > ls[row * v + best] { best = c }
                        predicted.append(best)
                        logProbability += logSoftmax(ls, row: row, width: v, at: token)
                    }
                    let correct = zip(predicted, span.target).map { $0 == $1 }
                    let hits = correct.filter { $0 }.count
                    outcomes.append(Outcome(firstToken: correct.first ?? false, exact: !correct.isEmpty && hits == correct.count,
                                            tokenAccuracy: correct.isEmpty ? 0 : Double(hits) / Double(correct.count),
                                            predicted: predicted, target: span.target, targetLogProbability: logProbability))
                }
            }
        }
        return outcomes
    }

    /// log softmax(row `row` of `[·, width]` logits)[`index`], in float64.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, row: Int, width: Int, at index: Int) -> Double {
        let base = row * width
        var maximum = -Float.infinity
        for c in 0..<width { maximum = max(maximum, logits[base + c]) }
        var sum = 0.0
        for c in 0..<width { sum += exp(Double(logits[base + c] - maximum)) }
        return Double(logits[base + index] - maximum) - log(sum)
    }

    /// Totals by source.
    public static func summarize(_ facts: [Fact], _ outcomes: [Outcome]) -> [Fact.Source: Summary] {
        var out: [Fact.Source: Summary] = [:]
        for (fact, outcome) in zip(facts, outcomes) { out[fact.source, default: Summary()].add(outcome) }
        return out
    }
}
