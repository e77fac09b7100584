import Foundation

extension ExperimentReport {
    /// Display order and labels of the metrics, in the paper's layout.
    var columns: [(key: String, label: String)] {
        let counterFact = [("efficacy_score", "Eff."), ("paraphrase_score", "Gen."), ("neighborhood_score", "Spe."),
                           ("fluency", "Flu."), ("consistency", "Consis."),
                           ("efficacy_magnitude", "Eff. mag."), ("paraphrase_magnitude", "Gen. mag."), ("neighborhood_magnitude", "Spe. mag.")]
        let zsre = [("rewrite_acc", "Eff."), ("paraphrase_acc", "Gen."), ("neighborhood_acc", "Spe.")]
        switch dataset {
        case .counterfact: return counterFact
        case .zsre: return zsre
        case .mixed:
            return [("efficacy_score", "CF Eff."), ("paraphrase_score", "CF Gen."), ("neighborhood_score", "CF Spe."),
                    ("zsre_rewrite_acc", "zsRE Eff."), ("zsre_paraphrase_acc", "zsRE Gen."), ("zsre_neighborhood_acc", "zsRE Spe."),
                    ("fluency", "Flu."), ("consistency", "Consis.")]
        }
    }

    /// Panel titles of the plot.
    static let longTitles = [
        "efficacy_score": "Efficacy", "paraphrase_score": "Generalization", "neighborhood_score": "Specificity",
        "fluency": "Fluency (n-gram entropy)", "consistency": "Consistency (TF-IDF)",
        "efficacy_magnitude": "Efficacy magnitude", "paraphrase_magnitude": "Generalization magnitude",
        "neighborhood_magnitude": "Specificity magnitude",
        "rewrite_acc": "Efficacy (token accuracy)", "paraphrase_acc": "Generalization (token accuracy)",
        "neighborhood_acc": "Specificity (token accuracy)",
        "zsre_rewrite_acc": "zsRE efficacy (token accuracy)", "zsre_paraphrase_acc": "zsRE generalization (token accuracy)",
        "zsre_neighborhood_acc": "zsRE specificity (token accuracy)",
    ]

    /// Methods in display order.
    var methodOrder: [String] { ["unedited", "alphaedit", "memit"].filter { methods[$0] != nil } }

    static func title(_ method: String) -> String {
        ["unedited": "Unedited", "alphaedit": "AlphaEdit", "memit": "MEMIT"][method] ?? method
    }

    /// The Markdown table of the final metrics.
    public func markdown() -> String {
        var text = "# \(dataset.title): \(edits) sequential edits in batches of \(batchSize)\n\n"
        text += "Model `\(model)`, data `\(data)` (records \(selection)), hparams `\(hparams)`.\n\n"
        let cols = columns.filter { column in methodOrder.contains { methods[$0]?[column.key] != nil } }
        text += "| Method | " + cols.map(\.label).joined(separator: " | ") + " |\n"
        text += "| --- | " + cols.map { _ in "---:" }.joined(separator: " | ") + " |\n"
        for method in methodOrder {
            let values = cols.map { column in methods[method]?[column.key].map { String(format: "%.2f", $0) } ?? "–" }
            text += "| \(Self.title(method)) | " + values.joined(separator: " | ") + " |\n"
        }
        text += "\nScores in percent (mean over records of per-record means ×100). "
        if dataset != .zsre {
            text += "CounterFact Eff./Gen./Spe.: efficacy, paraphrase (generalization) and neighbourhood (specificity) success; mag.: probability differences; Flu.: n-gram entropy ×100; Consis.: TF-IDF reference similarity ×100. "
        }
        if dataset != .counterfact {
            text += "zsRE Eff./Gen./Spe.: teacher-forced top-1 token accuracy on the rewrite, paraphrase and neighbourhood prompts."
        }
        text += "\n"
        // Efficacy, generalisation and specificity of each dataset, every method side by side.
        let accumulated = cols.filter { ["efficacy_score", "paraphrase_score", "neighborhood_score",
                                         "rewrite_acc", "paraphrase_acc", "neighborhood_acc",
                                         "zsre_rewrite_acc", "zsre_paraphrase_acc", "zsre_neighborhood_acc"].contains($0.key) }
        text += "\n## As edits accumulate\n\n| Edits | "
        text += accumulated.flatMap { column in methodOrder.map { Self.title($0) + " " + column.label } }.joined(separator: " | ") + " |\n"
        text += "| ---: | " + Array(repeating: "---:", count: accumulated.count * methodOrder.count).joined(separator: " | ") + " |\n"
        let edits = curves["unedited"]?.map(\.edits) ?? []
        for k in edits {
            var row: [String] = []
            for column in accumulated {
                for method in methodOrder {
                    let value = curves[method]?.first { $0.edits == k }?.metrics[column.key]
                    row.append(value.map { String(format: "%.2f", $0) } ?? "–")
                }
            }
            text += "| \(k) | " + row.joined(separator: " | ") + " |\n"
        }
        text += "\nEditing time: " + editSeconds.sorted { $0.key < $1.key }.map { "\(Self.title($0.key)) \(String(format: "%.0f", $0.value)) s" }.joined(separator: ", ") + ".\n"
        if !notes.isEmpty { text += "\n" + notes.map { "- " + $0 }.joined(separator: "\n") + "\n" }
        return text
    }

    /// Each metric against the number of edits, one line per method.
    public func plot() -> LinePlot {
        let keys = columns.filter { column in curves.values.contains { $0.contains { $0.metrics[column.key] != nil } } }
        let panels = keys.map { column in
            LinePlot.Panel(
                title: Self.longTitles[column.key] ?? column.label, yLabel: column.key.hasSuffix("magnitude") ? "probability difference ×100" : "percent",
                series: methodOrder.compactMap { method in
                    guard let points = curves[method] else { return nil }
                    let xy = points.compactMap { p in p.metrics[column.key].map { (x: Double(p.edits), y: $0) } }
                    return xy.isEmpty ? nil : LinePlot.Series(name: Self.title(method), points: xy)
                },
                yRange: column.key.hasSuffix("magnitude") ? nil : 0...100)
        }
        var plot = LinePlot(title: "\(dataset.title): metrics as sequential edits accumulate (batches of \(batchSize))",
                            xLabel: "edits", panels: panels)
        plot.columns = min(3, max(1, panels.count))
        return plot
    }

    /// Writes report.json, report.md and report.svg (or `baseName`.json, …) into `directory`
    /// (created if needed), each via a temporary file renamed into place.
    public func write(to directory: URL, baseName: String = "report") throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = ReportJSON.encoder([.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try Self.atomicWrite(try encoder.encode(self), to: directory.appendingPathComponent("\(baseName).json"))
        try Self.atomicWrite(Data(markdown().utf8), to: directory.appendingPathComponent("\(baseName).md"))
        try Self.atomicWrite(Data(plot().render().utf8), to: directory.appendingPathComponent("\(baseName).svg"))
    }

    /// Reads a report.json back (to re-render report.md and report.svg).
    public static func read(from url: URL) throws -> ExperimentReport {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ExperimentError.unreadableReport(path: url.path, reason: "cannot read the file: \(error.localizedDescription)")
        }
        do { return try ReportJSON.decoder.decode(ExperimentReport.self, from: data) } catch {
            throw ExperimentError.unreadableReport(path: url.path, reason: DatasetFile.describe(error))
        }
    }

    static func atomicWrite(_ data: Data, to url: URL) throws {
        try ReportFile.atomicWrite(data, to: url)
    }

    /// The `--json` summary: `{"edits": T, "methods": {...}}`.
    public struct Summary: Encodable {
        public let edits: Int
        public let methods: [String: [String: Double]]
    }

    public var summary: Summary { Summary(edits: edits, methods: methods) }
}
