import Foundation
import Testing
@testable import Evaluation

@Suite struct CounterFactMetricsTests {
    static func result(rewrite: [PromptNLL], paraphrase: [PromptNLL], neighborhood: [PromptNLL],
                       flags: ([Bool], [Bool], [Bool]) = ([true], [true, false], [false])) -> CounterFactRecordResult {
        CounterFactRecordResult(caseID: 0, rewritePromptsNLL: rewrite, paraphrasePromptsNLL: paraphrase, neighborhoodPromptsNLL: neighborhood,
                                rewritePromptsCorrect: flags.0, paraphrasePromptsCorrect: flags.1, neighborhoodPromptsCorrect: flags.2)
    }

    @Test func successesCompareNLLsAndMagnitudesCompareProbabilities() throws {
        let r = Self.result(
            rewrite: [PromptNLL(targetNew: 0.5, targetTrue: 1)],
            paraphrase: [PromptNLL(targetNew: 0.5, targetTrue: 1), PromptNLL(targetNew: 2, targetTrue: 1)],
            neighborhood: [PromptNLL(targetNew: 2, targetTrue: 1), PromptNLL(targetNew: 0.1, targetTrue: 3)])
        let m = r.metrics
        #expect(m[.efficacyScore] == 1)
        #expect(m[.paraphraseScore] == 0.5)
        #expect(m[.neighborhoodScore] == 0.5)
        let half: Double = exp(-0.5), one: Double = exp(-1), two: Double = exp(-2), three: Double = exp(-3)
        let tenth: Double = exp(-Double(Float(0.1)))
        #expect(abs(m[.efficacyMagnitude]! - (half - one)) < 1e-12)
        #expect(abs(m[.paraphraseMagnitude]! - ((half - one) + (two - one)) / 2) < 1e-12)
        // Neighbourhood: true minus new.
        #expect(abs(m[.neighborhoodMagnitude]! - ((one - two) + (three - tenth)) / 2) < 1e-12)
        #expect(m[.rewriteAccuracy] == 1 && m[.paraphraseAccuracy] == 0.5 && m[.neighborhoodAccuracy] == 0)
        #expect(m[.fluency] == nil && m[.consistency] == nil)
    }

    @Test func equalNLLsAreNeitherSuccessNorFailureOfTheOtherSide() {
        let tie = PromptNLL(targetNew: 1, targetTrue: 1)
        let m = Self.result(rewrite: [tie], paraphrase: [tie], neighborhood: [tie]).metrics
        #expect(m[.efficacyScore] == 0 && m[.neighborhoodScore] == 0 && m[.efficacyMagnitude] == 0)
    }

    @Test func generationMetricsComeFromTheGenerationScores() {
        var r = Self.result(rewrite: [], paraphrase: [], neighborhood: [])
        r.generation = GenerationScores(ngramEntropy: 5.5, referenceScore: 0.25, texts: ["a"])
        let m = r.metrics
        #expect(m[.fluency] == 5.5 && m[.consistency] == 0.25)
        #expect(m[.efficacyScore]!.isNaN)  // np.mean([])
    }

    /// Per record first, then over records: 0.5 and 1.0 average to 75 %, not the pooled 2/3.
    @Test func summaryAveragesPerRecordMeans() throws {
        let a = Self.result(rewrite: [PromptNLL(targetNew: 0, targetTrue: 1)],
                            paraphrase: [PromptNLL(targetNew: 0, targetTrue: 1), PromptNLL(targetNew: 1, targetTrue: 0)],
                            neighborhood: [PromptNLL(targetNew: 1, targetTrue: 0)])
        let b = Self.result(rewrite: [PromptNLL(targetNew: 1, targetTrue: 0)],
                            paraphrase: [PromptNLL(targetNew: 0, targetTrue: 1)],
                            neighborhood: [PromptNLL(targetNew: 1, targetTrue: 0)])
        let metrics = EvaluationReport.counterFactMetrics([a, b])
        let paraphrase = try #require(metrics.first { $0.key == "paraphrase_score" }?.value)
        #expect(abs(paraphrase.mean - 75) < 1e-9)
        #expect(abs(paraphrase.std - 25) < 1e-9)  // population std of {50, 100}
        #expect(paraphrase.count == 2)
        let efficacy = try #require(metrics.first { $0.key == "efficacy_score" }?.value)
        #expect(efficacy.mean == 50 && efficacy.std == 50)
        #expect(metrics.map(\.key) == ["efficacy_score", "paraphrase_score", "neighborhood_score", "efficacy_magnitude",
                                       "paraphrase_magnitude", "neighborhood_magnitude", "rewrite_acc", "paraphrase_acc",
                                       "neighborhood_acc"])
        // The harmonic mean of 50, 75 and 100.
        let score = try #require(EvaluationReport.counterFactScore(metrics))
        #expect(abs(score - 3 / (1 / 50.0 + 1 / 75.0 + 1 / 100.0)) < 1e-9)
    }

    @Test func statisticsHandleEdgeCases() throws {
        #expect(MetricSummary.statistic([]) == nil)
        let one = try #require(MetricSummary.statistic([0.3]))
        #expect(abs(one.mean - 30) < 1e-12 && one.std == 0)
        #expect(MetricSummary.statistic([1, .nan])!.mean.isNaN)
        #expect(MetricSummary.harmonicScore([100, 0, 50]) == 0)
        // Rounded to 2 decimals before the harmonic mean, as summarize.py does.
        #expect(abs(MetricSummary.harmonicScore([33.333333, 33.333333, 33.333333]) - 33.33) < 1e-9)
    }
}
