import Foundation
import Linalg
import Transformer

extension NullSpaceProjector {
    static let format = "alphaedit-projector"

    /// Writes `projector` F32 `[d0, d0]` and `eigenvalues` F64 `[d0]` with the threshold and
    /// provenance in the metadata (temporary file, then rename).
    public func write(to url: URL, provenance: StatisticsProvenance) throws {
        var writer = SafetensorsWriter(metadata: [
            "format": Self.format, "version": "1", "layer": String(layer), "threshold": String(threshold),
            "null_space_dim": String(nullSpaceDimension), "model": provenance.model, "module": provenance.module,
            "corpus": provenance.corpus,
        ])
        try writer.add(name: "projector", matrix: matrix)
        try writer.add(name: "eigenvalues", doubles: eigenvalues, shape: [eigenvalues.count])
        try writer.write(to: url)
    }

    public static func read(from url: URL) throws -> (projector: NullSpaceProjector, provenance: StatisticsProvenance) {
        try read(file: SafetensorsFile(url: url))
    }

    /// Reads an opened projector file (e.g. one held in memory); errors name `file.name`.
    public static func read(file: SafetensorsFile) throws -> (projector: NullSpaceProjector, provenance: StatisticsProvenance) {
        guard file.metadata["format"] == format else {
            throw StatisticsError.malformed(path: file.name, reason: "not an alphaedit projector file")
        }
        guard let layer = Int(try file.requireMetadata("layer")), let threshold = Double(try file.requireMetadata("threshold")),
              let r = Int(try file.requireMetadata("null_space_dim")) else {
            throw StatisticsError.malformed(path: file.name, reason: "metadata layer/threshold/null_space_dim unreadable")
        }
        let projector = NullSpaceProjector(layer: layer, threshold: threshold, matrix: try file.floatMatrix("projector"),
                                           nullSpaceDimension: r, eigenvalues: try file.doubles("eigenvalues"))
        let provenance = StatisticsProvenance(model: try file.requireMetadata("model"), module: try file.requireMetadata("module"),
                                              corpus: try file.requireMetadata("corpus"), dtype: "float32")
        return (projector, provenance)
    }
}
