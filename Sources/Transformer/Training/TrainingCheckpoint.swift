import Foundation

/// A resumable training state in one safetensors file: the parameters under their Hugging Face
/// names (`model.<name>`), AdamW's moments (`optimizer.exp_avg.<name>`,
/// `optimizer.exp_avg_sq.<name>`), all float32, and in the header's metadata the format and
/// version, the step, the architecture, the hyper-parameters and the corpus fingerprint.
///
/// Resuming restores every bit of the state, and the data order depends only on (seed, step), so
/// N steps in one run and N/2 + N/2 around a checkpoint give the same weights.
public struct TrainingCheckpoint: Sendable {
    public static let format = "alphaedit-training-state"
    public static let version = "1"
    /// The file name inside a run's checkpoint directory.
    public static let fileName = "training-state.safetensors"

    public var architecture: GPT2Architecture
    public var hyperParameters: TrainingHyperParameters
    public var dataFingerprint: String
    public var step: Int
    public var model: TransformerModel
    public var optimizer: AdamW

    /// The state of `trainer`.
    public init(trainer: Trainer, architecture: GPT2Architecture) {
        self.architecture = architecture
        hyperParameters = trainer.hyperParameters
        dataFingerprint = trainer.data.fingerprint
        step = trainer.step
        model = trainer.model
        optimizer = trainer.optimizer
    }

    /// Writes the state atomically to `url`.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var writer = SafetensorsWriter(metadata: [
            "format": Self.format, "version": Self.version, "step": String(step),
            "optimizer_step": String(optimizer.step),
            "architecture": String(decoding: try encoder.encode(architecture), as: UTF8.self),
            "hyperparameters": hyperParameters.json(), "data_fingerprint": dataFingerprint,
        ])
        for (index, binding) in model.bindings.enumerated() {
            try writer.add(name: "model." + binding.name, floats: model.weights[keyPath: binding.path].elements, shape: binding.shape)
            try writer.add(name: "optimizer.exp_avg." + binding.name, floats: optimizer.firstMoments[index], shape: binding.shape)
            try writer.add(name: "optimizer.exp_avg_sq." + binding.name, floats: optimizer.secondMoments[index], shape: binding.shape)
        }
        try writer.write(to: url)
    }

    /// Reads a state written by `write(to:)`.
    /// - Throws: `TrainingCheckpointError` for another format or version, or missing fields.
    public init(url: URL) throws {
        let file = try SafetensorsFile(url: url)
        let metadata = file.metadata
        guard metadata["format"] == Self.format else {
            throw TrainingCheckpointError.notATrainingState(path: url.path, found: metadata["format"] ?? "none")
        }
        guard metadata["version"] == Self.version else {
            throw TrainingCheckpointError.unsupportedVersion(path: url.path, version: metadata["version"] ?? "none", supported: Self.version)
        }
        func field(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw TrainingCheckpointError.missingField(path: url.path, field: key) }
            return value
        }
        let decoder = JSONDecoder()
        architecture = try decoder.decode(GPT2Architecture.self, from: Data(field("architecture").utf8))
        hyperParameters = try decoder.decode(TrainingHyperParameters.self, from: Data(field("hyperparameters").utf8))
        dataFingerprint = try field("data_fingerprint")
        guard let step = Int(try field("step")), let optimizerStep = Int(try field("optimizer_step")) else {
            throw TrainingCheckpointError.missingField(path: url.path, field: "step")
        }
        self.step = step
        var model = TransformerModel.randomlyInitialized(config: try architecture.modelConfig(), seed: 0)
        var first: [[Float]] = [], second: [[Float]] = []
        for binding in model.bindings {
            model.weights[keyPath: binding.path].elements = try file.floats("model." + binding.name)
            first.append(try file.floats("optimizer.exp_avg." + binding.name))
            second.append(try file.floats("optimizer.exp_avg_sq." + binding.name))
        }
        self.model = model
        let hp = hyperParameters
        optimizer = AdamW(bindings: model.bindings, beta1: Float(hp.beta1), beta2: Float(hp.beta2), epsilon: Float(hp.epsilon),
                          weightDecay: Float(hp.weightDecay), step: optimizerStep, firstMoments: first, secondMoments: second)
    }
}

extension Trainer {
    /// A trainer continuing from `checkpoint` on `data`.
    /// - Throws: `TrainingCheckpointError.mismatch` if the hyper-parameters or the corpus differ
    ///   from the checkpoint's (the run would not be the one that was interrupted).
    public init(resuming checkpoint: TrainingCheckpoint, data: TrainingData, hyperParameters: TrainingHyperParameters,
                threads: Int = 1) throws {
        guard checkpoint.hyperParameters == hyperParameters else {
            throw TrainingCheckpointError.mismatch(what: "hyper-parameters", saved: checkpoint.hyperParameters.json(), given: hyperParameters.json())
        }
        guard checkpoint.dataFingerprint == data.fingerprint else {
            throw TrainingCheckpointError.mismatch(what: "tokenised corpus", saved: checkpoint.dataFingerprint, given: data.fingerprint)
        }
        self.init(model: checkpoint.model, optimizer: checkpoint.optimizer, step: checkpoint.step, data: data,
                  hyperParameters: hyperParameters, threads: threads)
    }
}

public enum TrainingCheckpointError: Error, CustomStringConvertible, Equatable {
    case notATrainingState(path: String, found: String)
    case unsupportedVersion(path: String, version: String, supported: String)
    case missingField(path: String, field: String)
    case mismatch(what: String, saved: String, given: String)

    public var description: String {
        switch self {
        case .notATrainingState(let path, let found):
            return "\(path): not an alphaedit training state (format \(found)); pass the training-state.safetensors of a run"
        case .unsupportedVersion(let path, let version, let supported):
            return "\(path): training-state version \(version), this alphaedit reads version \(supported)"
        case .missingField(let path, let field):
            return "\(path): metadata lacks \(field)"
        case .mismatch(let what, let saved, let given):
            return "cannot resume: the \(what) differ from the checkpoint's (saved \(saved), given \(given))"
        }
    }
}
