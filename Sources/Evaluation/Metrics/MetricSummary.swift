import Foundation

/// A metric over records, as `summarize.py` reports it: the mean and the population standard
/// deviation of the per-record values, both ×100 (not rounded here; the official script rounds to 2
/// decimals for display).
public struct MetricStatistic: Sendable, Equatable, Codable {
    public var mean: Double
    public var std: Double
    /// Records that have this metric.
    public var count: Int

    public init(mean: Double, std: Double, count: Int) {
        self.mean = mean
        self.std = std
        self.count = count
    }
}

/// The averaging of `experiments/summarize.py`.
public enum MetricSummary {
    /// Mean and population std (`np.std`, ddof 0) of per-record values, times `scale`.
    ///
    /// Each value must already be a per-record mean (e.g. the fraction of a record's paraphrases that
    /// succeed): records weigh equally whatever their number of prompts.
    /// - Returns: nil for no records. A NaN value makes mean and std NaN, as numpy.
    /// - Complexity: O(n).
    public static func statistic(_ perRecord: [Double], scale: Double = 100) -> MetricStatistic? {
        guard !perRecord.isEmpty else { return nil }
        let n = Double(perRecord.count)
        let mean = perRecord.reduce(0, +) / n
        let variance = perRecord.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        return MetricStatistic(mean: mean * scale, std: variance.squareRoot() * scale, count: perRecord.count)
    }

    /// Statistics of every metric over records: a metric counts the records that have it.
    public static func statistics<Key: Hashable>(_ perRecord: [[Key: Double]], scale: Double = 100) -> [Key: MetricStatistic] {
        var values: [Key: [Double]] = [:]
        for record in perRecord {
            for (key, value) in record { values[key, default: []].append(value) }
        }
        return values.compactMapValues { statistic($0, scale: scale) }
    }

    /// `summarize.py`'s `score`: the harmonic mean (`scipy.stats.hmean`) of efficacy, generalization and
    /// specificity, each a ×100 mean **rounded to 2 decimals** first (half to even, as `np.around`), as the script does. 0 if any is 0.
    public static func harmonicScore(_ means: [Double]) -> Double {
        let rounded = means.map { ($0 * 100).rounded(.toNearestOrEven) / 100 }
        if rounded.contains(where: { $0 == 0 }) { return 0 }
        return Double(rounded.count) / rounded.reduce(0) { $0 + 1 / $1 }
    }
}
