import Foundation
import Linalg

/// The name the official `rome/layer_stats.py` gives a cached statistics file:
/// `<module>_<precision>_<stats>[_t<batch_tokens>][_<sample_size>].npz`, e.g.
/// `model.layers.4.mlp.down_proj_float32_mom2_100000.npz`.
public struct OfficialStatisticsName: Sendable, Equatable {
    /// The rewrite module, e.g. `transformer.h.17.mlp.c_proj`.
    public var module: String
    /// The accumulation precision (`mom2_dtype`), e.g. `float32`.
    public var dtype: String
    /// The statistics collected, `-`-joined (`mom2` for AlphaEdit).
    public var stats: String
    /// The token budget per batch, when the official run used a non-default one.
    public var batchTokens: Int?
    /// `sample_size` (`mom2_n_samples`), when the name has one.
    public var sampleCount: Int?

    public static let precisions: Set<String> = ["float16", "float32", "float64", "bfloat16", "half", "float", "double"]

    /// Parses a file name; nil when it does not follow the official naming.
    public init?(fileName: String) {
        guard fileName.hasSuffix(".npz") else { return nil }
        var parts = fileName.dropLast(4).split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        if let last = parts.last, !last.isEmpty, last.allSatisfy(\.isASCIIDigit), parts.count > 3 {
            sampleCount = Int(last)
            parts.removeLast()
        }
        if let last = parts.last, last.hasPrefix("t"), last.count > 1, last.dropFirst().allSatisfy(\.isASCIIDigit), parts.count > 3 {
            batchTokens = Int(last.dropFirst())
            parts.removeLast()
        }
        guard parts.count >= 3, parts.last!.split(separator: "-").contains("mom2") else { return nil }
        stats = parts.removeLast()
        guard Self.precisions.contains(parts.last!) else { return nil }
        dtype = parts.removeLast()
        module = parts.joined(separator: "_")
        guard !module.isEmpty else { return nil }
    }

    public init(module: String, dtype: String, stats: String = "mom2", batchTokens: Int? = nil, sampleCount: Int?) {
        self.module = module
        self.dtype = dtype
        self.stats = stats
        self.batchTokens = batchTokens
        self.sampleCount = sampleCount
    }

    public var fileName: String {
        "\(module)_\(dtype)_\(stats)" + (batchTokens.map { "_t\($0)" } ?? "") + (sampleCount.map { "_\($0)" } ?? "") + ".npz"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension LayerStatistics {
    /// The official statistics of one layer from a `.npz` cache file (spec §2.9): `mom2.mom2` is the
    /// un-normalised sum S (float32 or float64, d0 × d0), `mom2.count` the token count and
    /// `sample_size`, when present, the number of documents.
    ///
    /// - Parameters:
    ///   - url: the `.npz` file.
    ///   - layer: the layer the statistics are of (the caller reads it from the file name).
    ///   - provenance: model, module, corpus and dtype to record.
    /// - Throws: `NPZError` naming the file and the member at fault.
    /// - Complexity: one pass over `mom2.mom2`; memory d0² doubles.
    public init(npz url: URL, layer: Int, provenance: StatisticsProvenance) throws {
        let archive = try NPZArchive(url: url)
        // Small members first, so that a file that is not statistics fails before the big read.
        let count = try archive.integer("mom2.count")
        guard count > 0 else {
            throw NPZError.unexpectedValue(path: url.path, member: "mom2.count", reason: "is \(count); the statistics hold no tokens")
        }
        let samples = archive.contains("sample_size") ? try archive.integer("sample_size") : 0
        guard samples >= 0 else {
            throw NPZError.unexpectedValue(path: url.path, member: "sample_size", reason: "is \(samples), not a number of samples")
        }
        let header = try archive.header("mom2.mom2")
        guard header.shape.count == 2, header.shape[0] == header.shape[1], header.shape[0] > 0 else {
            throw NPZError.unexpectedValue(path: url.path, member: "mom2.mom2", reason: "has shape \(header.shape), expected a square d0 × d0 matrix")
        }
        guard header.dataType.isFloatingPoint || header.dataType == .unsupported else {
            throw NPZError.unexpectedValue(path: url.path, member: "mom2.mom2", reason: "has dtype \(header.descr.debugDescription), expected float32 or float64")
        }
        let sum = try archive.array("mom2.mom2", as: Double.self)
        if let bad = sum.elements.firstIndex(where: { !$0.isFinite }) {
            let d = header.shape[1]
            throw NPZError.unexpectedValue(path: url.path, member: "mom2.mom2", reason: "holds \(sum.elements[bad]) at [\(bad / d), \(bad % d)]")
        }
        self.init(layer: layer, count: count, samples: samples,
                  sum: Matrix(rows: header.shape[0], cols: header.shape[1], elements: sum.elements), provenance: provenance)
    }
}
