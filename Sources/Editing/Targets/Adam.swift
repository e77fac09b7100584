import Foundation

/// Adam with PyTorch's semantics: bias-corrected moments, ε added after the square root,
/// no weight decay, state starting from zero.
struct Adam {
    let learningRate: Float
    let beta1: Float = 0.9
    let beta2: Float = 0.999
    let epsilon: Float = 1e-8
    private var m: [Float]
    private var v: [Float]
    private var step = 0

    init(count: Int, learningRate: Float) {
        self.learningRate = learningRate
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// x ← x − lr · m̂ / (√v̂ + ε).
    mutating func update(_ x: inout [Float], gradient g: [Float]) {
        step += 1
        let correction1 = 1 - powf(beta1, Float(step))
        let correction2Root = (1 - powf(beta2, Float(step))).squareRoot()
        let stepSize = learningRate / correction1
        for i in x.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            let denominator = v[i].squareRoot() / correction2Root + epsilon
            x[i] -= stepSize * m[i] / denominator
        }
    }
}
