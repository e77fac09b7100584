import Foundation
import Linalg

// MARK: Parameter-wise arithmetic over a weight tree, in checkpoint (binding) order

extension ModelWeights {
    /// self += other, tensor by tensor (gradient accumulation).
    /// - Complexity: O(parameters).
    public mutating func add(_ other: ModelWeights, bindings: [ParameterBinding]) {
        for binding in bindings {
            other[keyPath: binding.path].elements.withUnsafeBufferPointer { src in
                self[keyPath: binding.path].elements.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<dst.count { dst[i] += src[i] }
                }
            }
        }
    }

    /// self *= factor.
    public mutating func scale(by factor: Float, bindings: [ParameterBinding]) {
        for binding in bindings {
            self[keyPath: binding.path].elements.withUnsafeMutableBufferPointer { values in
                for i in 0..<values.count { values[i] *= factor }
            }
        }
    }

    /// The L2 norm of all tensors together, accumulated in float64 in binding order.
    public func globalNorm(bindings: [ParameterBinding]) -> Double {
        var sum: Double = 0
        for binding in bindings {
            self[keyPath: binding.path].elements.withUnsafeBufferPointer { values in
                var partial: Float = 0
                for x in values { partial += x * x }
                sum += Double(partial)
            }
        }
        return sum.squareRoot()
    }
}

/// Gradient-norm clipping (`torch.nn.utils.clip_grad_norm_`).
public enum GradientClipping {
    /// Scales `gradients` so that their global L2 norm is at most `maxNorm`: by
    /// `maxNorm / (norm + 1e-6)` when that is below 1, as PyTorch does.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clip(_ gradients: inout ModelWeights, maxNorm: Double, bindings: [ParameterBinding]) -> Double {
        let norm = gradients.globalNorm(bindings: bindings)
        let factor = maxNorm / (norm + 1e-6)
        if maxNorm > 0 && factor < 1 { gradients.scale(by: Float(factor), bindings: bindings) }
        return norm
    }
}
