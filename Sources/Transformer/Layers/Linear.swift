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
///
/// Besides the plain `Matrix` forms, each pass has a strided form that reads or writes an
/// `[N, out]` block at a column offset of a wider array (leading dimension `ld`): q, k and v
/// live side by side in one `[N, q + 2·kv]` buffer, and every pass writes into buffers the
/// caller reuses from layer to layer.
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
        Linear(weight: Parallel.zeros(rows: weight.rows, cols: weight.cols),
               bias: bias.map { Matrix(rows: $0.rows, cols: $0.cols, repeating: 0) }, layout: layout)
    }

    // MARK: Forward

    /// y = x·W̃ + b.
    /// - Parameter x: `[N, in]`.
    /// - Returns: `[N, out]`.
    /// - Complexity: one GEMM, 2·N·in·out flops.
    func forward(_ x: Matrix<Float>) -> Matrix<Float> {
        var y = Matrix<Float>.empty
        forward(x, into: &y)
        return y
    }

    /// y = x·W̃ + b into `y`, reusing its storage when it already has the shape `[N, out]`.
    func forward(_ x: Matrix<Float>, into y: inout Matrix<Float>) {
        y.reshape(rows: x.rows, cols: outFeatures)
        forward(x, into: &y.elements, offset: 0, ld: outFeatures)
    }

    /// y = x·W̃ + b into columns `offset ..< offset + out` of the row-major `[N, ld]` array `y`.
    func forward(_ x: Matrix<Float>, into y: inout [Float], offset: Int, ld: Int) {
        precondition(x.cols == inFeatures, "Linear: input width \(x.cols) != \(inFeatures)")
        if let bias {
            fillRows(&y, offset: offset, ld: ld, rows: x.rows, with: bias.elements)
        }
        BLAS.gemm(transA: false, transB: layout == .outIn, m: x.rows, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x.elements, aOffset: 0, lda: x.cols,
                  b: weight.elements, bOffset: 0, ldb: weight.cols,
                  beta: bias == nil ? 0 : 1, c: &y, cOffset: offset, ldc: ld)
    }

    /// y += x·W̃ + b: the layer's output added onto `y` `[N, out]` (a residual stream).
    func forward(_ x: Matrix<Float>, addingInto y: inout Matrix<Float>) {
        precondition(x.cols == inFeatures && y.rows == x.rows && y.cols == outFeatures,
                     "Linear: adding \(x.rows)×\(outFeatures) into \(y.shape)")
        if let bias { addToRows(&y, bias.elements) }
        BLAS.gemm(transA: false, transB: layout == .outIn, m: x.rows, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x.elements, aOffset: 0, lda: x.cols,
                  b: weight.elements, bOffset: 0, ldb: weight.cols,
                  beta: 1, c: &y.elements, cOffset: 0, ldc: outFeatures)
    }

    // MARK: Backward

    /// Gradient of the input, dX = dY·W̃ᵀ.
    /// - Parameter dy: `[N, out]`. - Returns: `[N, in]`.
    /// Parameter gradients are separate (`accumulateParameterGradients`), so that callers
    /// accumulate in place into their gradient tree without copying it.
    func inputGradient(_ dy: Matrix<Float>) -> Matrix<Float> {
        var dx = Matrix<Float>.empty
        inputGradient(dy.elements, offset: 0, ld: dy.cols, rows: dy.rows, into: &dx, accumulate: false)
        return dx
    }

    /// dX = dY·W̃ᵀ (or dX += dY·W̃ᵀ when `accumulate`), with dY the `[N, out]` block at column
    /// `offset` of the row-major `[N, ld]` array `dy`. Without `accumulate`, `dx` is reshaped
    /// to `[N, in]` (its storage reused when the shape matches) and overwritten.
    func inputGradient(_ dy: [Float], offset: Int, ld: Int, rows: Int, into dx: inout Matrix<Float>, accumulate: Bool) {
        if accumulate {
            precondition(dx.rows == rows && dx.cols == inFeatures, "Linear: accumulating into \(dx.shape), need \(rows)×\(inFeatures)")
        } else {
            dx.reshape(rows: rows, cols: inFeatures)
        }
        BLAS.gemm(transA: false, transB: layout == .inOut, m: rows, n: inFeatures, k: outFeatures,
                  alpha: 1, a: dy, aOffset: offset, lda: ld,
                  b: weight.elements, bOffset: 0, ldb: weight.cols,
                  beta: accumulate ? 1 : 0, c: &dx.elements, cOffset: 0, ldc: inFeatures)
    }

    /// dW += (x or dy)ᵀ·(dy or x) in the stored layout; db += Σ_rows dy.
    func accumulateParameterGradients(input x: Matrix<Float>, gradOutput dy: Matrix<Float>, into g: inout Linear) {
        accumulateParameterGradients(input: x, gradOutput: dy.elements, offset: 0, ld: dy.cols, into: &g)
    }

    /// The same with dY the `[N, out]` block at column `offset` of the `[N, ld]` array `dy`.
    func accumulateParameterGradients(input x: Matrix<Float>, gradOutput dy: [Float], offset: Int, ld: Int, into g: inout Linear) {
        let rows = x.rows
        switch layout {
        case .outIn:  // dW[out, in] += dYᵀ·X
            BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows,
                      alpha: 1, a: dy, aOffset: offset, lda: ld,
                      b: x.elements, bOffset: 0, ldb: x.cols,
                      beta: 1, c: &g.weight.elements, cOffset: 0, ldc: inFeatures)
        case .inOut:  // dW[in, out] += Xᵀ·dY
            BLAS.gemm(transA: true, transB: false, m: inFeatures, n: outFeatures, k: rows,
                      alpha: 1, a: x.elements, aOffset: 0, lda: x.cols,
                      b: dy, bOffset: offset, ldb: ld,
                      beta: 1, c: &g.weight.elements, cOffset: 0, ldc: outFeatures)
        }
        if g.bias != nil {
            addColumnSums(of: dy, offset: offset, ld: ld, rows: rows, cols: outFeatures, into: &g.bias!.elements)
        }
    }
}

/// out[c] += Σ_r m[r, c].
func addColumnSums(of m: Matrix<Float>, into out: inout [Float]) {
    addColumnSums(of: m.elements, offset: 0, ld: m.cols, rows: m.rows, cols: m.cols, into: &out)
}

/// out[c] += Σ_r a[offset + r·ld + c] for c in 0..<cols, 16 columns at a time, column blocks
/// in parallel.
func addColumnSums(of a: [Float], offset: Int, ld: Int, rows: Int, cols: Int, into out: inout [Float]) {
    precondition(out.count == cols && (rows == 0 || offset + (rows - 1) * ld + cols <= a.count))
    a.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let o = dst.baseAddress!, s = src.baseAddress! + offset
            Parallel.forEachChunk(cols, chunk: 256) { _, columns in
                for r in 0..<rows {
                    let row = s + r * ld
                    var c = columns.lowerBound
                    while c < columns.upperBound {
                        VectorMath.store(VectorMath.load(o, c, columns.upperBound) + VectorMath.load(row, c, columns.upperBound),
                                         o, c, columns.upperBound)
                        c += VectorMath.lanes
                    }
                }
            }
        }
    }
}

/// m[r, c] += values[c] for every row r.
func addToRows(_ m: inout Matrix<Float>, _ values: [Float]) {
    let cols = m.cols, rows = m.rows
    precondition(values.count == cols)
    m.elements.withUnsafeMutableBufferPointer { dst in
        values.withUnsafeBufferPointer { src in
            let v = src.baseAddress!, base = dst.baseAddress!
            Parallel.forEachChunk(rows, chunk: max(1, Parallel.elementChunk / max(cols, 1))) { _, chunk in
                for r in chunk {
                    let row = base + r * cols
                    var c = 0
                    while c < cols {
                        VectorMath.store(VectorMath.load(row, c, cols) + VectorMath.load(v, c, cols), row, c, cols)
                        c += VectorMath.lanes
                    }
                }
            }
        }
    }
}

/// Sets columns `offset ..< offset + values.count` of each of the first `rows` rows of the
/// row-major `[·, ld]` array `a` to `values` (a bias broadcast over rows).
func fillRows(_ a: inout [Float], offset: Int, ld: Int, rows: Int, with values: [Float]) {
    let width = values.count
    precondition(rows == 0 || offset + (rows - 1) * ld + width <= a.count)
    a.withUnsafeMutableBufferPointer { dst in
        values.withUnsafeBufferPointer { src in
            for r in 0..<rows {
                (dst.baseAddress! + offset + r * ld).update(from: src.baseAddress!, count: width)
            }
        }
    }
}

extension Matrix where Scalar == Float {
    /// The 0×0 matrix: a placeholder for buffers not yet sized.
    static var empty: Matrix<Float> { Matrix(rows: 0, cols: 0, elements: []) }

    /// Makes this a `rows × cols` matrix, keeping its storage when the shape already matches
    /// (the old values stay until overwritten) and allocating zeros otherwise.
    mutating func reshape(rows: Int, cols: Int) {
        if self.rows == rows && self.cols == cols { return }
        self = Parallel.zeros(rows: rows, cols: cols)
    }
}
