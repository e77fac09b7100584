import Foundation
import Linalg
import Transformer

/// The one driver of sequential editing: runs each batch's stages (targets, then each layer from
/// the lowest: keys and solve, apply; then the caches) through an ``EditStages`` implementation,
/// in this process or across workers, and keeps the sequential state.
public struct EditSession {
    public let stages: any EditStages
    public private(set) var state: EditState
    public let events: EditEventHandler
    /// Batches applied so far in this session.
    public private(set) var batches = 0

    /// Installs `state` into `stages`.
    public init(stages: any EditStages, state: EditState, events: @escaping EditEventHandler = { _ in }) throws {
        self.stages = stages
        self.state = state
        self.events = events
        try stages.load(state)
    }

    /// The driver's replica of the model.
    public var model: TransformerModel { stages.model }

    /// Applies one batch: targets on the model as it is, each layer's update on the model with the
    /// lower layers applied, then the caches (spec §7). A batch the stages recover from (a lost
    /// worker) is redone from the state before it.
    public mutating func apply(_ requests: [EditRequest]) throws -> BatchResult {
        while true {
            do { return try applyOnce(requests) } catch {
                guard try stages.recover(from: error, state: state) else { throw error }
            }
        }
    }

    private mutating func applyOnce(_ requests: [EditRequest]) throws -> BatchResult {
        let batch = batches
        let events = self.events
        let total = requests.count
        events(.began(.targets))
        let results = try stages.targets(requests, batch: batch) { done in
            events(.progress(done: done, total: total, detail: "targets"))
        }
        events(.ended(.targets))
        let z = LocalStages.targetMatrix(results, width: stages.passes.config.hiddenSize)
        var updates: [LayerUpdate] = []
        for (i, layerState) in state.layerStates.enumerated() {
            events(.note("layer \(layerState.layer)"))
            let update = try stages.updateLayer(i, layerCount: state.layerStates.count, requests: requests, targets: z,
                                                state: layerState, batch: batch)
            try stages.apply(update, batch: batch)
            updates.append(update)
        }
        // The keys at layer l_i depend only on blocks below l_i and the unedited part of block l_i,
        // so the solve-time keys are the keys of the edited model (spec §7.4).
        events(.began(.caches))
        var after = state
        for (i, update) in updates.enumerated() { after.layerStates[i].remember(keys: update.keys) }
        after.editCount += requests.count
        try stages.endBatch(updates, batch: batch, editCount: after.editCount)
        state = after
        events(.ended(.caches))
        batches += 1
        return BatchResult(targets: results, targetMatrix: z, layers: updates)
    }
}
