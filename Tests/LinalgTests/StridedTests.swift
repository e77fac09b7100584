import Linalg
import Testing

/// Reads the row-major `rows × cols` block at `offset` with leading dimension `ld` as a Matrix.
private func block<S: LinalgScalar>(_ array: [S], offset: Int, rows: Int, cols: Int, ld: Int) -> Matrix<S> {
    Matrix(rows: rows, cols: cols) { i, j in array[offset + i * ld + j] }
}

@Suite("BLAS: strided kernels over arrays")
struct StridedTests {
    /// Per-head attention scores inside one activation buffer: Q and K are [tokens × heads·dh]
    /// rows; scores_h = Q_h · K_hᵀ for head h, written into a [heads × tokens × tokens] buffer.
    @Test(arguments: [false, true])
    func perHeadScoresFromOneBuffer(useDouble: Bool) {
        if useDouble { checkPerHeadScores(Double.self) } else { checkPerHeadScores(Float.self) }
    }

    private func checkPerHeadScores<S: LinalgScalar>(_: S.Type) {
        let (tokens, heads, dh) = (7, 3, 5)
        let width = heads * dh
        let qkv: [S] = randomArray(tokens * 3 * width, seed: 40)      // [tokens × (q|k|v)]
        var scores = [S](repeating: -1, count: heads * tokens * tokens)
        for h in 0..<heads {
            BLAS.gemm(transA: false, transB: true, m: tokens, n: tokens, k: dh,
                      alpha: 1, a: qkv, aOffset: h * dh, lda: 3 * width,
                      b: qkv, bOffset: width + h * dh, ldb: 3 * width,
                      beta: 0, c: &scores, cOffset: h * tokens * tokens, ldc: tokens)
        }
        for h in 0..<heads {
            let q = block(qkv, offset: h * dh, rows: tokens, cols: dh, ld: 3 * width)
            let k = block(qkv, offset: width + h * dh, rows: tokens, cols: dh, ld: 3 * width)
            let reference = naiveMatmul(q, k, transposeB: true)
            let result = block(scores, offset: h * tokens * tokens, rows: tokens, cols: tokens, ld: tokens)
            #expect(result.relativeError(to: reference) < productTolerance(S.self, k: dh))
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmWithPaddedLeadingDimensions(transpose: (Bool, Bool)) {
        let (ta, tb) = transpose
        let (m, n, k) = (4, 6, 3)
        let (aRows, aCols) = ta ? (k, m) : (m, k)
        let (bRows, bCols) = tb ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aCols + 2, bCols + 5, n + 1)
        let (aOffset, bOffset, cOffset) = (3, 1, 4)
        let a: [Double] = randomArray(aOffset + aRows * lda, seed: 41)
        let b: [Double] = randomArray(bOffset + bRows * ldb, seed: 42)
        let c0: [Double] = randomArray(cOffset + m * ldc + 2, seed: 43)
        var c = c0
        BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2,
                  a: a, aOffset: aOffset, lda: lda, b: b, bOffset: bOffset, ldb: ldb,
                  beta: 1, c: &c, cOffset: cOffset, ldc: ldc)
        let product = naiveMatmul(block(a, offset: aOffset, rows: aRows, cols: aCols, ld: lda),
                                  block(b, offset: bOffset, rows: bRows, cols: bCols, ld: ldb),
                                  transposeA: ta, transposeB: tb)
        for index in 0..<c.count {
            let local = index - cOffset
            let (i, j) = (local / ldc, local % ldc)
            if local >= 0 && i < m && j < n {
                #expect(abs(c[index] - (c0[index] + 2 * product[i, j])) < 1e-13)
            } else {
                #expect(c[index] == c0[index], "element \(index) outside C was touched")
            }
        }
    }

    @Test func outputIsNotCopied() {
        let a: [Float] = randomArray(64, seed: 44)
        var c = [Float](repeating: 0, count: 64)
        let before = c.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        BLAS.gemm(m: 8, n: 8, k: 8, a: a, lda: 8, b: a, ldb: 8, c: &c, ldc: 8)
        BLAS.axpy(n: 64, alpha: 1, x: a, y: &c)
        BLAS.scal(n: 32, alpha: 2, x: &c, xOffset: 1, incx: 2)
        BLAS.gemv(m: 8, n: 8, a: a, lda: 8, x: a, y: &c, yOffset: 3)
        let after = c.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after)
    }

    /// The same array as input and output compiles (the input is a copy of the array value)
    /// and is correct: Swift copies the output buffer before writing. It costs that copy, so
    /// hot loops should keep outputs in their own arrays.
    @Test func aliasedOutputIsStillCorrect() {
        var buffer: [Float] = [1, 2, 3, 4, 0, 0, 0, 0]
        BLAS.gemm(m: 2, n: 2, k: 2, a: buffer, lda: 2, b: buffer, ldb: 2, c: &buffer, cOffset: 4, ldc: 2)
        #expect(buffer == [1, 2, 3, 4, 7, 10, 15, 22])
        var m = Matrix<Double>(rows: 2, cols: 2, elements: [1, 2, 3, 4])
        BLAS.axpy(n: 4, alpha: 1, x: m.elements, y: &m.elements)
        #expect(m.elements == [2, 4, 6, 8])
    }

    @Test func gemvStrided() {
        let (m, n) = (5, 4)
        let a: [Float] = randomArray(2 + m * 6, seed: 45)           // A at offset 2, lda 6
        let x: [Float] = randomArray(1 + 3 * m, seed: 46)           // x at offset 1, stride 3 (transposed: m values)
        var y = [Float](repeating: 0, count: 2 * n)                  // y stride 2
        BLAS.gemv(transA: true, m: m, n: n, alpha: 1, a: a, aOffset: 2, lda: 6,
                  x: x, xOffset: 1, incx: 3, beta: 0, y: &y, yOffset: 0, incy: 2)
        let am = block(a, offset: 2, rows: m, cols: n, ld: 6)
        for j in 0..<n {
            var reference = 0.0
            for i in 0..<m {
                reference += Double(am[i, j]) * Double(x[1 + 3 * i])
            }
            let error = abs(Double(y[2 * j]) - reference)
            #expect(error < 1e-5)
            #expect(y[2 * j + 1] == 0)
        }
    }

    @Test func levelOneKernels() {
        let x: [Double] = randomArray(30, seed: 47)
        var y: [Double] = randomArray(30, seed: 48)
        let y0 = y
        // Every third element of x from 2, every second of y from 1, 9 elements.
        var reference = 0.0
        var sumOfSquares = 0.0
        for i in 0..<9 {
            reference += x[2 + 3 * i] * y[1 + 2 * i]
            sumOfSquares += x[2 + 3 * i] * x[2 + 3 * i]
        }
        #expect(abs(BLAS.dot(n: 9, x: x, xOffset: 2, incx: 3, y: y, yOffset: 1, incy: 2) - reference) < 1e-14)
        #expect(abs(BLAS.nrm2(n: 9, x: x, xOffset: 2, incx: 3) - sumOfSquares.squareRoot()) < 1e-14)

        BLAS.axpy(n: 9, alpha: -3, x: x, xOffset: 2, incx: 3, y: &y, yOffset: 1, incy: 2)
        for index in 0..<30 {
            let touched = index >= 1 && (index - 1) % 2 == 0 && (index - 1) / 2 < 9
            let expected = touched ? y0[index] - 3 * x[2 + 3 * ((index - 1) / 2)] : y0[index]
            #expect(abs(y[index] - expected) < 1e-15)
        }

        var z: [Float] = [1, 2, 3, 4, 5]
        BLAS.scal(n: 2, alpha: 10, x: &z, xOffset: 1, incx: 3)
        #expect(z == [1, 20, 3, 4, 50])
        #expect(BLAS.dot(n: 0, x: z, y: z) == 0)
        #expect(BLAS.nrm2(n: 1, x: z, xOffset: 4) == 50)
    }

    @Test func outOfBoundsTraps() async {
        await #expect(processExitsWith: .failure) {
            var c = [Float](repeating: 0, count: 15)        // needs 16 for 4×4
            BLAS.gemm(m: 4, n: 4, k: 4, a: [Float](repeating: 1, count: 16), lda: 4,
                      b: [Float](repeating: 1, count: 16), ldb: 4, c: &c, ldc: 4)
        }
        await #expect(processExitsWith: .failure) {
            // lda smaller than the row length.
            var c = [Float](repeating: 0, count: 16)
            BLAS.gemm(m: 4, n: 4, k: 4, a: [Float](repeating: 1, count: 16), lda: 3,
                      b: [Float](repeating: 1, count: 16), ldb: 4, c: &c, ldc: 4)
        }
        await #expect(processExitsWith: .failure) {
            var y = [Double](repeating: 0, count: 10)
            BLAS.axpy(n: 4, alpha: 1, x: [Double](repeating: 1, count: 10), xOffset: 0, incx: 3, y: &y)  // x needs index 9: fine
            BLAS.axpy(n: 4, alpha: 1, x: [Double](repeating: 1, count: 10), xOffset: 1, incx: 3, y: &y)  // x index 10: out
        }
    }
}
