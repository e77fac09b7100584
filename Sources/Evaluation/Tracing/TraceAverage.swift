import Foundation

/// Where a token sits relative to the subject (ROME's averaging over prompts of different lengths).
public enum TokenCategory: String, Sendable, Codable, CaseIterable {
    case firstSubject = "first subject token"
    case middleSubject = "middle subject tokens"
    case lastSubject = "last subject token"
    case firstSubsequent = "first subsequent token"
    case further = "further tokens"
    case last = "last token"

    /// The token rows of a prompt in this category (several rows are averaged); empty when the
    /// prompt has none (a one-token subject has no middle).
    static func rows(_ category: TokenCategory, subject: Range<Int>, tokenCount T: Int) -> Range<Int> {
        let b = subject.lowerBound, e = subject.upperBound
        switch category {
        case .firstSubject: return b..<(b + 1)
        case .middleSubject: return e - b > 2 ? (b + 1)..<(e - 1) : b..<b
        case .lastSubject: return (e - 1)..<e
        case .firstSubsequent: return e < T ? e..<(e + 1) : e..<e
        case .further: return e + 1 < T - 1 ? (e + 1)..<(T - 1) : e..<e
        case .last: return (T - 1)..<T
        }
    }
}

/// A trace averaged over prompts by token category: ROME's "average indirect effect".
public struct TraceAverage: Sendable, Codable {
    public struct Table: Sendable, Codable {
        /// `[category][layer]`: mean of (restored − corrupted probability); nil where no prompt has the category.
        public var indirectEffect: [[Double?]]
        /// `[category][layer]`: mean restored probability.
        public var probability: [[Double?]]
        enum CodingKeys: String, CodingKey { case indirectEffect = "indirect_effect", probability }
    }

    public var categories: [TokenCategory]
    /// Prompts contributing to each category.
    public var counts: [Int]
    public var prompts: Int
    public var meanCleanProbability: Double
    public var meanCorruptedProbability: Double
    public var tables: [TraceKind: Table]

    enum CodingKeys: String, CodingKey {
        case categories, counts, prompts, meanCleanProbability = "mean_clean_probability",
             meanCorruptedProbability = "mean_corrupted_probability", tables
    }

    public init(categories: [TokenCategory], counts: [Int], prompts: Int, meanCleanProbability: Double,
                meanCorruptedProbability: Double, tables: [TraceKind: Table]) {
        self.categories = categories
        self.counts = counts
        self.prompts = prompts
        self.meanCleanProbability = meanCleanProbability
        self.meanCorruptedProbability = meanCorruptedProbability
        self.tables = tables
    }

    /// Averages `traces` (all of one model) by token category.
    public init(_ traces: [PromptTrace], layerCount: Int) {
        categories = TokenCategory.allCases
        prompts = traces.count
        meanCleanProbability = traces.isEmpty ? 0 : traces.map(\.cleanProbability).reduce(0, +) / Double(traces.count)
        meanCorruptedProbability = traces.isEmpty ? 0 : traces.map(\.corruptedProbability).reduce(0, +) / Double(traces.count)
        counts = categories.map { category in
            traces.filter { !TokenCategory.rows(category, subject: $0.subjectStart..<$0.subjectEnd, tokenCount: $0.tokens.count).isEmpty }.count
        }
        var tables: [TraceKind: Table] = [:]
        let kinds = Set(traces.flatMap { $0.restored.keys })
        for kind in kinds {
            var effect = [[Double?]](repeating: [Double?](repeating: nil, count: layerCount), count: categories.count)
            var probability = effect
            for (c, category) in categories.enumerated() {
                var effectSum = [Double](repeating: 0, count: layerCount), probabilitySum = effectSum, n = 0
                for trace in traces {
                    guard let table = trace.restored[kind] else { continue }
                    let rows = TokenCategory.rows(category, subject: trace.subjectStart..<trace.subjectEnd, tokenCount: trace.tokens.count)
                    guard !rows.isEmpty else { continue }
                    n += 1
                    for l in 0..<layerCount {
                        let mean = rows.map { table[$0][l] }.reduce(0, +) / Double(rows.count)
                        probabilitySum[l] += mean
                        effectSum[l] += mean - trace.corruptedProbability
                    }
                }
                guard n > 0 else { continue }
                effect[c] = effectSum.map { Optional($0 / Double(n)) }
                probability[c] = probabilitySum.map { Optional($0 / Double(n)) }
            }
            tables[kind] = Table(indirectEffect: effect, probability: probability)
        }
        self.tables = tables
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        categories = try c.decode([TokenCategory].self, forKey: .categories)
        counts = try c.decode([Int].self, forKey: .counts)
        prompts = try c.decode(Int.self, forKey: .prompts)
        meanCleanProbability = try c.decode(Double.self, forKey: .meanCleanProbability)
        meanCorruptedProbability = try c.decode(Double.self, forKey: .meanCorruptedProbability)
        tables = [TraceKind: Table](byName: try c.decode([String: Table].self, forKey: .tables))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(categories, forKey: .categories)
        try c.encode(counts, forKey: .counts)
        try c.encode(prompts, forKey: .prompts)
        try c.encode(meanCleanProbability, forKey: .meanCleanProbability)
        try c.encode(meanCorruptedProbability, forKey: .meanCorruptedProbability)
        try c.encode(tables.byName, forKey: .tables)
    }

    /// The indirect effect of `kind` at `category` per layer (zeros where absent).
    public func effects(_ kind: TraceKind, at category: TokenCategory) -> [Double]? {
        guard let table = tables[kind], let c = categories.firstIndex(of: category) else { return nil }
        let row = table.indirectEffect[c]
        guard row.contains(where: { $0 != nil }) else { return nil }
        return row.map { $0 ?? 0 }
    }
}

/// The edit layers a trace suggests: the consecutive layers where restoring the MLP at the last
/// subject token brings back the most probability (ROME/MEMIT chose theirs this way).
public struct LayerSuggestion: Sendable, Codable, Equatable {
    /// The suggested `layers` hyper-parameter, ascending.
    public var layers: [Int]
    /// The layer with the largest effect on its own.
    public var peak: Int
    /// Average indirect effect of the MLP at the last subject token, per layer.
    public var effects: [Double]

    /// - Parameter count: how many consecutive layers to suggest (clipped to the model).
    public init?(effects: [Double], count: Int) {
        guard !effects.isEmpty, count >= 1 else { return nil }
        let n = min(count, effects.count)
        var best = 0, bestSum = -Double.infinity
        for start in 0...(effects.count - n) {
            let sum = effects[start..<(start + n)].reduce(0, +)
            if sum > bestSum { bestSum = sum; best = start }
        }
        self.layers = Array(best..<(best + n))
        self.effects = effects
        self.peak = effects.indices.max { effects[$0] < effects[$1] } ?? 0
    }

    /// A default number of edit layers for a model of `layerCount` blocks: about a sixth of the
    /// blocks, between 2 and 5 (the official hparams edit 5 of 48 GPT-2 XL blocks, 6 of 28 GPT-J's,
    /// 5 of 32 Llama-3's).
    public static func defaultCount(layerCount: Int) -> Int { min(layerCount, max(2, min(5, layerCount / 6))) }
}
