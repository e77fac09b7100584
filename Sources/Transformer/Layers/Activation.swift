import Foundation
import Linalg

/// Element-wise activations, forward and derivative side by side.
///
/// GELU (tanh form) and SiLU run 16 lanes at a time through `VectorMath.exp`, written with the
/// logistic function: 0.5·x·(1 + tanh(u)) = x·σ(2u). The erf GELU and ReLU stay scalar.
extension ModelConfig.Activation {
    /// f(x) for every element of `x` (`[N, w]`).
    func forward(_ x: Matrix<Float>) -> Matrix<Float> {
        var y = Matrix<Float>.empty
        forward(x, into: &y)
        return y
    }

    /// y = f(x) into `y`, reshaped to x's shape (its storage reused when the shape matches).
    func forward(_ x: Matrix<Float>, into y: inout Matrix<Float>) {
        y.reshape(rows: x.rows, cols: x.cols)
        y.elements.withUnsafeMutableBufferPointer { ys in
            x.elements.withUnsafeBufferPointer { xs in
                let p = ys.baseAddress!, xp = xs.baseAddress!, count = ys.count
                switch self {
                case .geluTanh, .silu:
                    VectorMath.forEachVector(count) { i, end in
                        VectorMath.store(vectorValue(VectorMath.load(xp, i, end)), p, i, end)
                    }
                case .gelu, .relu:
                    Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
                        for i in range { p[i] = value(xp[i]) }
                    }
                }
            }
        }
    }

    /// dX = dY ⊙ f'(x).
    func backward(input x: Matrix<Float>, gradOutput dy: Matrix<Float>) -> Matrix<Float> {
        var dx = dy
        backward(input: x, gradient: &dx)
        return dx
    }

    /// gradient ⊙= f'(x) in place: dY in, dX out.
    func backward(input x: Matrix<Float>, gradient dx: inout Matrix<Float>) {
        precondition(dx.shape == x.shape, "Activation.backward: gradient \(dx.shape) for input \(x.shape)")
        dx.elements.withUnsafeMutableBufferPointer { ds in
            x.elements.withUnsafeBufferPointer { xs in
                let d = ds.baseAddress!, xp = xs.baseAddress!, count = ds.count
                switch self {
                case .geluTanh, .silu:
                    VectorMath.forEachVector(count) { i, end in
                        VectorMath.store(VectorMath.load(d, i, end) * vectorDerivative(VectorMath.load(xp, i, end)), d, i, end)
                    }
                case .gelu, .relu:
                    Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
                        for i in range { d[i] *= derivative(xp[i]) }
                    }
                }
            }
        }
    }

    // MARK: Gated MLP (Llama): key = f(gate) ⊙ up

    /// key = f(gate) ⊙ up, all `[N, f]`, into `key` (reshaped, storage reused).
    func gatedForward(gate g: Matrix<Float>, up u: Matrix<Float>, into key: inout Matrix<Float>) {
        precondition(g.shape == u.shape)
        key.reshape(rows: g.rows, cols: g.cols)
        key.elements.withUnsafeMutableBufferPointer { ks in
            g.elements.withUnsafeBufferPointer { gs in
                u.elements.withUnsafeBufferPointer { us in
                    let k = ks.baseAddress!, gp = gs.baseAddress!, up = us.baseAddress!, count = ks.count
                    switch self {
                    case .geluTanh, .silu:
                        VectorMath.forEachVector(count) { i, end in
                            VectorMath.store(vectorValue(VectorMath.load(gp, i, end)) * VectorMath.load(up, i, end), k, i, end)
                        }
                    case .gelu, .relu:
                        Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
                            for i in range { k[i] = value(gp[i]) * up[i] }
                        }
                    }
                }
            }
        }
    }

    /// dGate = dKey ⊙ up ⊙ f'(gate) in place of dKey, and dUp = dKey ⊙ f(gate) into `dUp`
    /// (reshaped, storage reused); all `[N, f]`.
    func gatedBackward(gate g: Matrix<Float>, up u: Matrix<Float>, gradient dGate: inout Matrix<Float>,
                       dUp: inout Matrix<Float>) {
        precondition(g.shape == u.shape && dGate.shape == g.shape)
        dUp.reshape(rows: g.rows, cols: g.cols)
        dGate.elements.withUnsafeMutableBufferPointer { dgs in
            dUp.elements.withUnsafeMutableBufferPointer { dus in
                g.elements.withUnsafeBufferPointer { gs in
                    u.elements.withUnsafeBufferPointer { us in
                        let dg = dgs.baseAddress!, du = dus.baseAddress!, gp = gs.baseAddress!, up = us.baseAddress!
                        let count = dgs.count
                        switch self {
                        case .geluTanh, .silu:
                            VectorMath.forEachVector(count) { i, end in
                                let gate = VectorMath.load(gp, i, end), dKey = VectorMath.load(dg, i, end)
                                VectorMath.store(dKey * VectorMath.load(up, i, end) * vectorDerivative(gate), dg, i, end)
                                VectorMath.store(dKey * vectorValue(gate), du, i, end)
                            }
                        case .gelu, .relu:
                            Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
                                for i in range {
                                    du[i] = dg[i] * value(gp[i])
                                    dg[i] *= up[i] * derivative(gp[i])
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Per element

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

    // MARK: Sixteen lanes (geluTanh and silu only)

    /// f(x): GELU-tanh as x·σ(2u) with u = √(2/π)·(x + 0.044715·x³); SiLU as x·σ(x).
    @inline(__always)
    func vectorValue(_ x: VectorMath.Vector) -> VectorMath.Vector {
        switch self {
        case .silu:
            return x * VectorMath.sigmoid(x)
        default:
            let u = 0.797_884_56 * (x + 0.044_715 * x * x * x)
            return x * VectorMath.sigmoid(2 * u)
        }
    }

    /// f'(x): GELU-tanh as s + 2·x·s·(1 − s)·u′ with s = σ(2u) (= 0.5·(1 + tanh u)); SiLU as
    /// s·(1 + x·(1 − s)) with s = σ(x).
    @inline(__always)
    func vectorDerivative(_ x: VectorMath.Vector) -> VectorMath.Vector {
        switch self {
        case .silu:
            let s = VectorMath.sigmoid(x)
            return s * (1 + x * (1 - s))
        default:
            let x2 = x * x
            let u = 0.797_884_56 * (x + 0.044_715 * x2 * x)
            let du = 0.797_884_56 * (1 + 3 * 0.044_715 * x2)
            let s = VectorMath.sigmoid(2 * u)
            return s + 2 * x * s * (1 - s) * du
        }
    }
}
