import Editing
import Foundation
import Testing
import Transformer
@testable import Evaluation

/// CounterFact and zsRE evaluation of the tiny fixture models on the shared records: shapes, ranges,
/// agreement with independent computations, determinism.
@Suite(.serialized) struct FixtureIntegrationTests {
    static func load(_ url: URL) throws -> (TransformerModel, Tokenizer) {
        (try TransformerModel.load(directory: url), try Tokenizer(directory: url))
    }

    @Test(arguments: ["gpt2", "llama"])
    func counterFactShapesRangesAndDeterminism(folder: String) throws {
        let (model, tokenizer) = try Self.load(FixturePaths.hfReference(folder))
        let records = Array(Samples.counterFact.prefix(3))
        var evaluator = CounterFactEvaluator(model: model, tokenizer: tokenizer)
        // Texts of 40 tokens rather than the official 100 keep the debug-build test short.
        let settings = GenerationSettings(maxOutLength: 40, seed: 7)
        evaluator.generation = CounterFactGeneration(settings: settings, reference: ReferenceCorpus(records: Samples.counterFact))
        let results = try evaluator.evaluate(records).results
        for (record, result) in zip(records, results) {
            #expect(result.caseID == record.caseID)
            #expect(result.rewritePromptsNLL.count == 1 && result.paraphrasePromptsNLL.count == 2 && result.neighborhoodPromptsNLL.count == 10)
            #expect(result.rewritePromptsCorrect.count == 1 && result.paraphrasePromptsCorrect.count == 2
                    && result.neighborhoodPromptsCorrect.count == 10)
            let all = result.rewritePromptsNLL + result.paraphrasePromptsNLL + result.neighborhoodPromptsNLL
            #expect(all.allSatisfy { $0.targetNew.isFinite && $0.targetNew > 0 && $0.targetTrue.isFinite && $0.targetTrue > 0 })
            let generation = try #require(result.generation)
            #expect(generation.texts.count == record.generationPrompts.count)
            for (prompt, text) in zip(record.generationPrompts, generation.texts) {
                #expect(text.contains(prompt.decomposedStringWithCompatibilityMapping), "\(text)")
            }
            // H_n <= log2(number of n-grams); the weights (2/3, 4/3) average to 1.
            let bound = generation.texts.map { log2(Double(max(2, WordTokenizer.tokenize($0).count))) }.max()!
            #expect(generation.ngramEntropy > 0 && generation.ngramEntropy <= bound)
            #expect(generation.referenceScore >= 0 && generation.referenceScore <= 1)
        }
        let metrics = EvaluationReport.counterFactMetrics(results)
        #expect(metrics.count == CounterFactMetric.allCases.count)
        for (key, value) in metrics {
            #expect(value.count == 3)
            switch key {
            case "fluency": #expect(value.mean > 0)
            case let k where k.hasSuffix("magnitude"): #expect(value.mean >= -100 && value.mean <= 100)
            default: #expect(value.mean >= 0 && value.mean <= 100, "\(key)")
            }
        }
        // Same seed, same results (a record's seed does not depend on the other records evaluated);
        // the generation metrics follow the seed.
        let again = try evaluator.evaluate(records[2])
        #expect(again == results[2])
        evaluator.generation!.settings.seed = 8
        let other = try evaluator.evaluate(records[0])
        #expect(other.rewritePromptsNLL == results[0].rewritePromptsNLL)
        #expect(other.generation!.texts != results[0].generation!.texts)
    }

    /// The NLLs agree with `TargetScorer` (Editing), which concatenates prompt and target ids and reads
    /// unpadded positions; with Llama's BOS this checks the official offset on a real model.
    @Test(arguments: ["gpt2", "llama"])
    func nllsAgreeWithTheEditingScorer(folder: String) throws {
        let (model, tokenizer) = try Self.load(FixturePaths.hfReference(folder))
        let record = Samples.counterFact[1]
        let result = try CounterFactEvaluator(model: model, tokenizer: tokenizer).evaluate(record)
        let prefixes = [record.rewritePrompt] + record.paraphrasePrompts + record.neighborhoodPrompts
        let nll = result.rewritePromptsNLL + result.paraphrasePromptsNLL + result.neighborhoodPromptsNLL
        let scorer = TargetScorer(model: model, tokenizer: tokenizer)
        var compared = 0
        for (prefix, pair) in zip(prefixes, nll) {
            for (target, ours) in [(record.requestedRewrite.targetNew.str, pair.targetNew), (record.requestedRewrite.targetTrue.str, pair.targetTrue)] {
                // Only where the joint tokenisation is the concatenation (else the two define different inputs).
                let joint = tokenizer.encode(prefix + " " + target)
                guard joint == tokenizer.encode(prefix) + scorer.targetIDs(" " + target) else { continue }
                let reference = try scorer.score([(prompt: prefix, target: " " + target)])[0].meanNLL
                #expect(abs(ours - reference) < 1e-4 * max(1, abs(reference)), "\(prefix) |\(target)")
                compared += 1
            }
        }
        #expect(compared >= 10)
    }

    @Test(arguments: ["gpt2", "llama"])
    func zsREShapesAndUnpaddedAgreement(folder: String) throws {
        let (model, tokenizer) = try Self.load(FixturePaths.hfReference(folder))
        let cases = Samples.zsRE.prefix(3).enumerated().map { $1.evaluationCase(caseID: $0, tokenizer: tokenizer) }
        let evaluator = ZsREEvaluator(model: model, tokenizer: tokenizer)
        let results = try evaluator.evaluate(cases).results
        for (c, result) in zip(cases, results) {
            var target = tokenizer.encode(" " + c.targetNew)
            if tokenizer.addsBOS { target.removeFirst() }
            #expect(result.rewritePromptsCorrect.count == target.count)
            #expect(result.paraphrasePromptsCorrect.count == target.count)
            #expect(result.neighborhoodPromptsCorrect.count == tokenizer.encode(" " + Samples.zsRE[c.caseID].locAnswer).count)
        }
        // Each neighbourhood flag equals the argmax of an unpadded single-prompt forward pass.
        let c = cases[0]
        let flags = results[0].neighborhoodPromptsCorrect
        for (query, flag) in zip(c.neighborhoodPrompts, flags).prefix(3) {
            let ids = tokenizer.encode(query.prompt)
            let logits = model.logits(TokenBatch([ids]))
            let last = Array(logits.elements[((ids.count - 1) * logits.cols)...])
            let predicted = TeacherForcing.argmax(last[...])
            #expect((predicted == ZsREScoring.expectedID(query.expected, tokenizer: tokenizer)) == flag)
        }
        for (_, value) in EvaluationReport.zsREMetrics(results) {
            #expect(value.count == 3 && value.mean >= 0 && value.mean <= 100)
        }
        #expect(try evaluator.evaluate(cases[2]) == results[2])
    }

    /// The knowledge model knows its training facts: on a fact it was trained on, the true object wins.
    @Test func oracleModelPrefersItsTrainedFact() throws {
        let (model, tokenizer) = try Self.load(FixturePaths.oracleModel)
        let record = CounterFactRecord(
            caseID: 0,
            requestedRewrite: .init(prompt: "{} works for", subject: "Talia Fairbanks", targetNew: .init(str: "Sony"), targetTrue: .init(str: "Adobe")),
            paraphrasePrompts: [], neighborhoodPrompts: [])
        let result = try CounterFactEvaluator(model: model, tokenizer: tokenizer).evaluate(record)
        #expect(result.rewritePromptsNLL[0].targetTrue < 0.01)
        #expect(result.rewritePromptsNLL[0].targetNew > 5)
        #expect(result.metrics[.efficacyScore] == 0)
        #expect(result.rewritePromptsCorrect == [false])
    }
}
