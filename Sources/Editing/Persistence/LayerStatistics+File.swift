import Foundation
import Linalg
import Transformer

extension LayerStatistics {
    static let format = "alphaedit-statistics"

    /// Writes the statistics (and, for a checkpoint of an unfinished pass, where it stopped) as
    /// safetensors: `mom2.sum` F64 `[d0, d0]`, `mom2.count` I64, provenance in the metadata.
    /// The file is written to a temporary name and renamed into place.
    /// - Parameter compact: store the sum as float32 (half the size; ~1e-7 relative rounding), for
    ///   statistics shipped in a repository. Reading converts either back to float64.
    public func write(to url: URL, extra: [String: String] = [:], compact: Bool = false) throws {
        var metadata = extra
        metadata["format"] = Self.format
        metadata["version"] = "1"
        metadata["layer"] = String(layer)
        metadata["module"] = provenance.module
        metadata["model"] = provenance.model
        metadata["corpus"] = provenance.corpus
        metadata["dtype"] = provenance.dtype
        metadata["samples"] = String(samples)
        metadata["count"] = String(count)
        var writer = SafetensorsWriter(metadata: metadata)
        if compact {
            try writer.add(name: "mom2.sum", floats: sum.elements.map(Float.init), shape: [sum.rows, sum.cols])
        } else {
            try writer.add(name: "mom2.sum", matrix: sum)
        }
        try writer.add(name: "mom2.count", int64s: [Int64(count)], shape: [1])
        try writer.write(to: url)
    }

    /// Reads statistics written by `write(to:)`.
    public static func read(from url: URL) throws -> (statistics: LayerStatistics, metadata: [String: String]) {
        try read(file: SafetensorsFile(url: url))
    }

    /// Reads an opened statistics file (e.g. one held in memory); errors name `file.name`.
    public static func read(file: SafetensorsFile) throws -> (statistics: LayerStatistics, metadata: [String: String]) {
        guard file.metadata["format"] == format else {
            throw StatisticsError.malformed(path: file.name, reason: "not an alphaedit statistics file (metadata format is \(file.metadata["format"].map { "\"\($0.escapingLineBreaks)\"" } ?? "missing"))")
        }
        guard let layer = Int(try file.requireMetadata("layer")), let samples = Int(try file.requireMetadata("samples")) else {
            throw StatisticsError.malformed(path: file.name, reason: "metadata layer/samples are not integers")
        }
        let count = Int(try file.int64s("mom2.count").first ?? 0)
        let sum = try file.doubleMatrix("mom2.sum")
        guard sum.rows == sum.cols else { throw StatisticsError.malformed(path: file.name, reason: "mom2.sum is not square") }
        let provenance = StatisticsProvenance(model: try file.requireMetadata("model"), module: try file.requireMetadata("module"),
                                              corpus: try file.requireMetadata("corpus"), dtype: try file.requireMetadata("dtype"))
        return (LayerStatistics(layer: layer, count: count, samples: samples, sum: sum, provenance: provenance), file.metadata)
    }

    /// Checks that these statistics were made for `model` at `module`.
    public func check(model fingerprint: String, module: String, path: String) throws {
        guard provenance.model == fingerprint else {
            throw StatisticsError.wrongModel(path: path, expected: fingerprint, found: provenance.model)
        }
        guard provenance.module == module else {
            throw StatisticsError.wrongLayer(path: path, expected: module, found: provenance.module)
        }
    }
}
