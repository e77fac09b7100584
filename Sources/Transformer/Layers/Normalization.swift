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

/// LayerNorm / RMSNorm over the last axis of `[N, d]`.
struct Normalization {
    let kind: ModelConfig.Normalization

    /// - Parameter x: `[N, d]`. - Returns: y `[N, d]` and the cache for `backward`.
    func forward(_ x: Matrix<Float>, _ w: NormWeights) -> (Matrix<Float>, NormCache) {
        let n = x.rows, d = x.cols
        var y = Matrix<Float>(rows: n, cols: d, repeating: 0)
        var cache = NormCache(mean: [Float](repeating: 0, count: n), rstd: [Float](repeating: 0, count: n))
        let eps = Float(kind.epsilon)
        let isLayerNorm: Bool
        if case .layerNorm = kind { isLayerNorm = true } else { isLayerNorm = false }
        x.elements.withUnsafeBufferPointer { xs in
            y.elements.withUnsafeMutableBufferPointer { ys in
                w.weight.elements.withUnsafeBufferPointer { gamma in
                    for r in 0..<n {
                        let base = r * d
                        var mean: Float = 0
                        if isLayerNorm {
                            for c in 0..<d { mean += xs[base + c] }
                            mean /= Float(d)
                        }
                        var variance: Float = 0
                        for c in 0..<d {
                            let v = xs[base + c] - mean
                            variance += v * v
                        }
                        variance /= Float(d)
                        let rstd = 1 / (variance + eps).squareRoot()
                        cache.mean[r] = mean
                        cache.rstd[r] = rstd
                        for c in 0..<d { ys[base + c] = (xs[base + c] - mean) * rstd * gamma[c] }
                    }
                }
            }
        }
        if let bias = w.bias {
            y.elements.withUnsafeMutableBufferPointer { ys in
                bias.elements.withUnsafeBufferPointer { beta in
                    for r in 0..<n {
                        for c in 0..<d { ys[r * d + c] += beta[c] }
                    }
                }
            }
        }
        return (y, cache)
    }

    /// dX from dY; accumulates dγ (and dβ) into `gradients` when given.
    func backward(input x: Matrix<Float>, cache: NormCache, weights w: NormWeights,
                  gradOutput dy: Matrix<Float>, gradients: inout NormWeights?) -> Matrix<Float> {
        let n = x.rows, d = x.cols
        var dx = Matrix<Float>(rows: n, cols: d, repeating: 0)
        var dGamma = [Float](repeating: 0, count: d)
        var dBeta = [Float](repeating: 0, count: d)
        let isLayerNorm: Bool
        if case .layerNorm = kind { isLayerNorm = true } else { isLayerNorm = false }
        x.elements.withUnsafeBufferPointer { xs in
            dy.elements.withUnsafeBufferPointer { dys in
                dx.elements.withUnsafeMutableBufferPointer { dxs in
                    w.weight.elements.withUnsafeBufferPointer { gamma in
                        for r in 0..<n {
                            let base = r * d
                            let mean = cache.mean[r], rstd = cache.rstd[r]
                            // normalized x̂ = (x - mean)·rstd; dx̂ = dy·γ
                            var sumDn: Float = 0, sumDnN: Float = 0
                            for c in 0..<d {
                                let norm = (xs[base + c] - mean) * rstd
                                let dn = dys[base + c] * gamma[c]
                                sumDn += dn
                                sumDnN += dn * norm
                                dGamma[c] += dys[base + c] * norm
                                dBeta[c] += dys[base + c]
                            }
                            let meanDn = isLayerNorm ? sumDn / Float(d) : 0
                            let meanDnN = sumDnN / Float(d)
                            for c in 0..<d {
                                let norm = (xs[base + c] - mean) * rstd
                                let dn = dys[base + c] * gamma[c]
                                dxs[base + c] = rstd * (dn - meanDn - norm * meanDnN)
                            }
                        }
                    }
                }
            }
        }
        if gradients != nil {
            for c in 0..<d { gradients!.weight.elements[c] += dGamma[c] }
            if gradients!.bias != nil {
                for c in 0..<d { gradients!.bias!.elements[c] += dBeta[c] }
            }
        }
        return dx
    }
}
