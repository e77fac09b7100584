import Foundation
import Linalg
import Transformer

/// What one layer's update did.
public struct LayerUpdate: Sendable {
    public var layer: Int
    /// K `[d0, N]`.
    public var keys: Matrix<Float>
    /// Block-l* output at the subject's last token of the bare prompts before this layer's update `[d1, N]`.
    public var currentOutputs: Matrix<Float>
    /// R = (Z − H) / (layers left) `[d1, N]`.
    public var residuals: Matrix<Float>
    /// Δ `[d0, d1]` added to W̃.
    public var delta: Matrix<Float>
}

/// What one batch did.
public struct BatchResult: Sendable {
    public var targets: [TargetResult]
    /// Z `[d1, N]`.
    public var targetMatrix: Matrix<Float>
    public var layers: [LayerUpdate]
}

/// Edits one batch of requests into a model (spec §7; MEMIT per §8), updating the sequential state.
public struct BatchEditor: Sendable {
    public let tokenizer: Tokenizer
    public let hparams: EditHyperParameters

    public init(tokenizer: Tokenizer, hparams: EditHyperParameters) {
        self.tokenizer = tokenizer
        self.hparams = hparams
    }

    /// Z `[d1, N]`: the target of every request, all computed on the model as it is before the batch.
    public func targets(_ requests: [EditRequest], model: TransformerModel, templates: ContextTemplates,
                        progress: (Int) -> Void = { _ in }) -> (results: [TargetResult], matrix: Matrix<Float>) {
        let optimizer = TargetOptimizer(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates)
        var results: [TargetResult] = []
        for (i, request) in requests.enumerated() {
            results.append(optimizer.optimize(request))
            progress(i + 1)
        }
        let d1 = model.config.hiddenSize
        var z = Matrix<Float>(rows: d1, cols: requests.count, repeating: 0)
        for (r, result) in results.enumerated() {
            for c in 0..<d1 { z.elements[c * requests.count + r] = result.target[c] }
        }
        return (results, z)
    }

    /// Applies the batch: targets, then each layer from the lowest, then the caches.
    public func apply(_ requests: [EditRequest], to model: inout TransformerModel, state: inout EditState,
                      progress: (String) -> Void = { _ in }) throws -> BatchResult {
        let (results, z) = targets(requests, model: model, templates: state.templates) { done in
            progress("targets \(done)/\(requests.count)")
        }
        var updates: [LayerUpdate] = []
        for (i, layer) in state.layers.enumerated() {
            progress("layer \(layer)")
            let update = try updateLayer(i, requests: requests, targets: z, model: model, state: state)
            Self.add(update.delta, toLayer: layer, of: &model)
            updates.append(update)
        }
        // The keys at layer l_i depend only on blocks below l_i and the unedited part of block l_i,
        // so the solve-time keys are the keys of the edited model (spec §7.4).
        for (i, update) in updates.enumerated() {
            state.caches[i] += matmul(update.keys, update.keys, transposeB: true)
        }
        state.editCount += requests.count
        return BatchResult(targets: results, targetMatrix: z, layers: updates)
    }

    /// One layer's update, computed on `model` as it is (earlier layers of the batch applied).
    public func updateLayer(_ i: Int, requests: [EditRequest], targets z: Matrix<Float>, model: TransformerModel,
                            state: EditState) throws -> LayerUpdate {
        let layer = state.layers[i]
        let extractor = KeyExtractor(model: model, tokenizer: tokenizer, factToken: hparams.factToken)
        let keys = extractor.keys(requests: requests, layer: layer, templates: state.templates)
        let current = extractor.blockOutputs(requests: requests, layer: hparams.zLayer)
        var residuals = z - current
        residuals.scale(by: 1 / Float(state.layers.count - i))
        let delta: Matrix<Float>
        switch state.algorithm {
        case .alphaedit:
            delta = try WeightUpdate.alphaEdit(keys: keys, residuals: residuals, projector: state.projectors[i],
                                               cache: state.caches[i], l2: hparams.l2 ?? 10)
        case .memit:
            delta = try WeightUpdate.memit(keys: keys, residuals: residuals, secondMoment: state.secondMoments[i],
                                           updateWeight: hparams.mom2UpdateWeight ?? 15_000).delta
        }
        return LayerUpdate(layer: layer, keys: keys, currentOutputs: current, residuals: residuals, delta: delta)
    }

    /// W̃ += Δ on the down projection of `layer` (Δ for Conv1D `[in, out]`, Δᵀ for Linear `[out, in]`).
    public static func add(_ delta: Matrix<Float>, toLayer layer: Int, of model: inout TransformerModel) {
        let down = model.weights.blocks[layer].mlp.down
        switch down.layout {
        case .inOut:
            model.weights.blocks[layer].mlp.down.weight += delta
        case .outIn:
            model.weights.blocks[layer].mlp.down.weight += delta.transposed()
        }
    }
}
