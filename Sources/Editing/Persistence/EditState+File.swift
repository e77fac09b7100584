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
        for state in layerStates {
            switch state.constraint {
            case .projector(let p): try writer.add(name: "layer.\(state.layer).projector", matrix: p)
            case .secondMoment(let c0): try writer.add(name: "layer.\(state.layer).second_moment", matrix: c0)
            }
            try writer.add(name: "layer.\(state.layer).cache", matrix: state.cache)
        }
        try writer.write(to: url)
    }

    /// Reads a state file, checking that it continues `algorithm` on `layers` of the model `model`.
    public static func read(from url: URL, algorithm: EditAlgorithm, layers: [Int], model: String) throws -> EditState {
        try read(file: SafetensorsFile(url: url), algorithm: algorithm, layers: layers, model: model)
    }

    /// Reads an opened state file (e.g. one held in memory); errors name `file.name`.
    public static func read(file: SafetensorsFile, algorithm: EditAlgorithm, layers: [Int], model: String) throws -> EditState {
        let path = file.name
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
            throw EditJobError.invalidState(path: path, reason: "made for model \(stateModel.escapingLineBreaks), not this model (\(model.escapingLineBreaks))")
        }
        let templatesJSON = try file.requireMetadata("context_templates")
        guard let groups = try? JSONDecoder().decode([[String]].self, from: Data(templatesJSON.utf8)) else {
            throw EditJobError.invalidState(path: path, reason: "metadata context_templates is not a JSON list of lists of strings")
        }
        let layerStates = try layers.map { layer in
            let constraint: LayerConstraint
            switch algorithm {
            case .alphaedit: constraint = .projector(try file.floatMatrix("layer.\(layer).projector"))
            case .memit: constraint = .secondMoment(try file.doubleMatrix("layer.\(layer).second_moment"))
            }
            let cache = try file.floatMatrix("layer.\(layer).cache")
            guard cache.rows == constraint.width, cache.cols == constraint.width else {
                throw EditJobError.invalidState(path: path, reason: "layer.\(layer).cache is \(cache.rows)×\(cache.cols), its constraint \(constraint.width) wide")
            }
            return LayerEditState(layer: layer, constraint: constraint, cache: cache)
        }
        guard let editCount = Int(try file.requireMetadata("edit_count")), editCount >= 0 else {
            throw EditJobError.invalidState(path: path, reason: "metadata edit_count is not a count")
        }
        let state = EditState(algorithm: algorithm, layerStates: layerStates, templates: try ContextTemplates(groups: groups),
                              editCount: editCount, modelFingerprint: model)
        return state
    }
}
