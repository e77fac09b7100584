import Linalg

/// How a checkpoint stores a dense layer's weight.
public enum WeightLayout: Sendable, Equatable {
    /// `nn.Linear`: `[out, in]`, y = x·Wᵀ + b (GPT-J, Llama, Qwen2, Mistral).
    case outIn
    /// GPT-2's `Conv1D`: `[in, out]`, y = x·W + b.
    case inOut
}

/// A dense layer y = x·W̃ + b, with the weight kept exactly as the checkpoint stores it.
///
/// W̃ (`in × out`, the key-major weight of the AlphaEdit spec) is `weight` for `.inOut` and
/// `weightᵀ` for `.outIn`.
public struct Linear: Sendable {
    /// `[out, in]` for `.outIn`, `[in, out]` for `.inOut`.
    public var weight: Matrix<Float>
    /// `1 × out`, or nil.
    public var bias: Matrix<Float>?
    public let layout: WeightLayout

    public init(weight: Matrix<Float>, bias: Matrix<Float>?, layout: WeightLayout) {
        self.weight = weight
        self.bias = bias
        self.layout = layout
        precondition(bias == nil || bias!.elements.count == outFeatures, "bias width must equal the output width")
    }

    public var inFeatures: Int { layout == .outIn ? weight.cols : weight.rows }
    public var outFeatures: Int { layout == .outIn ? weight.rows : weight.cols }

    /// A zero layer of the same shape (gradient accumulator).
    func zeros() -> Linear {
        Linear(weight: Matrix(rows: weight.rows, cols: weight.cols, repeating: 0),
               bias: bias.map { Matrix(rows: $0.rows, cols: $0.cols, repeating: 0) }, layout: layout)
    }

    // MARK: Forward

    /// y = x·W̃ + b.
    /// - Parameter x: `[N, in]`.
    /// - Returns: `[N, out]`.
    /// - Complexity: one GEMM, 2·N·in·out flops.
    func forward(_ x: Matrix<Float>) -> Matrix<Float> {
        precondition(x.cols == inFeatures, "Linear: input width \(x.cols) != \(inFeatures)")
        var y = Matrix<Float>(rows: x.rows, cols: outFeatures, repeating: 0)
        if let bias {
            y.elements.withUnsafeMutableBufferPointer { out in
                bias.elements.withUnsafeBufferPointer { b in
                    for r in 0..<x.rows {
                        let base = r * b.count
                        for c in 0..<b.count { out[base + c] = b[c] }
                    }
                }
            }
        }
        BLAS.gemm(transA: false, transB: layout == .outIn, m: x.rows, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x.elements, aOffset: 0, lda: x.cols,
                  b: weight.elements, bOffset: 0, ldb: weight.cols,
                  beta: bias == nil ? 0 : 1, c: &y.elements, cOffset: 0, ldc: outFeatures)
        return y
    }

    // MARK: Backward

    /// Gradient of the input, dX = dY·W̃ᵀ.
    /// - Parameter dy: `[N, out]`. - Returns: `[N, in]`.
    /// Parameter gradients are separate (`accumulateParameterGradients`), so that callers
    /// accumulate in place into their gradient tree without copying it.
    func inputGradient(_ dy: Matrix<Float>) -> Matrix<Float> {
        var dx = Matrix<Float>(rows: dy.rows, cols: inFeatures, repeating: 0)
        BLAS.gemm(transA: false, transB: layout == .inOut, m: dy.rows, n: inFeatures, k: outFeatures,
                  alpha: 1, a: dy.elements, aOffset: 0, lda: dy.cols,
                  b: weight.elements, bOffset: 0, ldb: weight.cols,
                  beta: 0, c: &dx.elements, cOffset: 0, ldc: inFeatures)
        return dx
    }

    /// dW += (x or dy)ᵀ·(dy or x) in the stored layout; db += Σ_rows dy.
    func accumulateParameterGradients(input x: Matrix<Float>, gradOutput dy: Matrix<Float>, into g: inout Linear) {
        switch layout {
        case .outIn:  // dW[out, in] += dYᵀ·X
            BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: dy.rows,
                      alpha: 1, a: dy.elements, aOffset: 0, lda: dy.cols,
                      b: x.elements, bOffset: 0, ldb: x.cols,
                      beta: 1, c: &g.weight.elements, cOffset: 0, ldc: inFeatures)
        case .inOut:  // dW[in, out] += Xᵀ·dY
            BLAS.gemm(transA: true, transB: false, m: inFeatures, n: outFeatures, k: dy.rows,
                      alpha: 1, a: x.elements, aOffset: 0, lda: x.cols,
                      b: dy.elements, bOffset: 0, ldb: dy.cols,
                      beta: 1, c: &g.weight.elements, cOffset: 0, ldc: outFeatures)
        }
        if g.bias != nil {
            addColumnSums(of: dy, into: &g.bias!.elements)
        }
    }
}

/// out[c] += Σ_r m[r, c].
func addColumnSums(of m: Matrix<Float>, into out: inout [Float]) {
    precondition(out.count == m.cols)
    m.elements.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for r in 0..<m.rows {
                let base = r * m.cols
                for c in 0..<m.cols { dst[c] += src[base + c] }
            }
        }
    }
}
