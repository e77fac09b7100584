import Foundation
import Linalg

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as `torch.optim.AdamW`
/// computes it in float32. For each parameter p with gradient g at step t (1-based):
///
///     p ← p · (1 − lr·λ)                       (only for decayed tensors)
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// Matrices (2-D tensors: projections and embeddings) are decayed; biases and norm weights
/// (1-D) are not, as in nanoGPT's parameter groups.
public struct AdamW: Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Updates applied so far (t of the last update).
    public private(set) var step: Int
    /// First and second moments, one array per binding, in binding order.
    public private(set) var firstMoments: [[Float]]
    public private(set) var secondMoments: [[Float]]
    /// Whether each binding is decayed.
    public let decayed: [Bool]

    /// Zero moments for the parameters of `bindings`.
    public init(bindings: [ParameterBinding], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        step = 0
        let counts = bindings.map { $0.shape.reduce(1, *) }
        firstMoments = counts.map { [Float](repeating: 0, count: $0) }
        secondMoments = firstMoments
        decayed = bindings.map { $0.shape.count >= 2 }
    }

    /// Restores a saved state.
    /// - Precondition: one moment array per binding, of its size.
    public init(bindings: [ParameterBinding], beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
        self.init(bindings: bindings, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        precondition(firstMoments.map(\.count) == self.firstMoments.map(\.count)
                     && secondMoments.map(\.count) == self.secondMoments.map(\.count),
                     "AdamW: saved moments do not match the parameters")
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// Applies one update with `learningRate` to every parameter of `weights`.
    /// - Complexity: O(parameters).
    public mutating func update(_ weights: inout ModelWeights, gradients: ModelWeights, bindings: [ParameterBinding],
                                learningRate: Double) {
        precondition(bindings.count == decayed.count, "AdamW: bindings changed")
        step += 1
        let t = Double(step)
        let stepSize = Float(learningRate / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        let b1 = beta1, b2 = beta2, eps = epsilon
        for (index, binding) in bindings.enumerated() {
            let decay: Float = decayed[index] ? 1 - Float(learningRate) * weightDecay : 1
            gradients[keyPath: binding.path].elements.withUnsafeBufferPointer { g in
                weights[keyPath: binding.path].elements.withUnsafeMutableBufferPointer { p in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            for i in 0..<p.count {
                                let gi = g[i]
                                m[i] = b1 * m[i] + (1 - b1) * gi
                                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                                let denominator = v[i].squareRoot() / correction2 + eps
                                p[i] = p[i] * decay - stepSize * m[i] / denominator
                            }
                        }
                    }
                }
            }
        }
    }
}
