import Foundation
import Linalg
import Transformer

extension EditState {
    static let format = "alphaedit-state"

    /// Writes projectors (or second moments), caches, templates and counters as safetensors
    /// (temporary file, then rename).
    public func write(to url: URL, hparams: EditHyperParameters) throws {
        let templatesJSON = String(decoding: try JSONEncoder().encode(templates.groups), as: UTF8.self)
        var writer = SafetensorsWriter(metadata: [
            "format": Self.format, "version": "1", "algorithm": algorithm.rawValue,
            "layers": layers.map(String.init).joined(separator: ","), "context_templates": templatesJSON,
            "edit_count": String(editCount), "model": modelFingerprint,
        ])
        for (i, layer) in layers.enumerated() {
            switch algorithm {
            case .alphaedit: try writer.add(name: "layer.\(layer).projector", matrix: projectors[i])
            case .memit: try writer.add(name: "layer.\(layer).second_moment", matrix: secondMoments[i])
            }
            try writer.add(name: "layer.\(layer).cache", matrix: caches[i])
        }
        try writer.write(to: url)
    }

    /// Reads a state file, checking that it continues `algorithm` on `layers` of the model `model`.
    public static func read(from url: URL, algorithm: EditAlgorithm, layers: [Int], model: String) throws -> EditState {
        let file = try SafetensorsFile(url: url)
        let path = url.path
        guard file.metadata["format"] == format else {
            throw EditJobError.invalidState(path: path, reason: "not an alphaedit state file")
        }
        let stateAlgorithm = EditAlgorithm(rawValue: try file.requireMetadata("algorithm"))
        guard stateAlgorithm == algorithm else {
            throw EditJobError.invalidState(path: path, reason: "made by --algorithm \(stateAlgorithm?.rawValue ?? "?"), not \(algorithm.rawValue)")
        }
        let stateLayers = try file.requireMetadata("layers").split(separator: ",").compactMap { Int($0) }
        guard stateLayers == layers else {
            throw EditJobError.invalidState(path: path, reason: "made for layers \(stateLayers), the hparams edit \(layers)")
        }
        let stateModel = try file.requireMetadata("model")
        guard stateModel == model else {
            throw EditJobError.invalidState(path: path, reason: "made for model \(stateModel), not this model (\(model))")
        }
        let groups = try JSONDecoder().decode([[String]].self, from: Data(try file.requireMetadata("context_templates").utf8))
        var projectors: [Matrix<Float>] = [], moments: [Matrix<Double>] = [], caches: [Matrix<Float>] = []
        for layer in layers {
            switch algorithm {
            case .alphaedit: projectors.append(try file.floatMatrix("layer.\(layer).projector"))
            case .memit: moments.append(try file.doubleMatrix("layer.\(layer).second_moment"))
            }
            caches.append(try file.floatMatrix("layer.\(layer).cache"))
        }
        var state = EditState(algorithm: algorithm, layers: layers, projectors: projectors, secondMoments: moments,
                              width: caches[0].rows, templates: try ContextTemplates(groups: groups), modelFingerprint: model)
        state.caches = caches
        state.editCount = Int(try file.requireMetadata("edit_count")) ?? 0
        return state
    }
}
