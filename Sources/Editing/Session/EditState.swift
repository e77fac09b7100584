import Foundation
import Linalg
import Transformer

/// What sequential editing carries from one batch to the next (spec §9): per edited layer the
/// projector (AlphaEdit) or second moment (MEMIT) and the cache of earlier edits' keys, and the
/// context templates, fixed at the first batch.
public struct EditState: Sendable {
    public var algorithm: EditAlgorithm
    public var layers: [Int]
    /// P_i `[d0, d0]` (AlphaEdit).
    public var projectors: [Matrix<Float>]
    /// C0_i `[d0, d0]`, normalised second moments (MEMIT).
    public var secondMoments: [Matrix<Double>]
    /// Σ over earlier batches of K_i·K_iᵀ `[d0, d0]`.
    public var caches: [Matrix<Float>]
    public var templates: ContextTemplates
    /// Requests edited so far.
    public var editCount: Int
    /// Fingerprint of the model the state was made for (before any edit).
    public var modelFingerprint: String

    public init(algorithm: EditAlgorithm, layers: [Int], projectors: [Matrix<Float>], secondMoments: [Matrix<Double>],
                width: Int, templates: ContextTemplates, modelFingerprint: String) {
        self.algorithm = algorithm
        self.layers = layers
        self.projectors = projectors
        self.secondMoments = secondMoments
        self.caches = layers.map { _ in Matrix<Float>(rows: width, cols: width, repeating: 0) }
        self.templates = templates
        self.editCount = 0
        self.modelFingerprint = modelFingerprint
    }

    /// Forgets earlier edits' keys (independent rather than sequential edits; EasyEdit's `reset_cache`).
    public mutating func resetCache() {
        for i in caches.indices { caches[i] = Matrix(rows: caches[i].rows, cols: caches[i].cols, repeating: 0) }
    }
}
