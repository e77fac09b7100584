import Foundation
import Linalg

/// The weights of a LayerNorm (weight and bias) or an RMSNorm (weight only), each `1 × d`.
public struct NormWeights: Sendable {
    public var weight: Matrix<Float>
    public var bias: Matrix<Float>?

    public init(weight: Matrix<Float>, bias: Matrix<Float>?) {
        self.weight = weight
        self.bias = bias
    }

    func zeros() -> NormWeights {
        NormWeights(weight: Matrix(rows: 1, cols: weight.cols, repeating: 0),
                    bias: bias.map { Matrix(rows: 1, cols: $0.cols, repeating: 0) })
    }
}

/// What a norm's forward pass keeps for its backward pass: the per-row statistics.
struct NormCache {
    /// `[N]` row means (LayerNorm only; zeros for RMSNorm).
    var mean: [Float]
    /// `[N]` 1/sqrt(var + eps) (LayerNorm) or 1/sqrt(mean(x²) + eps) (RMSNorm).
    var rstd: [Float]
}

/// LayerNorm / RMSNorm over the last axis of `[N, d]`, 16 lanes at a time (`VectorMath`).
struct Normalization {
    let kind: ModelConfig.Normalization

    private var isLayerNorm: Bool {
        if case .layerNorm = kind { return true }
        return false
    }

    /// y = (x − mean)·rstd·γ (+ β); RMSNorm uses mean = 0.
    /// - Parameter x: `[N, d]`. - Returns: y `[N, d]` and the cache (mean, rstd `[N]`) for `backward`.
    func forward(_ x: Matrix<Float>, _ w: NormWeights) -> (Matrix<Float>, NormCache) {
        var y = Matrix<Float>.empty
        let cache = forward(x, w, into: &y)
        return (y, cache)
    }

    /// The same into `y`, reshaped to `[N, d]` (its storage reused when the shape matches).
    /// Rows run in parallel chunks.
    func forward(_ x: Matrix<Float>, _ w: NormWeights, into y: inout Matrix<Float>) -> NormCache {
        let n = x.rows, d = x.cols
        y.reshape(rows: n, cols: d)
        var mean = [Float](repeating: 0, count: n), rstd = [Float](repeating: 0, count: n)
        let eps = Float(kind.epsilon), isLayerNorm = isLayerNorm
        let zeros = [Float](repeating: 0, count: w.bias == nil ? d : 0)
        x.elements.withUnsafeBufferPointer { xs in
            y.elements.withUnsafeMutableBufferPointer { ys in
                w.weight.elements.withUnsafeBufferPointer { gammas in
                    (w.bias?.elements ?? zeros).withUnsafeBufferPointer { betas in
                        mean.withUnsafeMutableBufferPointer { means in
                            rstd.withUnsafeMutableBufferPointer { rstds in
                                let gamma = gammas.baseAddress!, beta = betas.baseAddress!
                                let xp = xs.baseAddress!, yp = ys.baseAddress!, mp = means.baseAddress!, rp = rstds.baseAddress!
                                Parallel.forEachChunk(n, chunk: Self.rowChunk) { _, rows in
                                    for r in rows {
                                        let row = xp + r * d, out = yp + r * d
                                        let mu = isLayerNorm ? VectorMath.sum(row, count: d) / Float(d) : 0
                                        let variance = VectorMath.sumOfSquares(row, count: d, shift: mu) / Float(d)
                                        let inv = 1 / (variance + eps).squareRoot()
                                        mp[r] = mu
                                        rp[r] = inv
                                        var c = 0
                                        while c < d {
                                            let normalized = (VectorMath.load(row, c, d) - mu) * inv
                                            VectorMath.store(normalized * VectorMath.load(gamma, c, d) + VectorMath.load(beta, c, d), out, c, d)
                                            c += VectorMath.lanes
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return NormCache(mean: mean, rstd: rstd)
    }

    /// Rows per parallel chunk; also the granularity of the dγ, dβ partial sums.
    private static let rowChunk = 64

    /// dX from dY; accumulates dγ (and dβ) into `gradients` when given.
    ///
    /// With x̂ = (x − mean)·rstd and dx̂ = dy·γ: dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))
    /// (RMSNorm drops the mean(dx̂) term); dγ += Σ_rows dy·x̂, dβ += Σ_rows dy.
    func backward(input x: Matrix<Float>, cache: NormCache, weights w: NormWeights,
                  gradOutput dy: Matrix<Float>, gradients: inout NormWeights?) -> Matrix<Float> {
        var dx = Matrix<Float>.empty
        backward(input: x, cache: cache, weights: w, gradOutput: dy, into: &dx, accumulate: false, gradients: &gradients)
        return dx
    }

    /// The same into `dx` `[N, d]`: overwritten (reshaped, storage reused), or, when
    /// `accumulate`, added to (a residual stream's gradient).
    func backward(input x: Matrix<Float>, cache: NormCache, weights w: NormWeights, gradOutput dy: Matrix<Float>,
                  into dx: inout Matrix<Float>, accumulate: Bool, gradients: inout NormWeights?) {
        let n = x.rows, d = x.cols
        precondition(dy.shape == x.shape, "Normalization.backward: gradient \(dy.shape) for input \(x.shape)")
        if accumulate {
            precondition(dx.shape == x.shape, "Normalization.backward: accumulating into \(dx.shape), need \(x.shape)")
        } else {
            dx.reshape(rows: n, cols: d)
        }
        // dγ, dβ: one partial sum per chunk of rows, added in chunk order (deterministic).
        let chunks = (n + Self.rowChunk - 1) / Self.rowChunk
        var partialGamma = [Float](repeating: 0, count: chunks * d)
        var partialBeta = [Float](repeating: 0, count: chunks * d)
        let isLayerNorm = isLayerNorm
        x.elements.withUnsafeBufferPointer { xs in
            dy.elements.withUnsafeBufferPointer { dys in
                dx.elements.withUnsafeMutableBufferPointer { dxs in
                    w.weight.elements.withUnsafeBufferPointer { gammas in
                        partialGamma.withUnsafeMutableBufferPointer { dGammas in
                            partialBeta.withUnsafeMutableBufferPointer { dBetas in
                                let gamma = gammas.baseAddress!
                                let xp = xs.baseAddress!, dyp = dys.baseAddress!, dxp = dxs.baseAddress!
                                let pg = dGammas.baseAddress!, pb = dBetas.baseAddress!
                                Parallel.forEachChunk(n, chunk: Self.rowChunk) { chunk, rows in
                                    let dg = pg + chunk * d, db = pb + chunk * d
                                    for r in rows {
                                        let xr = xp + r * d, dyr = dyp + r * d, dxr = dxp + r * d
                                        let mu = cache.mean[r], inv = cache.rstd[r]
                                        var sumDn = VectorMath.Vector(), sumDnN = VectorMath.Vector()
                                        var c = 0
                                        while c < d {
                                            let g = VectorMath.load(dyr, c, d)
                                            let normalized = (VectorMath.load(xr, c, d) - mu) * inv
                                            let dn = g * VectorMath.load(gamma, c, d)
                                            sumDn += dn
                                            sumDnN += dn * normalized
                                            VectorMath.store(VectorMath.load(dg, c, d) + g * normalized, dg, c, d)
                                            VectorMath.store(VectorMath.load(db, c, d) + g, db, c, d)
                                            c += VectorMath.lanes
                                        }
                                        let meanDn = isLayerNorm ? VectorMath.horizontalSum(sumDn) / Float(d) : 0
                                        let meanDnN = VectorMath.horizontalSum(sumDnN) / Float(d)
                                        c = 0
                                        while c < d {
                                            let normalized = (VectorMath.load(xr, c, d) - mu) * inv
                                            let dn = VectorMath.load(dyr, c, d) * VectorMath.load(gamma, c, d)
                                            let grad = inv * (dn - meanDn - normalized * meanDnN)
                                            VectorMath.store(accumulate ? VectorMath.load(dxr, c, d) + grad : grad, dxr, c, d)
                                            c += VectorMath.lanes
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dGamma = [Float](repeating: 0, count: d), dBeta = [Float](repeating: 0, count: d)
        for chunk in 0..<chunks {
            for c in 0..<d {
                dGamma[c] += partialGamma[chunk * d + c]
                dBeta[c] += partialBeta[chunk * d + c]
            }
        }
        if gradients != nil {
            for c in 0..<d { gradients!.weight.elements[c] += dGamma[c] }
            if gradients!.bias != nil {
                for c in 0..<d { gradients!.bias!.elements[c] += dBeta[c] }
            }
        }
    }
}
