import Foundation
import Linalg
import Transformer

/// The edit stages in this process, on one model. Also what a cluster worker runs for the pieces
/// it is given: every method is a function of its inputs and the model.
public final class LocalStages: EditStages, @unchecked Sendable {
    public private(set) var model: TransformerModel
    public let tokenizer: Tokenizer
    public let hparams: EditHyperParameters
    public private(set) var templates: ContextTemplates
    public let events: EditEventHandler
    /// At most this many requests' targets are optimised together (``TargetOptimizer/defaultGroupSize``).
    public var targetGroupSize = TargetOptimizer.defaultGroupSize

    /// - Parameter templates: the context templates until ``load(_:)`` installs a state's.
    public init(model: TransformerModel, tokenizer: Tokenizer, hparams: EditHyperParameters, templates: ContextTemplates,
                events: @escaping EditEventHandler = { _ in }) {
        self.model = model
        self.tokenizer = tokenizer
        self.hparams = hparams
        self.templates = templates
        self.events = events
    }

    public func load(_ state: EditState) throws { templates = state.templates }

    public func targets(_ requests: [EditRequest], batch: Int, progress: @escaping @Sendable (Int) -> Void) throws -> [TargetResult] {
        try Self.targets(requests, model: model, tokenizer: tokenizer, hparams: hparams, templates: templates,
                         maxGroup: targetGroupSize, progress: progress)
    }

    /// compute_z of `requests` on any model (a layer-sharded job passes its pipeline), in the
    /// groups of ``TargetOptimizer/groups(_:maxRequests:maxTokens:)``, each optimised together,
    /// ``LanguageModel/passesInFlight`` groups at a time.
    public static func targets(_ requests: [EditRequest], model: any LanguageModel, tokenizer: Tokenizer, hparams: EditHyperParameters,
                               templates: ContextTemplates, maxGroup: Int,
                               maxGroupTokens: Int = TargetOptimizer.defaultGroupTokens,
                               progress: (Int) -> Void) throws -> [TargetResult] {
        let optimizer = TargetOptimizer(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates)
        let groups = try optimizer.groups(requests, maxRequests: maxGroup, maxTokens: maxGroupTokens)
        var results: [TargetResult] = []
        // As many groups at a time as the model overlaps (a pipeline: two).
        for wave in stride(from: 0, to: groups.count, by: max(model.passesInFlight, 1)) {
            let members = groups[wave..<min(wave + max(model.passesInFlight, 1), groups.count)]
            for groupResults in try optimizer.optimize(groups: members.map { Array(requests[$0]) }) {
                results += groupResults
            }
            progress(results.count)
        }
        return results
    }

    /// Where ``targets(_:model:tokenizer:hparams:templates:maxGroup:progress:)`` cuts `requests`.
    public func targetGroups(_ requests: [EditRequest]) throws -> [Range<Int>] {
        try TargetOptimizer(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates)
            .groups(requests, maxRequests: targetGroupSize)
    }

    /// compute_ks and cur_zs of layer `layer`: K `[d0, N]` and H `[d1, N]`.
    public func keysAndOutputs(layer: Int, requests: [EditRequest]) throws -> (keys: Matrix<Float>, current: Matrix<Float>) {
        try Self.keysAndOutputs(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates, events: events,
                                layer: layer, requests: requests)
    }

    /// ``keysAndOutputs(layer:requests:)`` on any model (a layer-sharded job passes its pipeline).
    public static func keysAndOutputs(model: any LanguageModel, tokenizer: Tokenizer, hparams: EditHyperParameters,
                                      templates: ContextTemplates, events: EditEventHandler, layer: Int,
                                      requests: [EditRequest]) throws -> (keys: Matrix<Float>, current: Matrix<Float>) {
        let extractor = KeyExtractor(model: model, tokenizer: tokenizer, factToken: hparams.factToken)
        events(.began(.keys(layer: layer)))
        let keys = try extractor.keys(requests: requests, layer: layer, templates: templates)
        events(.ended(.keys(layer: layer)))
        events(.began(.currentOutputs(layer: layer)))
        let current = try extractor.blockOutputs(requests: requests, layer: hparams.zLayer)
        events(.ended(.currentOutputs(layer: layer)))
        return (keys, current)
    }

    public func updateLayer(_ i: Int, layerCount: Int, requests: [EditRequest], targets z: Matrix<Float>, state: LayerEditState,
                            batch: Int) throws -> LayerUpdate {
        try updateLayer(i, layerCount: layerCount, requests: requests, targets: z, state: state, batch: batch, projectedCache: .none)
    }

    /// ``updateLayer(_:layerCount:requests:targets:state:batch:)`` with P·C computed ahead
    /// (`.none`: computed here).
    public func updateLayer(_ i: Int, layerCount: Int, requests: [EditRequest], targets z: Matrix<Float>, state: LayerEditState,
                            batch: Int, projectedCache: Matrix<Double>??) throws -> LayerUpdate {
        let (keys, current) = try keysAndOutputs(layer: state.layer, requests: requests)
        events(.began(.solve(layer: state.layer)))
        defer { events(.ended(.solve(layer: state.layer))) }
        return try Self.solve(layer: state.layer, position: i, layerCount: layerCount, keys: keys, current: current,
                              targets: z, state: state, hparams: hparams, projectedCache: projectedCache)
    }

    /// R = (Z − H) / (layers left) and Δ from the layer's state.
    public static func solve(layer: Int, position i: Int, layerCount: Int, keys: Matrix<Float>, current: Matrix<Float>,
                             targets z: Matrix<Float>, state: LayerEditState, hparams: EditHyperParameters,
                             projectedCache: Matrix<Double>?? = .none) throws -> LayerUpdate {
        var residuals = z - current
        residuals.scale(by: 1 / Float(layerCount - i))
        let delta = try state.solve(keys: keys, residuals: residuals, hparams: hparams, projectedCache: projectedCache)
        return LayerUpdate(layer: layer, keys: keys, currentOutputs: current, residuals: residuals, delta: delta)
    }

    public func apply(_ update: LayerUpdate, batch: Int) throws {
        events(.began(.apply(layer: update.layer)))
        BatchEditor.add(update.delta, toLayer: update.layer, of: &model)
        events(.ended(.apply(layer: update.layer)))
    }

    /// Replaces the down projection of `layer` with `weight`, stored as the model stores it (a
    /// batch redone after a lost worker starts from the weights it started from).
    public func setDownWeight(_ weight: Matrix<Float>, layer: Int) {
        model.weights.blocks[layer].mlp.down.weight = weight
    }

    /// W̃_l += Δ (the worker side of a broadcast delta).
    public func apply(delta: Matrix<Float>, layer: Int) {
        BatchEditor.add(delta, toLayer: layer, of: &model)
    }

    public func endBatch(_ updates: [LayerUpdate], batch: Int, editCount: Int) throws {}
}
