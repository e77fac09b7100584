import Testing
@testable import Evaluation

@Suite struct ZsREScoringTests {
    @Test func queriesWithoutBOS() {
        let queries = ZsREScoring.teacherForcedQueries(prompts: ["Q?", "R?"], target: "ab", tokenizer: CharTokenizer(prependsBOS: false))
        #expect(queries == [
            ZsREQuery(prompt: "Q?", expected: " "), ZsREQuery(prompt: "Q? ", expected: "a"), ZsREQuery(prompt: "Q? a", expected: "b"),
            ZsREQuery(prompt: "R?", expected: " "), ZsREQuery(prompt: "R? ", expected: "a"), ZsREQuery(prompt: "R? a", expected: "b"),
        ])
    }

    /// Spec §14 item 15: with BOS, the target loses its BOS and prompts for i > 0 get an extra space.
    @Test func queriesWithBOSGetTheDoubleSpace() {
        let queries = ZsREScoring.teacherForcedQueries(prompts: ["Q?"], target: "ab", tokenizer: CharTokenizer(prependsBOS: true))
        #expect(queries == [
            ZsREQuery(prompt: "Q?", expected: " "), ZsREQuery(prompt: "Q?  ", expected: "a"), ZsREQuery(prompt: "Q?  a", expected: "b"),
        ])
    }

    @Test func expectedIDSkipsTheBOSColumn() {
        let plain = CharTokenizer(prependsBOS: false), bos = CharTokenizer(prependsBOS: true)
        #expect(ZsREScoring.expectedID("ab", tokenizer: plain) == CharTokenizer.id("a"))
        #expect(ZsREScoring.expectedID("ab", tokenizer: bos) == CharTokenizer.id("a"))
        #expect(ZsREScoring.expectedID("<s>", tokenizer: bos) == CharTokenizer.bos)
        // A row too short for the column is padding (pad = eos).
        #expect(ZsREScoring.expectedID("", tokenizer: bos) == CharTokenizer.eos)
        #expect(ZsREScoring.expectedID("", tokenizer: plain) == CharTokenizer.eos)
    }

    @Test func correctnessUsesTheFirstMaximum() {
        #expect(ZsREScoring.isCorrect(lastLogits: [1, 4, 4][...], expectedID: 1))
        #expect(!ZsREScoring.isCorrect(lastLogits: [1, 4, 4][...], expectedID: 2))
    }

    @Test func perRecordAccuracyIsTheTokenMean() throws {
        let a = ZsRERecordResult(caseID: 0, rewritePromptsCorrect: [true, false, true, true], paraphrasePromptsCorrect: [false, false, false, true],
                                 neighborhoodPromptsCorrect: [true])
        let b = ZsRERecordResult(caseID: 1, rewritePromptsCorrect: [true], paraphrasePromptsCorrect: [true], neighborhoodPromptsCorrect: [false, true])
        #expect(a.metrics[.rewriteAccuracy] == 0.75)
        let metrics = EvaluationReport.zsREMetrics([a, b])
        #expect(metrics.map(\.key) == ["rewrite_acc", "paraphrase_acc", "neighborhood_acc"])
        let rewrite = try #require(metrics.first?.value)
        #expect(abs(rewrite.mean - 87.5) < 1e-9 && abs(rewrite.std - 12.5) < 1e-9)
        #expect(abs(metrics[1].value.mean - 62.5) < 1e-9)
        #expect(abs(metrics[2].value.mean - 75) < 1e-9)
    }
}
