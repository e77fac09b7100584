import Foundation
import Linalg

/// Element-wise activations, forward and derivative side by side.
extension ModelConfig.Activation {
    /// f(x) for every element of `x` (`[N, w]`).
    func forward(_ x: Matrix<Float>) -> Matrix<Float> {
        var y = x
        y.elements.withUnsafeMutableBufferPointer { ys in
            for i in ys.indices { ys[i] = value(ys[i]) }
        }
        return y
    }

    /// dX = dY ⊙ f'(x).
    func backward(input x: Matrix<Float>, gradOutput dy: Matrix<Float>) -> Matrix<Float> {
        var dx = dy
        dx.elements.withUnsafeMutableBufferPointer { ds in
            x.elements.withUnsafeBufferPointer { xs in
                for i in ds.indices { ds[i] *= derivative(xs[i]) }
            }
        }
        return dx
    }

    @inline(__always)
    func value(_ x: Float) -> Float {
        switch self {
        case .geluTanh:
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + tanhf(inner))
        case .gelu:
            return 0.5 * x * (1 + erff(x * 0.7071067811865476))
        case .silu:
            return x / (1 + expf(-x))
        case .relu:
            return max(x, 0)
        }
    }

    @inline(__always)
    func derivative(_ x: Float) -> Float {
        switch self {
        case .geluTanh:
            let k: Float = 0.7978845608028654
            let inner = k * (x + 0.044715 * x * x * x)
            let t = tanhf(inner)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        case .gelu:
            let cdf = 0.5 * (1 + erff(x * 0.7071067811865476))
            let pdf = expf(-0.5 * x * x) * 0.3989422804014327
            return cdf + x * pdf
        case .silu:
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        case .relu:
            return x > 0 ? 1 : 0
        }
    }
}
