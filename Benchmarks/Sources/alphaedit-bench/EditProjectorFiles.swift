// The edit benchmark's projectors on disk: `--save-projectors` writes alphaedit's P of every edit
// layer, `--reference-projectors` compares them with another implementation's (the official
// code's, written by official_edit_bench.py --save-projectors). One format for both: a
// safetensors file of float32 [d0, d0] tensors named P.<layer> (P is symmetric, so row- and
// column-major read the same).

import Editing
import Foundation
import Linalg
import Transformer

/// One layer's projector against the reference.
struct EditProjectorSummary: Codable {
    var layer: Int
    /// r: eigenvalues below the threshold (alphaedit).
    var nullSpaceDimension: Int
    /// The reference's trace, rounded: its r when it is a projector.
    var referenceTrace: Int
    /// ‖P − P_ref‖_F / ‖P_ref‖_F.
    var relativeErrorToReference: Double
    /// max |P − P_ref| over the elements.
    var maxAbsoluteDifference: Double
}

enum EditProjectorFiles {
    static func name(layer: Int) -> String { "P.\(layer)" }

    /// Writes every projector (atomically, as SafetensorsWriter does).
    static func save(_ projectors: [NullSpaceProjector], to url: URL) throws {
        var writer = SafetensorsWriter(metadata: ["format": "alphaedit-projectors", "version": "1",
                                                  "layout": "P of each edit layer, float32 [d0, d0]",
                                                  "source": "alphaedit-bench edit run"])
        for projector in projectors {
            let d0 = projector.matrix.rows
            try writer.add(name: name(layer: projector.layer), floats: projector.matrix.elements, shape: [d0, d0])
        }
        try writer.write(to: url)
    }

    /// Compares every projector with the reference file's tensor of the same layer.
    static func compare(_ projectors: [NullSpaceProjector], reference url: URL) throws -> [EditProjectorSummary] {
        let file = try SafetensorsFile(url: url)
        return try projectors.map { projector in
            let tensor = name(layer: projector.layer), d0 = projector.matrix.rows
            let other = try comparisonFloats(file, tensor, count: d0 * d0, path: url.path)
            var difference = 0.0, size = 0.0, largest = 0.0, trace = 0.0
            for (k, (a, b)) in zip(projector.matrix.elements, other).enumerated() {
                let d = Double(a) - Double(b)
                difference += d * d
                size += Double(b) * Double(b)
                largest = max(largest, abs(d))
                if k % (d0 + 1) == 0 { trace += Double(b) }
            }
            return EditProjectorSummary(layer: projector.layer, nullSpaceDimension: projector.nullSpaceDimension,
                                        referenceTrace: Int(trace.rounded()),
                                        relativeErrorToReference: difference.squareRoot() / max(size.squareRoot(), 1e-300),
                                        maxAbsoluteDifference: largest)
        }
    }
}
