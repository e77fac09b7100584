import Foundation

/// The result of `alphaedit trace`: every traced prompt, their average by token category, and
/// the edit layers it suggests.
public struct TraceReport: Sendable, Codable {
    public var model: String
    public var layerCount: Int
    public var options: CausalTraceOptions
    /// ν, the noise's standard deviation.
    public var noise: Double
    /// The prompts traced and averaged (those the clean model predicts, unless all were asked for).
    public var traces: [PromptTrace]
    /// Prompts left out because the clean model's arg-max is not the true object's first token.
    public var skippedCaseIDs: [Int]
    public var skippedCount: Int
    public var average: TraceAverage
    public var suggestion: LayerSuggestion?

    enum CodingKeys: String, CodingKey {
        case model, layerCount = "layer_count", options, noise, traces, skippedCaseIDs = "skipped_case_ids",
             skippedCount = "skipped", average, suggestion
    }

    /// - Parameters:
    ///   - traces: every traced prompt; those with `correct == false` are left out unless `includeWrong`.
    ///   - suggestCount: the number of consecutive edit layers to suggest.
    public init(model: String, layerCount: Int, options: CausalTraceOptions, noise: Float, traces all: [PromptTrace],
                includeWrong: Bool, suggestCount: Int) {
        self.model = model
        self.layerCount = layerCount
        self.options = options
        self.noise = Double(noise)
        let kept = includeWrong ? all : all.filter(\.correct)
        let skipped = includeWrong ? [] : all.filter { !$0.correct }
        traces = kept
        skippedCount = skipped.count
        skippedCaseIDs = skipped.compactMap(\.prompt.caseID)
        average = TraceAverage(kept, layerCount: layerCount)
        suggestion = average.effects(.mlp, at: .lastSubject).flatMap { LayerSuggestion(effects: $0, count: suggestCount) }
    }

    /// A short account in Markdown: what was traced, where the effects peak, the suggested layers.
    public func markdown() -> String {
        var lines = ["# Causal trace of \(model)", ""]
        lines.append("\(traces.count) prompt(s) traced\(skippedCount > 0 ? "; \(skippedCount) left out because the model does not predict their true object" : ""). "
            + "Noise ν = \(String(format: "%.4g", noise)) on the subject's token embeddings, \(options.samples) samples, "
            + "MLP/attention window \(options.window), seed \(options.seed).")
        lines.append("")
        lines.append(String(format: "Mean p(true object): clean %.4f, corrupted %.4f.", average.meanCleanProbability, average.meanCorruptedProbability))
        lines.append("")
        if average.prompts > 0 {
            lines.append("Average indirect effect (restored − corrupted probability), peak layer and value per token category:")
            lines.append("")
            let kinds = TraceKind.allCases.filter { average.tables[$0] != nil }
            lines.append("| token | prompts | " + kinds.map { "\($0.rawValue) peak" }.joined(separator: " | ") + " |")
            lines.append("| --- | ---: | " + kinds.map { _ in "---" }.joined(separator: " | ") + " |")
            for (c, category) in average.categories.enumerated() where average.counts[c] > 0 {
                let cells = kinds.map { kind -> String in
                    guard let effects = average.effects(kind, at: category), let peak = effects.indices.max(by: { effects[$0] < effects[$1] })
                    else { return "–" }
                    return String(format: "layer %d: %.4f", peak, effects[peak])
                }
                lines.append("| \(category.rawValue) | \(average.counts[c]) | " + cells.joined(separator: " | ") + " |")
            }
            lines.append("")
        }
        if let suggestion {
            lines.append("Indirect effect of the MLP at the last subject token, by layer: "
                + suggestion.effects.enumerated().map { String(format: "%d: %.4f", $0.offset, $0.element) }.joined(separator: ", ") + ".")
            lines.append("")
            lines.append("Suggested edit layers: `\"layers\": [\(suggestion.layers.map(String.init).joined(separator: ", "))]` "
                + "(the \(suggestion.layers.count) consecutive layers with the largest MLP effect at the last subject token; peak at layer \(suggestion.peak)).")
        } else {
            lines.append("No layer suggestion: no traced prompt, or the MLP was not traced.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The heatmap of one prompt (restored probabilities), or of the category average (indirect effects).
    public func heatmap() -> TraceHeatmap {
        let kinds = TraceKind.allCases.filter { average.tables[$0] != nil }
        func xLabel(_ kind: TraceKind) -> String {
            kind == .hidden ? "single restored layer" : "centre of \(options.window) restored layers"
        }
        if traces.count == 1, let trace = traces.first {
            let panels = kinds.map { kind in
                TraceHeatmap.Panel(kind: kind, values: trace.restored[kind]!.map { $0.map(Optional.init) }, xLabel: xLabel(kind))
            }
            return TraceHeatmap(title: "Causal trace: \(trace.prompt.prompt) → \(trace.prompt.target)",
                                rowLabels: trace.tokens, markedRows: Set(trace.subjectStart..<trace.subjectEnd),
                                panels: panels, valueLabel: "p(\(trace.prompt.target))")
        }
        let panels = kinds.map { TraceHeatmap.Panel(kind: $0, values: average.tables[$0]!.indirectEffect, xLabel: xLabel($0)) }
        let marked = Set(average.categories.enumerated().filter { [.firstSubject, .middleSubject, .lastSubject].contains($0.element) }.map(\.offset))
        return TraceHeatmap(title: "Average indirect effect over \(average.prompts) prompts (\(model))",
                            rowLabels: average.categories.map(\.rawValue), markedRows: marked, panels: panels, valueLabel: "AIE")
    }

    /// Writes trace.json, trace.md and trace.svg into `directory` (created if needed), each via a
    /// temporary file renamed into place.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try ReportFile.atomicWrite(try encoder.encode(self), to: directory.appendingPathComponent("trace.json"))
        try ReportFile.atomicWrite(Data(markdown().utf8), to: directory.appendingPathComponent("trace.md"))
        try ReportFile.atomicWrite(Data(heatmap().render().utf8), to: directory.appendingPathComponent("trace.svg"))
    }
}
