import Foundation
import Transformer

/// Which algorithm computes the weight update.
public enum EditAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Null-space-constrained update (the default).
    case alphaedit
    /// MEMIT's covariance-regularised update, for comparison.
    case memit
}

/// Which token of the prompt carries the key and the value.
public enum FactToken: String, Sendable, Codable {
    case subjectLast = "subject_last"
    case subjectFirstAfterLast = "subject_first_after_last"
}

/// The hyper-parameters of an edit, read from the official JSON files unchanged.
///
/// Two dialects are accepted: the legacy `hparams/AlphaEdit/*.json` (and `hparams/MEMIT/*.json`),
/// where every key is required, and the newer package's `configs/*.json`, where keys have
/// defaults and module names may be left out. Unknown keys are refused so that a typo does not
/// silently fall back to a default.
public struct EditHyperParameters: Sendable, Equatable {
    public var modelName: String?
    /// Edited layers, ascending.
    public var layers: [Int]
    public var factToken: FactToken
    /// Iteration budget of the target optimisation (at most steps − 1 Adam updates).
    public var vNumGradSteps: Int
    public var vLearningRate: Double
    public var vLossLayer: Int
    public var vWeightDecay: Double
    public var clampNormFactor: Double
    public var klFactor: Double
    /// MEMIT's λ (not used by AlphaEdit).
    public var mom2UpdateWeight: Double?
    /// e.g. `transformer.h.{}.mlp.c_proj`; nil = the model family's down projection.
    public var rewriteModuleTemplate: String?
    /// e.g. `transformer.h.{}`; nil = the model family's block.
    public var layerModuleTemplate: String?
    public var finalNormModule: String?
    public var lmHeadModule: String
    public var mom2Dataset: String
    public var mom2SampleCount: Int
    public var mom2DType: String
    /// Eigenvalues of the normalised second moment below this span the null space.
    public var nullspaceThreshold: Double?
    /// Ridge coefficient of the AlphaEdit solve.
    public var l2: Double?

    /// Reads an hparams JSON file. `algorithm` decides which keys a legacy file must have.
    public static func load(file: URL, algorithm: EditAlgorithm) throws -> EditHyperParameters {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw HyperParameterError.unreadable(path: file.path, reason: error.localizedDescription)
        }
        return try parse(data: data, path: file.path, algorithm: algorithm)
    }

    static let legacyKeys: Set<String> = [
        "model_name", "layers", "layer_selection", "fact_token", "v_num_grad_steps", "v_lr", "v_loss_layer",
        "v_weight_decay", "clamp_norm_factor", "kl_factor", "mom2_adjustment", "mom2_update_weight",
        "rewrite_module_tmp", "layer_module_tmp", "mlp_module_tmp", "attn_module_tmp", "ln_f_module",
        "lm_head_module", "mom2_dataset", "mom2_n_samples", "mom2_dtype", "nullspace_threshold", "L2",
    ]
    static let packageOnlyKeys: Set<String> = [
        "l2_regularization", "rewrite_module_template", "layer_module_template", "final_norm_module",
    ]

    public static func parse(data: Data, path: String = "hparams.json", algorithm: EditAlgorithm) throws -> EditHyperParameters {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(data) } catch {
            throw HyperParameterError.notJSON(path: path, reason: "\(error)")
        }
        guard let object = parsed.objectValue else {
            throw HyperParameterError.notJSON(path: path, reason: "the top level is not an object")
        }
        for key in object.keys.sorted() where !legacyKeys.contains(key) && !packageOnlyKeys.contains(key) {
            throw HyperParameterError.unknownKey(path: path, key: key)
        }
        let isPackage = !packageOnlyKeys.isDisjoint(with: object.keys)
        let reader = KeyReader(path: path, object: object, requireAll: !isPackage, algorithm: algorithm)

        var p = EditHyperParameters(
            modelName: try reader.string("model_name", default: nil),
            layers: try reader.intList("layers"),
            factToken: .subjectLast,
            vNumGradSteps: try reader.int("v_num_grad_steps", default: 25),
            vLearningRate: try reader.double("v_lr", default: 0.1),
            vLossLayer: try reader.int("v_loss_layer", default: 0),
            vWeightDecay: try reader.double("v_weight_decay", default: 0.5),
            clampNormFactor: try reader.double("clamp_norm_factor", default: 0.75),
            klFactor: try reader.double("kl_factor", default: 0.0625),
            mom2UpdateWeight: nil,
            rewriteModuleTemplate: try reader.optionalString("rewrite_module_template") ?? reader.string("rewrite_module_tmp", default: nil),
            layerModuleTemplate: try reader.optionalString("layer_module_template") ?? reader.string("layer_module_tmp", default: nil),
            finalNormModule: try reader.optionalString("final_norm_module") ?? reader.string("ln_f_module", default: nil),
            lmHeadModule: try reader.string("lm_head_module", default: "lm_head") ?? "lm_head",
            mom2Dataset: try reader.string("mom2_dataset", default: "wikipedia") ?? "wikipedia",
            mom2SampleCount: try reader.int("mom2_n_samples", default: 100_000),
            mom2DType: try reader.string("mom2_dtype", default: "float32") ?? "float32",
            nullspaceThreshold: nil,
            l2: nil)
        let factToken = try reader.string("fact_token", default: "subject_last") ?? "subject_last"
        guard let token = FactToken(rawValue: factToken) else {
            throw HyperParameterError.invalidValue(path: path, key: "fact_token",
                                                   reason: "\"\(factToken)\" is not supported (subject_last, subject_first_after_last)")
        }
        p.factToken = token
        if algorithm == .memit || object["mom2_update_weight"] != nil {
            p.mom2UpdateWeight = try reader.requiredFor(.memit, "mom2_update_weight", default: 15_000)
        }
        if algorithm == .alphaedit || object["nullspace_threshold"] != nil {
            p.nullspaceThreshold = try reader.requiredFor(.alphaedit, "nullspace_threshold", default: 0.02)
        }
        if algorithm == .alphaedit || object["L2"] != nil || object["l2_regularization"] != nil {
            if object["l2_regularization"] != nil {
                p.l2 = try reader.double("l2_regularization", default: 10)
            } else {
                p.l2 = try reader.requiredFor(.alphaedit, "L2", default: 10)
            }
        }
        for key in ["layer_selection", "mom2_adjustment", "mlp_module_tmp", "attn_module_tmp"] {
            _ = try reader.present(key)  // read by the official code's dataclass, never used
        }
        try p.validate(path: path)
        return p
    }

    func validate(path: String) throws {
        guard !layers.isEmpty else { throw HyperParameterError.invalidValue(path: path, key: "layers", reason: "must list at least one layer") }
        guard layers == layers.sorted(), Set(layers).count == layers.count, layers.allSatisfy({ $0 >= 0 }) else {
            throw HyperParameterError.invalidValue(path: path, key: "layers", reason: "must be distinct non-negative layers in ascending order, found \(layers)")
        }
        guard vNumGradSteps >= 1 else { throw HyperParameterError.invalidValue(path: path, key: "v_num_grad_steps", reason: "must be at least 1") }
        guard mom2SampleCount >= 1 else { throw HyperParameterError.invalidValue(path: path, key: "mom2_n_samples", reason: "must be at least 1") }
        guard mom2DType == "float32" || mom2DType == "float64" else {
            throw HyperParameterError.invalidValue(path: path, key: "mom2_dtype", reason: "must be float32 or float64, found \"\(mom2DType)\"")
        }
        if let l2, l2 < 0 { throw HyperParameterError.invalidValue(path: path, key: "L2", reason: "must not be negative") }
    }

    /// The z layer l* (last edited layer).
    public var zLayer: Int { layers.last! }
}

/// Reads keys of one hparams object: required in the legacy dialect, defaulted in the package's.
private struct KeyReader {
    let path: String
    let object: [String: JSONValue]
    let requireAll: Bool
    let algorithm: EditAlgorithm

    func present(_ key: String) throws -> Bool {
        if object[key] == nil && requireAll {
            throw HyperParameterError.missingKey(path: path, key: key, algorithm: "an official \(algorithm == .memit ? "MEMIT" : "AlphaEdit") hparams file")
        }
        return object[key] != nil
    }

    func number(_ key: String) throws -> Double? {
        guard try present(key) else { return nil }
        guard let n = object[key]!.numberValue else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be a number, found \(object[key]!.typeName)")
        }
        return n
    }

    func int(_ key: String, default value: Int) throws -> Int {
        guard let n = try number(key) else { return value }
        guard let i = Int(exactly: n) else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be an integer")
        }
        return i
    }

    func double(_ key: String, default value: Double) throws -> Double {
        try number(key) ?? value
    }

    func requiredFor(_ needed: EditAlgorithm, _ key: String, default value: Double) throws -> Double {
        if object[key] == nil && (requireAll && algorithm == needed) {
            throw HyperParameterError.missingKey(path: path, key: key, algorithm: needed == .memit ? "MEMIT" : "AlphaEdit")
        }
        return try object[key] == nil ? value : double(key, default: value)
    }

    func string(_ key: String, default value: String?) throws -> String? {
        guard try present(key) else { return value }
        guard let s = object[key]!.stringValue else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be a string, found \(object[key]!.typeName)")
        }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let s = value.stringValue else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be a string, found \(value.typeName)")
        }
        return s
    }

    func intList(_ key: String) throws -> [Int] {
        guard let value = object[key] else { throw HyperParameterError.missingKey(path: path, key: key, algorithm: "every edit") }
        guard let list = value.arrayValue else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be a list of integers")
        }
        let ints = list.compactMap(\.intValue)
        guard ints.count == list.count else {
            throw HyperParameterError.invalidValue(path: path, key: key, reason: "must be a list of integers")
        }
        return ints
    }
}
