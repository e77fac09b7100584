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

    public init(layer: Int, keys: Matrix<Float>, currentOutputs: Matrix<Float>, residuals: Matrix<Float>, delta: Matrix<Float>) {
        self.layer = layer
        self.keys = keys
        self.currentOutputs = currentOutputs
        self.residuals = residuals
        self.delta = delta
    }
}

/// What one batch did.
public struct BatchResult: Sendable {
    public var targets: [TargetResult]
    /// Z `[d1, N]`.
    public var targetMatrix: Matrix<Float>
    public var layers: [LayerUpdate]
}

/// Edits one batch of requests into a model in this process (spec §7; MEMIT per §8): an
/// ``EditSession`` over ``LocalStages``, for callers that hold the model and the state themselves.
public struct BatchEditor: Sendable {
    public let tokenizer: Tokenizer
    public let hparams: EditHyperParameters

    public init(tokenizer: Tokenizer, hparams: EditHyperParameters) {
        self.tokenizer = tokenizer
        self.hparams = hparams
    }

    /// Z `[d1, N]`: the target of every request, all computed on the model as it is before the batch.
    public func targets(_ requests: [EditRequest], model: TransformerModel, templates: ContextTemplates,
                        progress: @escaping @Sendable (Int) -> Void = { _ in }) throws -> (results: [TargetResult], matrix: Matrix<Float>) {
        let stages = LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates)
        let results = try stages.targets(requests, batch: 0, progress: progress)
        return (results, LocalStages.targetMatrix(results, width: model.config.hiddenSize))
    }

    /// Applies the batch: targets, then each layer from the lowest, then the caches.
    public func apply(_ requests: [EditRequest], to model: inout TransformerModel, state: inout EditState,
                      events: @escaping EditEventHandler = { _ in }) throws -> BatchResult {
        let stages = LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: state.templates, events: events)
        var session = try EditSession(stages: stages, state: state, events: events)
        defer { model = stages.model }
        let result = try session.apply(requests)
        state = session.state
        return result
    }

    /// One layer's update, computed on `model` as it is (earlier layers of the batch applied).
    public func updateLayer(_ i: Int, requests: [EditRequest], targets z: Matrix<Float>, model: TransformerModel,
                            state: EditState) throws -> LayerUpdate {
        let stages = LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: state.templates)
        return try stages.updateLayer(i, layerCount: state.layerStates.count, requests: requests, targets: z,
                                      state: state.layerStates[i], batch: 0)
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
