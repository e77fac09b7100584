import Foundation
import Testing
@testable import Evaluation

/// report.json / report.md / report.svg of `alphaedit experiment`, and reading a report back.
@Suite struct ExperimentReportTests {
    static func sample() -> ExperimentReport {
        func point(_ edits: Int, _ eff: Double, _ spe: Double) -> ExperimentPoint {
            ExperimentPoint(edits: edits, metrics: ["efficacy_score": eff, "paraphrase_score": eff / 2, "neighborhood_score": spe,
                                                   "efficacy_magnitude": eff - 50, "paraphrase_magnitude": -10,
                                                   "neighborhood_magnitude": spe - 10], seconds: 1)
        }
        let curves = ["unedited": [point(100, 0, 98), point(200, 1, 97.5)],
                      "alphaedit": [point(100, 60, 90), point(200, 55, 88.25)],
                      "memit": [point(100, 58, 85), point(200, 40, 70)]]
        var methods: [String: [String: Double]] = [:]
        for (method, points) in curves { methods[method] = points.last!.metrics.merging(["fluency": 560, "consistency": 3]) { $1 } }
        return ExperimentReport(dataset: .counterfact, model: "m", data: "d.json", selection: "0:200", edits: 200, batchSize: 100,
                                evaluateEvery: 100, hparams: "h.json", curves: curves, methods: methods,
                                editSeconds: ["alphaedit": 12, "memit": 10], notes: ["a note"])
    }

    static func temporaryDirectory() throws -> URL {
        try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                    appropriateFor: FileManager.default.temporaryDirectory, create: true)
    }

    @Test func tableHasThePapersColumnsAndEveryMethod() {
        let text = Self.sample().markdown()
        #expect(text.contains("| Method | Eff. | Gen. | Spe. | Flu. | Consis. | Eff. mag. | Gen. mag. | Spe. mag. |"))
        #expect(text.contains("| AlphaEdit | 55.00 | 27.50 | 88.25 | 560.00 | 3.00 |"))
        #expect(text.contains("| MEMIT | 40.00 |"))
        #expect(text.contains("| 200 | 1.00 | 55.00 | 40.00 | 0.50 | 27.50 | 20.00 | 97.50 | 88.25 | 70.00 |"))
    }

    @Test func plotHasOnePanelPerCurveMetricAndALegend() {
        let svg = Self.sample().plot().render()
        for title in ["Efficacy", "Generalization", "Specificity", "Efficacy magnitude"] { #expect(svg.contains(">\(title)</text>")) }
        for name in ["Unedited", "AlphaEdit", "MEMIT"] { #expect(svg.contains(">\(name)</text>")) }
        // Fluency is measured once, at the end: no curve.
        #expect(!svg.contains("Fluency"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 6 * 3)
    }

    @Test func readingReportJSONBackRendersTheSameFiles() throws {
        let directory = try Self.temporaryDirectory()
        let report = Self.sample()
        try report.write(to: directory)
        let again = try ExperimentReport.read(from: directory.appendingPathComponent("report.json"))
        #expect(again.markdown() == report.markdown())
        #expect(again.plot().render() == report.plot().render())
        #expect(String(decoding: try Data(contentsOf: directory.appendingPathComponent("report.svg")), as: UTF8.self) == report.plot().render())
    }

    /// A record without neighbourhood prompts makes the metric NaN (as `np.mean([])`): the report
    /// is still written, with "NaN" in report.json, and reads back.
    @Test func aNaNMetricIsWrittenAndReadBack() throws {
        let directory = try Self.temporaryDirectory()
        var report = Self.sample()
        for method in report.curves.keys {
            for i in report.curves[method]!.indices { report.curves[method]![i].metrics["neighborhood_score"] = .nan }
        }
        report.methods["alphaedit"]!["neighborhood_score"] = .nan
        try report.write(to: directory)
        let json = String(decoding: try Data(contentsOf: directory.appendingPathComponent("report.json")), as: UTF8.self)
        #expect(json.contains(#""neighborhood_score" : "NaN""#))
        let again = try ExperimentReport.read(from: directory.appendingPathComponent("report.json"))
        #expect(again.methods["alphaedit"]!["neighborhood_score"]!.isNaN)
        #expect(again.markdown() == report.markdown())
        let svg = report.plot().render()
        #expect(!svg.contains("nan") && !svg.contains("NaN"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 6 * 3)
    }

    @Test func anUnreadableReportNamesTheFileAndTheKey() throws {
        let directory = try Self.temporaryDirectory()
        let url = directory.appendingPathComponent("report.json")
        try Data(#"{"dataset": "counterfact", "model": "m"}"#.utf8).write(to: url)
        #expect {
            try ExperimentReport.read(from: url)
        } throws: { error in
            let text = "\(error)"
            return text.contains(url.path) && text.contains("missing \"data\"")
        }
        #expect(throws: ExperimentError.self) { try ExperimentReport.read(from: directory.appendingPathComponent("absent.json")) }
    }
}

@Suite struct RecordInterleavingTests {
    @Test func listsKeepTheirOrderAndMixInProportion() {
        let order = RecordReference.interleaved(counterFact: 4, zsre: 2)
        #expect(order == [.counterFact(0), .zsre(0), .counterFact(1), .counterFact(2), .zsre(1), .counterFact(3)])
        #expect(RecordReference.interleaved(counterFact: 3, zsre: 0) == [.counterFact(0), .counterFact(1), .counterFact(2)])
        #expect(RecordReference.interleaved(counterFact: 0, zsre: 2) == [.zsre(0), .zsre(1)])
        // 1093 and 1037: every 100 consecutive edits hold both, about half each.
        let big = RecordReference.interleaved(counterFact: 1093, zsre: 1037)
        #expect(big.count == 2130)
        for start in stride(from: 0, to: 2100, by: 100) {
            let zsre = big[start..<(start + 100)].filter { if case .zsre = $0 { return true }; return false }.count
            #expect((46...51).contains(zsre), "edits \(start)..<\(start + 100): \(zsre) zsRE")
        }
    }
}
