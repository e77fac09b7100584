import Testing
@testable import Evaluation

@Suite struct FastGenerationTests {
    @Test func textsAreFilledToTheOutputLengthPromptIncluded() {
        #expect(FastGeneration.newTokenCounts(promptLengths: [3, 5, 3], maxOutLength: 10) == [7, 5, 7])
        // The longest prompt already fills the length: the official loop never runs.
        #expect(FastGeneration.newTokenCounts(promptLengths: [3, 10], maxOutLength: 10) == [0, 0])
    }

    @Test func cleanUpAsTheOfficialCode() {
        #expect(FastGeneration.clean("a\n\nb<|endoftext|>c\n\n\nd") == "a bc \nd")
        #expect(FastGeneration.clean("L\u{e9}on \u{fb01}") == "Le\u{301}on fi")  // NFKD
    }

    @Test func generatesPerPromptWithTheFakeModel() throws {
        let model = BigramModel([("a", "b"), ("b", "a")])
        let texts = try FastGeneration.generate(model: model, tokenizer: CharTokenizer(prependsBOS: false), prompts: ["xa", "yyyb", "za"],
                                                settings: GenerationSettings(maxOutLength: 6), seed: 1, caseID: 0)
        #expect(texts == ["xababa", "yyybab", "zababa"])
    }

    @Test func seedsDependOnTheCaseOnly() {
        let s = GenerationSettings(seed: 3)
        #expect(s.seed(for: 0) == 3)
        #expect(s.seed(for: 5) == s.seed(for: 5))
        #expect(s.seed(for: 5) != s.seed(for: 6))
    }
}
