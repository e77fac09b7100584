import Foundation

/// The datasets alphaedit evaluates.
public enum EvaluationDataset: String, CaseIterable, Sendable, Codable {
    case counterfact
    case zsre
    /// Both in one sequential run (experiments only): CounterFact and zsRE records interleaved.
    case mixed

    /// How reports name it.
    public var title: String {
        switch self {
        case .counterfact: return "CounterFact"
        case .zsre: return "zsRE"
        case .mixed: return "CounterFact + zsRE"
        }
    }
}

/// The summary of one evaluation run: per metric the mean and population std over records of the
/// per-record values, ×100 (spec §10.3), plus what was evaluated and how.
///
/// Encoded as one JSON object whose metric keys (`efficacy_score`… or `rewrite_acc`…) sit at the top
/// level next to `dataset`, `model`, `data`, `selection`, `records`, `skipped`, `seed`, `generation`,
/// `tokenizer_adds_bos`, `score`, `seconds` and `notes`.
public struct EvaluationReport: Sendable, Encodable {
    public var dataset: EvaluationDataset
    /// The model directory.
    public var model: String
    /// The dataset file.
    public var data: String
    /// `RecordSelection.description`, e.g. `"0:100"`.
    public var selection: String
    /// Records evaluated.
    public var records: Int
    /// `case_id`s left out because a sequence was too long for the model (`--skip-too-long`).
    public var skipped: [Int]
    /// The generation seed, when generation ran.
    public var seed: UInt64?
    /// Whether the generation metrics were computed.
    public var generation: Bool
    /// Whether the tokenizer prepends BOS (the official `'llama' in name` branch).
    public var tokenizerAddsBOS: Bool
    /// Metrics in display order.
    public var metrics: [(key: String, value: MetricStatistic)]
    /// CounterFact's harmonic-mean `score` of the three success rates, when all are defined.
    public var score: Double?
    public var seconds: Double
    /// Approximations and deviations from the official evaluation that apply to this run.
    public var notes: [String]

    public init(dataset: EvaluationDataset, model: String, data: String, selection: String, records: Int, skipped: [Int] = [], seed: UInt64?,
                generation: Bool, tokenizerAddsBOS: Bool, metrics: [(key: String, value: MetricStatistic)], score: Double?,
                seconds: Double, notes: [String]) {
        self.dataset = dataset
        self.model = model
        self.data = data
        self.selection = selection
        self.records = records
        self.skipped = skipped
        self.seed = seed
        self.generation = generation
        self.tokenizerAddsBOS = tokenizerAddsBOS
        self.metrics = metrics
        self.score = score
        self.seconds = seconds
        self.notes = notes
    }

    /// The statistics of a metric by key.
    public subscript(key: String) -> MetricStatistic? { metrics.first { $0.key == key }?.value }

    // MARK: Summaries

    /// The CounterFact metrics of `results`, in display order (generation metrics only if some record has them).
    public static func counterFactMetrics(_ results: [CounterFactRecordResult]) -> [(key: String, value: MetricStatistic)] {
        let statistics = MetricSummary.statistics(results.map(\.metrics))
        return CounterFactMetric.allCases.compactMap { metric in statistics[metric].map { (metric.rawValue, $0) } }
    }

    /// `summarize.py`'s `score` from CounterFact statistics (nil if a success rate is missing or NaN).
    public static func counterFactScore(_ metrics: [(key: String, value: MetricStatistic)]) -> Double? {
        let keys: [CounterFactMetric] = [.efficacyScore, .paraphraseScore, .neighborhoodScore]
        let means = keys.compactMap { key in metrics.first { $0.key == key.rawValue }?.value.mean }
        guard means.count == 3, means.allSatisfy({ !$0.isNaN }) else { return nil }
        return MetricSummary.harmonicScore(means)
    }

    /// The zsRE metrics of `results`, in display order.
    public static func zsREMetrics(_ results: [ZsRERecordResult]) -> [(key: String, value: MetricStatistic)] {
        let statistics = MetricSummary.statistics(results.map(\.metrics))
        return ZsREMetric.allCases.compactMap { metric in statistics[metric].map { (metric.rawValue, $0) } }
    }

    /// The notes that apply to a run.
    public static func notes(dataset: EvaluationDataset, generation: Bool) -> [String] {
        var notes = [
            "BOS handling follows the tokenizer (prepends BOS = the official 'llama' in model-name branch)",
            "argmax ties resolve to the first maximal index, as torch.argmax",
        ]
        if dataset == .counterfact && generation {
            notes += [
                "generation: alphaedit's seeded top-5 sampler, texts of 100 tokens including the prompt "
                    + "(the official run is unseeded; fluency and consistency agree only statistically)",
                "fluency tokenizes with an approximation of nltk.word_tokenize (Treebank rules ported, "
                    + "Punkt sentence splitting replaced by a rule)",
                ReferenceCorpus.note,
            ]
        }
        return notes
    }

    // MARK: Encoding

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(dataset, forKey: Key("dataset"))
        try c.encode(model, forKey: Key("model"))
        try c.encode(data, forKey: Key("data"))
        try c.encode(selection, forKey: Key("selection"))
        try c.encode(records, forKey: Key("records"))
        try c.encode(skipped, forKey: Key("skipped"))
        try c.encodeIfPresent(seed, forKey: Key("seed"))
        try c.encode(generation, forKey: Key("generation"))
        try c.encode(tokenizerAddsBOS, forKey: Key("tokenizer_adds_bos"))
        for (key, value) in metrics {
            // JSON has no NaN: a metric undefined for every record is written as null.
            if value.mean.isNaN || value.std.isNaN { try c.encodeNil(forKey: Key(key)) } else { try c.encode(value, forKey: Key(key)) }
        }
        try c.encodeIfPresent(score, forKey: Key("score"))
        try c.encode(seconds, forKey: Key("seconds"))
        try c.encode(notes, forKey: Key("notes"))
    }

    // MARK: Text

    /// A plain-text table: one line per metric with mean and std (2 decimals, as `summarize.py` rounds).
    public var table: String {
        var lines = ["\(dataset.title): \(records) record\(records == 1 ? "" : "s") (\(selection)) of \(data)",
                     "model: \(model)"]
        if !skipped.isEmpty {
            lines.append("skipped (too long for the model): case \(skipped.map(String.init).joined(separator: ", "))")
        }
        lines.append("")
        let width = max(22, (metrics.map(\.key.count).max() ?? 0) + 2)
        func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        lines.append(pad("metric") + "    mean      std")
        // A mean that rounds to zero prints as 0.00, not -0.00.
        func shown(_ x: Double) -> Double { (x * 100).rounded() == 0 ? 0 : x }
        for (key, value) in metrics {
            lines.append(pad(key) + String(format: "%8.2f %8.2f", shown(value.mean), shown(value.std)))
        }
        if let score { lines.append(pad("score") + String(format: "%8.2f", score)) }
        lines.append("")
        lines.append(String(format: "%.1f s", seconds) + (seed.map { ", generation seed \($0)" } ?? ""))
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
