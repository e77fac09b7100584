import Foundation
import Testing
@testable import Evaluation

@Suite struct EvaluationReportTests {
    static let report = EvaluationReport(
        dataset: .counterfact, model: "m", data: "d.json", selection: "0:2", records: 2, seed: 4, generation: true,
        tokenizerAddsBOS: false,
        metrics: [("efficacy_score", MetricStatistic(mean: 50, std: 50, count: 2)),
                  ("fluency", MetricStatistic(mean: .nan, std: .nan, count: 2))],
        score: 42.5, seconds: 1.25, notes: EvaluationReport.notes(dataset: .counterfact, generation: true))

    @Test func jsonHasTheMetricKeysAtTheTopLevel() throws {
        let data = try JSONEncoder().encode(Self.report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let efficacy = try #require(object["efficacy_score"] as? [String: Any])
        #expect(efficacy["mean"] as? Double == 50 && efficacy["std"] as? Double == 50 && efficacy["count"] as? Int == 2)
        #expect(object["fluency"] is NSNull)
        #expect(object["dataset"] as? String == "counterfact")
        #expect(object["seed"] as? Int == 4 && object["score"] as? Double == 42.5)
        let notes = try #require(object["notes"] as? [String])
        #expect(notes.contains { $0.hasPrefix("consistency is approximate") })
        #expect(notes.contains { $0.contains("nltk.word_tokenize") })
    }

    @Test func tableShowsTwoDecimals() {
        let table = Self.report.table
        #expect(table.contains("efficacy_score"))
        #expect(table.contains("   50.00    50.00"))
        #expect(table.contains("score"))
        #expect(EvaluationReport.notes(dataset: .zsre, generation: false).allSatisfy { !$0.contains("consistency") })
    }
}
