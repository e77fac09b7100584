import Foundation
import Linalg
import Transformer

/// What sequential editing carries from one batch to the next (spec §9): per edited layer its
/// constraint (P or C0) and the cache of earlier edits' keys, and the context templates, fixed at
/// the first batch.
public struct EditState: Sendable {
    public var algorithm: EditAlgorithm
    /// One per edit layer, lowest first (the hparams' order).
    public var layerStates: [LayerEditState]
    public var templates: ContextTemplates
    /// Requests edited so far.
    public var editCount: Int
    /// Fingerprint of the model the state was made for (before any edit).
    public var modelFingerprint: String

    public init(algorithm: EditAlgorithm, layerStates: [LayerEditState], templates: ContextTemplates,
                editCount: Int = 0, modelFingerprint: String) {
        precondition(layerStates.allSatisfy { $0.constraint.algorithm == algorithm }, "layer constraints of another algorithm")
        self.algorithm = algorithm
        self.layerStates = layerStates
        self.templates = templates
        self.editCount = editCount
        self.modelFingerprint = modelFingerprint
    }

    /// The state before the first edit: the one place a fresh state is built. AlphaEdit takes the
    /// projectors, MEMIT the normalised second moments of the statistics.
    public static func initial(algorithm: EditAlgorithm, statistics: [LayerStatistics], projectors: [NullSpaceProjector],
                               templates: ContextTemplates, modelFingerprint: String) throws -> EditState {
        let layers: [LayerEditState]
        switch algorithm {
        case .alphaedit:
            precondition(projectors.map(\.layer) == statistics.map(\.layer), "a projector for every edit layer")
            layers = projectors.map { LayerEditState(layer: $0.layer, constraint: .projector($0.matrix)) }
        case .memit:
            layers = try statistics.map { LayerEditState(layer: $0.layer, constraint: .secondMoment(try $0.secondMoment)) }
        }
        return EditState(algorithm: algorithm, layerStates: layers, templates: templates, modelFingerprint: modelFingerprint)
    }

    /// The edit layers, lowest first.
    public var layers: [Int] { layerStates.map(\.layer) }

    /// Σ K·Kᵀ of earlier batches per layer `[d0, d0]`.
    public var caches: [Matrix<Float>] {
        get { layerStates.map(\.cache) }
        set {
            precondition(newValue.count == layerStates.count)
            for i in layerStates.indices { layerStates[i].cache = newValue[i] }
        }
    }

    /// Forgets earlier edits' keys (independent rather than sequential edits; EasyEdit's `reset_cache`).
    public mutating func resetCache() {
        for i in layerStates.indices {
            layerStates[i].cache = Matrix(rows: layerStates[i].cache.rows, cols: layerStates[i].cache.cols, repeating: 0)
        }
    }
}
