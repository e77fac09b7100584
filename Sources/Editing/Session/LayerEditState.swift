import Foundation
import Linalg

/// What constrains one layer's update: the null-space projector (AlphaEdit) or the normalised
/// second moment of the preserved keys (MEMIT).
public enum LayerConstraint: Sendable, Equatable {
    /// P `[d0, d0]`.
    case projector(Matrix<Float>)
    /// C0 `[d0, d0]`.
    case secondMoment(Matrix<Double>)

    public var algorithm: EditAlgorithm {
        switch self {
        case .projector: return .alphaedit
        case .secondMoment: return .memit
        }
    }

    /// d0.
    public var width: Int {
        switch self {
        case .projector(let p): return p.rows
        case .secondMoment(let c): return c.rows
        }
    }
}

/// The sequential state of one edited layer: what a worker that owns the layer holds.
public struct LayerEditState: Sendable, Equatable {
    public var layer: Int
    public var constraint: LayerConstraint
    /// Σ over earlier batches of K·Kᵀ `[d0, d0]`.
    public var cache: Matrix<Float>

    public init(layer: Int, constraint: LayerConstraint, cache: Matrix<Float>? = nil) {
        self.layer = layer
        self.constraint = constraint
        self.cache = cache ?? Matrix(rows: constraint.width, cols: constraint.width, repeating: 0)
    }

    /// Δ `[d0, d1]` of this layer for keys K `[d0, N]` and residuals R `[d1, N]` (spec §7.3, §8).
    /// - Parameter projectedCache: P·C if computed ahead (``projectedCache``); AlphaEdit only.
    public func solve(keys: Matrix<Float>, residuals: Matrix<Float>, hparams: EditHyperParameters,
                      projectedCache: Matrix<Double>?? = .none) throws -> Matrix<Float> {
        switch constraint {
        case .projector(let p):
            return try WeightUpdate.alphaEdit(keys: keys, residuals: residuals, projector: p, cache: cache, l2: hparams.l2 ?? 10,
                                              projectedCache: projectedCache)
        case .secondMoment(let c0):
            return try WeightUpdate.memit(keys: keys, residuals: residuals, secondMoment: c0,
                                          updateWeight: hparams.mom2UpdateWeight ?? 15_000).delta
        }
    }

    /// P·C of an AlphaEdit layer (nil for MEMIT or a zero cache): fixed for a batch, so an
    /// owner computes it before the batch's layers reach it.
    public var projectedCache: Matrix<Double>? {
        guard case .projector(let p) = constraint else { return nil }
        return WeightUpdate.projectedCache(projector: p, cache: cache)
    }

    /// After the batch: cache += K·Kᵀ with the batch's keys K `[d0, N]` (spec §7.4).
    public mutating func remember(keys: Matrix<Float>) {
        cache += matmul(keys, keys, transposeB: true)
    }
}
