import Foundation
import Linalg

extension TransformerModel {
    /// Loads a Hugging Face checkpoint directory: config.json and model.safetensors (or the
    /// shards of model.safetensors.index.json). Weights are converted to float32 on load.
    /// - Throws: `ConfigError`, `SafetensorsError`, or `ModelLoadError` naming the tensor.
    public static func load(directory: URL) throws -> TransformerModel {
        let config = try ModelConfig.load(directory: directory)
        let checkpoint = try Checkpoint(directory: directory)
        return try load(config: config, checkpoint: checkpoint, directoryName: directory.path)
    }

    /// Binds every parameter of `config`'s family from `checkpoint`.
    public static func load(config: ModelConfig, checkpoint: Checkpoint, directoryName: String) throws -> TransformerModel {
        let family = config.modelType.family
        var weights = family.skeleton(config)
        let bindings = family.bindings(config)
        try bind(bindings, of: family, from: checkpoint, into: &weights, directoryName: directoryName)
        return TransformerModel(config: config, weights: weights, bindings: bindings)
    }

    /// Reads `bindings` from the checkpoint into `weights`, checking each tensor's presence,
    /// shape and dtype; nothing else is read.
    static func bind(_ bindings: [ParameterBinding], of family: any ModelFamily.Type, from checkpoint: Checkpoint,
                     into weights: inout ModelWeights, directoryName: String) throws {
        // canonical name -> name in the file
        var available: [String: String] = [:]
        for name in checkpoint.tensorNames {
            if let canonical = family.canonicalName(name) { available[canonical] = name }
        }
        for binding in bindings {
            guard let stored = available[binding.name] else {
                throw ModelLoadError.missingTensor(directory: directoryName, tensor: binding.name)
            }
            let info = try checkpoint.info(stored)
            guard info.shape == binding.shape else {
                throw ModelLoadError.shapeMismatch(directory: directoryName, tensor: binding.name,
                                                   expected: binding.shape, found: info.shape)
            }
            guard info.dtype.isFloatingPoint else {
                throw ModelLoadError.notFloatingPoint(directory: directoryName, tensor: binding.name, dtype: info.dtype.rawValue)
            }
            let current = weights[keyPath: binding.path]
            weights[keyPath: binding.path] = Matrix(rows: current.rows, cols: current.cols,
                                                    elements: try checkpoint.floats(stored))
        }
    }

    /// A model with freshly initialised weights: N(0, std²) matrices (GPT-2's scheme: the
    /// projections into the residual stream scaled by 1/√(2·layers)), unit norms, zero biases.
    /// Deterministic for a seed.
    public static func randomlyInitialized(config: ModelConfig, seed: UInt64, standardDeviation: Float = 0.02) -> TransformerModel {
        let family = config.modelType.family
        var weights = family.skeleton(config)
        let bindings = family.bindings(config)
        var generator = SplitMix64(seed: seed)
        let residualScale = 1 / Float(2 * config.layerCount).squareRoot()
        for binding in bindings {
            var m = weights[keyPath: binding.path]
            let name = binding.name
            if binding.shape.count == 1 {
                let isNormWeight = name.contains("ln_") || name.contains("norm")
                let value: Float = isNormWeight && name.hasSuffix(".weight") ? 1 : 0
                m.elements = [Float](repeating: value, count: m.elements.count)
            } else {
                let projectsIntoResidual = name.hasSuffix("attn.c_proj.weight") || name.hasSuffix("mlp.c_proj.weight")
                    || name.hasSuffix("o_proj.weight") || name.hasSuffix("out_proj.weight")
                    || name.hasSuffix("down_proj.weight") || name.hasSuffix("fc_out.weight")
                let std = standardDeviation * (projectsIntoResidual ? residualScale : 1)
                m.elements = (0..<m.elements.count).map { _ in generator.nextGaussian() * std }
            }
            weights[keyPath: binding.path] = m
        }
        return TransformerModel(config: config, weights: weights, bindings: bindings)
    }
}

