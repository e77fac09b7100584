import Linalg
import Testing

/// (m, n, k) of op(A)·op(B): ones, vectors, non-square, sizes past OpenBLAS's blocking.
private let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 9, 4), (9, 1, 4), (5, 7, 3), (17, 3, 29), (70, 65, 130)]
private let transposes: [(Bool, Bool)] = [(false, false), (true, false), (false, true), (true, true)]

@Suite("GEMM and GEMV on Matrix")
struct GEMMTests {
    @Test(arguments: shapes, transposes)
    func matmulMatchesNaive(shape: (Int, Int, Int), transpose: (Bool, Bool)) {
        checkMatmul(Float.self, shape: shape, transpose: transpose)
        checkMatmul(Double.self, shape: shape, transpose: transpose)
    }

    private func checkMatmul<S: LinalgScalar>(_: S.Type, shape: (Int, Int, Int), transpose: (Bool, Bool)) {
        let (m, n, k) = shape
        let (ta, tb) = transpose
        let seed = UInt64(m * 10_000 + n * 100 + k)
        let a: Matrix<S> = ta ? randomMatrix(k, m, seed: seed) : randomMatrix(m, k, seed: seed)
        let b: Matrix<S> = tb ? randomMatrix(n, k, seed: seed + 1) : randomMatrix(k, n, seed: seed + 1)
        let product = matmul(a, b, transposeA: ta, transposeB: tb)
        let reference = naiveMatmul(a, b, transposeA: ta, transposeB: tb)
        #expect(product.shape == MatrixShape(rows: m, cols: n))
        let error = product.relativeError(to: reference)
        #expect(error < productTolerance(S.self, k: k), "\(S.self) \(m)×\(n)×\(k) ta=\(ta) tb=\(tb): relative error \(error)")
    }

    @Test(arguments: transposes)
    func gemmAccumulatesWithAlphaBeta(transpose: (Bool, Bool)) {
        let (ta, tb) = transpose
        let (m, n, k) = (6, 11, 8)
        let a: Matrix<Double> = ta ? randomMatrix(k, m, seed: 20) : randomMatrix(m, k, seed: 20)
        let b: Matrix<Double> = tb ? randomMatrix(n, k, seed: 21) : randomMatrix(k, n, seed: 21)
        let c0: Matrix<Double> = randomMatrix(m, n, seed: 22)
        var c = c0
        gemm(alpha: 0.5, a: a, transposeA: ta, b: b, transposeB: tb, beta: -2, into: &c)
        let reference = naiveMatmul(a, b, transposeA: ta, transposeB: tb).scaled(by: 0.5) + c0.scaled(by: -2)
        #expect(c.relativeError(to: reference) < 1e-14)
    }

    @Test func gemmWithZeroBetaIgnoresOldContents() {
        let a: Matrix<Float> = randomMatrix(3, 4, seed: 23)
        let b: Matrix<Float> = randomMatrix(4, 2, seed: 24)
        var c = Matrix<Float>(rows: 3, cols: 2, repeating: .nan)
        gemm(a: a, b: b, into: &c)
        #expect(c.isFinite)
        #expect(c.relativeError(to: naiveMatmul(a, b)) < 1e-6)
    }

    @Test func gemmWritesInPlace() {
        let a: Matrix<Float> = randomMatrix(8, 8, seed: 25)
        var c = Matrix<Float>(rows: 8, cols: 8)
        let before = c.elements.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        gemm(a: a, b: a, into: &c)
        let after = c.elements.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after)
    }

    @Test func gemmIntoAnOperandIsStillCorrect() {
        var a: Matrix<Double> = randomMatrix(5, 5, seed: 26)
        let reference = naiveMatmul(a, a)
        gemm(a: a, b: a, into: &a)
        #expect(a.relativeError(to: reference) < 1e-14)
    }

    @Test func emptyInnerDimension() {
        let a = Matrix<Float>(rows: 3, cols: 0)
        let b = Matrix<Float>(rows: 0, cols: 2)
        #expect(matmul(a, b) == Matrix<Float>(rows: 3, cols: 2))
        var c = Matrix<Float>(rows: 3, cols: 2, repeating: 1)
        gemm(a: a, b: b, beta: 3, into: &c)
        #expect(c == Matrix<Float>(rows: 3, cols: 2, repeating: 3))
    }

    @Test(arguments: [(1, 1), (1, 6), (6, 1), (13, 7), (40, 90)], [false, true])
    func gemvMatchesNaive(shape: (Int, Int), transpose: Bool) {
        let (m, n) = shape
        let a: Matrix<Float> = randomMatrix(m, n, seed: UInt64(m * 100 + n))
        let x: [Float] = randomArray(transpose ? m : n, seed: 30)
        let y = matvec(a, x, transposeA: transpose)
        let xColumn = Matrix(rows: x.count, cols: 1, elements: x)
        let reference = naiveMatmul(a, xColumn, transposeA: transpose)
        #expect(Matrix(rows: y.count, cols: 1, elements: y).relativeError(to: reference) < productTolerance(Float.self, k: x.count))

        let y0: [Double] = randomArray(y.count, seed: 31)
        var yd = y0
        let ad = Matrix<Double>(a)
        gemv(alpha: 2, a: ad, transposeA: transpose, x: x.map(Double.init), beta: 0.5, into: &yd)
        for i in 0..<yd.count {
            #expect(abs(yd[i] - (2 * reference.elements[i] + 0.5 * y0[i])) < 1e-12)
        }
    }

    @Test func shapeMismatchTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = matmul(Matrix<Float>(rows: 2, cols: 3), Matrix<Float>(rows: 2, cols: 3))
        }
    }
}
