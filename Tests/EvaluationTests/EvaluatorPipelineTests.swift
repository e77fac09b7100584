import Foundation
import Linalg
import Transformer
import Testing
@testable import Evaluation

/// The evaluators end to end on the character tokenizer and the bigram model, where every NLL is known:
/// a preferred successor has probability 1/2, any other token 1/(2·137), and without a preference 1/138.
@Suite struct EvaluatorPipelineTests {
    static let hit = log(2.0), miss = log(274.0), uniform = log(138.0)

    static let record = CounterFactRecord(
        caseID: 9,
        requestedRewrite: .init(prompt: "{} is", subject: "A", targetNew: .init(str: "b", id: "Qb"), targetTrue: .init(str: "c", id: "Qc"),
                                relationID: "P1"),
        paraphrasePrompts: ["P"], neighborhoodPrompts: ["N", "s"], attributePrompts: ["K is"], generationPrompts: ["A is", "A"])

    /// 's' → ' ', ' ' → 'b'.
    static let model = BigramModel([("s", " "), (" ", "b")])

    @Test(arguments: [false, true])
    func counterFactNLLsAndFlags(bos: Bool) throws {
        let evaluator = CounterFactEvaluator(model: Self.model, tokenizer: CharTokenizer(prependsBOS: bos))
        let result = try evaluator.evaluate(Self.record)
        func close(_ a: PromptNLL, _ new: Double, _ true_: Double) -> Bool {
            abs(Double(a.targetNew) - new) < 1e-5 && abs(Double(a.targetTrue) - true_) < 1e-5
        }
        // "A is" + " b": ' ' after 's' (hit), 'b' after ' ' (hit); " c": hit, miss.
        #expect(close(result.rewritePromptsNLL[0], Self.hit, (Self.hit + Self.miss) / 2))
        // "P" + " b": ' ' after 'P' (no preference), then hit.
        #expect(close(result.paraphrasePromptsNLL[0], (Self.uniform + Self.hit) / 2, (Self.uniform + Self.miss) / 2))
        #expect(close(result.neighborhoodPromptsNLL[0], (Self.uniform + Self.hit) / 2, (Self.uniform + Self.miss) / 2))
        #expect(close(result.neighborhoodPromptsNLL[1], Self.hit, (Self.hit + Self.miss) / 2))
        #expect(result.rewritePromptsCorrect == [true])
        #expect(result.paraphrasePromptsCorrect == [false])  // argmax of a uniform row is id 0
        #expect(result.neighborhoodPromptsCorrect == [false, false])  // 'c' is never the argmax
        #expect(result.generation == nil)
        let m = result.metrics
        #expect(m[.efficacyScore] == 1 && m[.paraphraseScore] == 1 && m[.neighborhoodScore] == 0)
    }

    @Test func generationUsesTheGenerationPrompts() throws {
        let reference = ReferenceCorpus(records: [Self.record])
        var evaluator = CounterFactEvaluator(model: Self.model, tokenizer: CharTokenizer(prependsBOS: false))
        evaluator.generation = CounterFactGeneration(settings: GenerationSettings(maxOutLength: 8), reference: reference)
        let generation = try #require(try evaluator.evaluate(Self.record).generation)
        // "A is" continues ' ', 'b', then 'x' (no successor of 'b'); "A" has no successor: 'x'…
        #expect(generation.texts == ["A is bxx", "Axxxxxxx"])
        #expect(abs(generation.ngramEntropy - NGramEntropy.meanEntropy(generation.texts)) < 1e-12)
        #expect(reference.consistencyTexts(for: Self.record) == ["K is b"])
        #expect(abs(generation.referenceScore - reference.vectorizer.cosineSimilarity("A is bxx Axxxxxxx", "K is b")) < 1e-12)
    }

    @Test(arguments: [false, true])
    func zsREFlags(bos: Bool) throws {
        let tokenizer = CharTokenizer(prependsBOS: bos)
        let record = ZsRERecord(subject: "A", src: "Where is A?", answers: ["b"], rephrase: "A where?", loc: "nq question: q", locAnswer: "c")
        let c = record.evaluationCase(caseID: 0, tokenizer: tokenizer)
        let model = BigramModel([("?", " "), (" ", "b")])
        let result = try ZsREEvaluator(model: model, tokenizer: tokenizer, batchSize: 2).evaluate(c)
        // "…?" → ' ' and "…? " (or "…?  " with BOS) → 'b'.
        #expect(result.rewritePromptsCorrect == [true, true])
        #expect(result.paraphrasePromptsCorrect == [true, true])
        if bos {
            // "<s>" after "?" (predicted ' '), ' ' after the BOS (no preference), 'c' after ' ' (predicted 'b').
            #expect(result.neighborhoodPromptsCorrect == [false, false, false])
        } else {
            #expect(result.neighborhoodPromptsCorrect == [true, false])
        }
    }

    @Test func sequencesLongerThanTheModelAreRefused() throws {
        struct Short: EvaluatedModel {
            var inner = EvaluatorPipelineTests.model
            func logits(_ batch: TokenBatch) -> Matrix<Float> { inner.logits(batch) }
            func sampleContinuations(prompts: [[Int]], maxNewTokens: Int, topK: Int, seed: UInt64) -> [[Int]] { [] }
            var positionLimit: Int? { 5 }
        }
        let evaluator = CounterFactEvaluator(model: Short(), tokenizer: CharTokenizer(prependsBOS: false))
        #expect(throws: EvaluationError.sequenceTooLong(caseID: 9, text: "A is b", tokens: 6, limit: 5)) {
            try evaluator.evaluate(Self.record)
        }
        let (results, skipped) = try evaluator.evaluate([Self.record], skipTooLong: true)
        #expect(results.isEmpty && skipped == [9])
        #expect(throws: EvaluationError.self) { try evaluator.evaluate([Self.record]) }
        let long = EvaluationError.sequenceTooLong(caseID: 1, text: String(repeating: "ab\n", count: 50), tokens: 150, limit: 128)
        #expect(long.description == "case 1: \"" + String(repeating: "ab ", count: 26) + "a…\" is 150 tokens, more than the model's 128 positions")
    }
}
