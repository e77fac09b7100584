import Foundation
import Linalg
import Transformer

/// The stages of one sequential batch (spec §5–7) as units with value inputs and outputs.
/// ``EditSession`` drives them; ``LocalStages`` runs them in this process, and the cluster runs
/// the same Editing code on workers behind this protocol. Every implementation must give the same
/// bytes: each stage's result depends only on its inputs.
public protocol EditStages: AnyObject {
    /// The driver's copy of the weights, written at the end; deltas passed to ``apply(_:batch:)``
    /// are added to it. The whole model, except in a layer-sharded job, where it holds only the
    /// blocks of the edit layers and ``passes`` runs the model on the workers.
    var model: TransformerModel { get }
    /// Runs forward passes on the model as edited so far (``model`` itself unless layer-sharded).
    var passes: any LanguageModel { get }

    /// Installs the sequential state where each layer is solved (before the first batch).
    func load(_ state: EditState) throws

    /// compute_z of every request on the model as it is before the batch, in request order.
    /// - Parameter progress: called with the number of requests done so far.
    func targets(_ requests: [EditRequest], batch: Int, progress: @escaping @Sendable (Int) -> Void) throws -> [TargetResult]

    /// Layer position i's keys, current outputs, residuals and Δ, on the model with the batch's
    /// lower layers already applied.
    /// - Parameters:
    ///   - targets: Z `[d1, N]`.
    ///   - state: the layer's state as the driver holds it (an implementation that keeps its own
    ///     copy where the layer is solved may ignore it).
    func updateLayer(_ i: Int, layerCount: Int, requests: [EditRequest], targets: Matrix<Float>, state: LayerEditState,
                     batch: Int) throws -> LayerUpdate

    /// W̃_l += Δ on every replica, the driver's included.
    func apply(_ update: LayerUpdate, batch: Int) throws

    /// The batch is over: wherever a layer's state is kept, its cache += K·Kᵀ.
    func endBatch(_ updates: [LayerUpdate], batch: Int, editCount: Int) throws

    /// After `error` ended a batch: whether the stages recovered so that the batch can be
    /// redone from `state` (the state before it), e.g. without a lost worker.
    func recover(from error: Error, state: EditState) throws -> Bool
}

extension EditStages {
    /// Z `[d1, N]` from the targets, column r = request r's z.
    public static func targetMatrix(_ results: [TargetResult], width d1: Int) -> Matrix<Float> {
        var z = Matrix<Float>(rows: d1, cols: results.count, repeating: 0)
        for (r, result) in results.enumerated() {
            for c in 0..<d1 { z.elements[c * results.count + r] = result.target[c] }
        }
        return z
    }
}

extension EditStages {
    public var passes: any LanguageModel { model }
    public func recover(from error: Error, state: EditState) throws -> Bool { false }
}
