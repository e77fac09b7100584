import Foundation
import Linalg
import Transformer

/// The second moment of one layer's MLP keys over a corpus: S = Σ_tokens k·kᵀ and the token count,
/// accumulated in float64. C0 = S / count is what the projector decomposes.
///
/// Statistics of two corpus shards add up to the statistics of their union (`merged(with:)`).
public struct LayerStatistics: Sendable, Equatable {
    /// The edited layer the keys come from.
    public var layer: Int
    /// Tokens accumulated.
    public var count: Int
    /// Samples (corpus lines or documents) accumulated.
    public var samples: Int
    /// `d0 × d0`, Σ k·kᵀ (un-normalised, like the official `mom2.mom2`).
    public var sum: Matrix<Double>
    /// Where the statistics come from: model, corpus, tokens…; written as safetensors metadata.
    public var provenance: StatisticsProvenance

    public init(layer: Int, width: Int, provenance: StatisticsProvenance) {
        self.layer = layer
        self.count = 0
        self.samples = 0
        self.sum = Matrix(rows: width, cols: width, repeating: 0)
        self.provenance = provenance
    }

    public init(layer: Int, count: Int, samples: Int, sum: Matrix<Double>, provenance: StatisticsProvenance) {
        self.layer = layer
        self.count = count
        self.samples = samples
        self.sum = sum
        self.provenance = provenance
    }

    /// d0.
    public var width: Int { sum.rows }

    /// C0 = S / count (`d0 × d0`), the normalised second moment.
    /// - Throws: `StatisticsError.noTokens` for statistics of no tokens (a corpus of empty samples).
    public var secondMoment: Matrix<Double> {
        get throws {
            guard count > 0 else {
                throw StatisticsError.noTokens(layer: layer, samples: samples,
                                               source: provenance.corpus.isEmpty ? "the corpus" : "the corpus with fingerprint \(provenance.corpus)")
            }
            return sum.scaled(by: 1 / Double(count))
        }
    }

    /// Adds the keys of a batch of tokens: S += Kᵀ·K for K `[tokens, d0]`.
    /// - Complexity: one float32 SYRK of the batch, added in float64: O(tokens·d0²).
    public mutating func accumulate(keys: Matrix<Float>) {
        accumulate(keys: keys, mirror: true)
    }

    /// `accumulate(keys:)` that leaves the lower triangle of `sum` stale unless `mirror`: a pass
    /// over many batches mirrors once at its end (`sum.mirrorUpperTriangle()`), not per batch.
    mutating func accumulate(keys: Matrix<Float>, mirror: Bool) {
        precondition(keys.cols == width, "keys are \(keys.cols) wide, statistics \(width)")
        guard keys.rows > 0 else { return }
        accumulateGram(of: keys, into: &sum, mirror: mirror)
        count += keys.rows
    }

    /// The statistics of the union of both corpora.
    public func merged(with other: LayerStatistics) throws -> LayerStatistics {
        guard layer == other.layer, width == other.width else {
            throw StatisticsError.incompatible(reason: "layer \(layer) (\(width) wide) and layer \(other.layer) (\(other.width) wide) cannot be merged")
        }
        guard provenance.model == other.provenance.model else {
            throw StatisticsError.incompatible(reason: "statistics of model \(provenance.model) and of model \(other.provenance.model) cannot be merged")
        }
        var merged = self
        merged.sum += other.sum
        merged.count += other.count
        merged.samples += other.samples
        merged.provenance = provenance.merged(with: other.provenance)
        return merged
    }
}

/// Where statistics come from, kept with them so that statistics made for another model or
/// layer are refused.
public struct StatisticsProvenance: Sendable, Equatable, Codable {
    /// Fingerprint of the model the keys came from (`ModelFingerprint`).
    public var model: String
    /// The rewrite module, e.g. `transformer.h.4.mlp.c_proj`.
    public var module: String
    /// Fingerprint of the corpus (or of the shards, joined with "+").
    public var corpus: String
    /// "float32" or "float64" accumulation of the official code this stands for (`mom2_dtype`).
    public var dtype: String

    public init(model: String, module: String, corpus: String, dtype: String) {
        self.model = model
        self.module = module
        self.corpus = corpus
        self.dtype = dtype
    }

    func merged(with other: StatisticsProvenance) -> StatisticsProvenance {
        var result = self
        if corpus != other.corpus { result.corpus = corpus + "+" + other.corpus }
        return result
    }
}

/// Statistics that cannot be used.
public enum StatisticsError: Error, CustomStringConvertible, Equatable {
    case incompatible(reason: String)
    case wrongModel(path: String, expected: String, found: String)
    case wrongLayer(path: String, expected: String, found: String)
    case malformed(path: String, reason: String)
    /// Statistics summed over no token: C0 = S / 0 is undefined.
    /// `source` names the corpus: its path, or its fingerprint.
    case noTokens(layer: Int, samples: Int, source: String)

    public var description: String {
        switch self {
        case .incompatible(let reason): return reason
        case .wrongModel(let path, let expected, let found):
            return "\(path): statistics were made for model \(found), not this model (\(expected)); compute them again with `alphaedit stats`"
        case .wrongLayer(let path, let expected, let found):
            return "\(path): statistics are of \(found), expected \(expected)"
        case .malformed(let path, let reason): return "\(path): \(reason)"
        case .noTokens(let layer, let samples, let source):
            return "the statistics of layer \(layer) hold no tokens (\(samples) samples of \(source), each empty after tokenization): C0 is undefined; compute them from a corpus with text (`alphaedit stats compute --corpus FILE`)"
        }
    }
}
