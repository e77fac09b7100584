import Linalg
import Testing

@Suite("Linear solves: LU, Cholesky, inverse")
struct SolveTests {
    /// ‖A·X − B‖_F / (‖A‖_F‖X‖_F + ‖B‖_F), in Double with the naive product.
    private func relativeResidual<S: LinalgScalar>(_ a: Matrix<S>, _ x: Matrix<S>, _ b: Matrix<S>) -> Double {
        let ax = naiveMatmul(a, x)
        let r = ax - asDouble(b)
        return r.frobeniusNorm / (Double(a.frobeniusNorm) * Double(x.frobeniusNorm) + Double(b.frobeniusNorm))
    }

    /// (n, nrhs).
    static let shapes: [(Int, Int)] = [(1, 1), (1, 3), (4, 1), (7, 5), (60, 9)]

    @Test(arguments: shapes)
    func luSolveResidual(shape: (Int, Int)) throws {
        let (n, nrhs) = shape
        try checkLU(Float.self, n: n, nrhs: nrhs, tolerance: 1e-5)
        try checkLU(Double.self, n: n, nrhs: nrhs, tolerance: 1e-13)
    }

    private func checkLU<S: LinalgScalar>(_: S.Type, n: Int, nrhs: Int, tolerance: Double) throws {
        // Random non-symmetric A made safely non-singular by a diagonal shift.
        let r: Matrix<S> = randomMatrix(n, n, seed: UInt64(200 + n))
        let a = r + Matrix<S>.identity(n).scaled(by: S(n))
        let b: Matrix<S> = randomMatrix(n, nrhs, seed: UInt64(300 + nrhs))
        let x = try solve(a, b)
        #expect(x.shape == b.shape)
        let residual = relativeResidual(a, x, b)
        #expect(residual < tolerance, "\(S.self) n=\(n) nrhs=\(nrhs): residual \(residual)")
    }

    /// From n = 2048 getrf runs on two OpenBLAS threads: still a solution, and the same bytes on
    /// any Linalg thread count.
    @Test func largeLUOnItsFixedThreads() throws {
        try checkLU(Float.self, n: 2048, nrhs: 3, tolerance: 1e-5)
        try checkLU(Double.self, n: 2048, nrhs: 3, tolerance: 1e-13)
        let r: Matrix<Double> = randomMatrix(2048, 2048, seed: 9)
        let a = r + Matrix<Double>.identity(2048).scaled(by: 2048)
        let b: Matrix<Double> = randomMatrix(2048, 2, seed: 10)
        let one = try Linalg.withThreadCount(1) { try solve(a, b) }
        let two = try Linalg.withThreadCount(2) { try solve(a, b) }
        #expect(one == two)
    }

    @Test func luNeedsNoSymmetryAndPivots() throws {
        // A zero leading entry forces a row exchange; A is not symmetric.
        let a = Matrix<Double>(rows: 3, cols: 3, elements: [0, 2, 1,
                                                             1, 1, 0,
                                                             3, 0, 1])
        let xTrue = Matrix<Double>(rows: 3, cols: 2, elements: [1, -1, 2, 0.5, 3, 4])
        let b = matmul(a, xTrue)
        let x = try solve(a, b)
        #expect(x.maxAbsDifference(xTrue) < 1e-14)
        let aInverse = try inverse(a)
        #expect(matmul(a, aInverse).maxAbsDifference(Matrix<Double>.identity(3)) < 1e-14)
        #expect(matmul(aInverse, b).maxAbsDifference(xTrue) < 1e-14)
    }

    @Test(arguments: [1, 5, 40])
    func inverseOfRandomMatrix(n: Int) throws {
        let a = randomMatrix(n, n, seed: UInt64(400 + n), as: Float.self) + Matrix<Float>.identity(n).scaled(by: Float(n))
        let aInverse = try inverse(a)
        #expect(matmul(a, aInverse).maxAbsDifference(Matrix<Float>.identity(n)) < 1e-5)
    }

    @Test(arguments: shapes)
    func choleskySolveResidual(shape: (Int, Int)) throws {
        let (n, nrhs) = shape
        try checkCholesky(Float.self, n: n, nrhs: nrhs, tolerance: 1e-5)
        try checkCholesky(Double.self, n: n, nrhs: nrhs, tolerance: 1e-13)
    }

    private func checkCholesky<S: LinalgScalar>(_: S.Type, n: Int, nrhs: Int, tolerance: Double) throws {
        let a: Matrix<S> = randomSPD(n, seed: UInt64(500 + n))
        let b: Matrix<S> = randomMatrix(n, nrhs, seed: UInt64(600 + nrhs))
        let x = try choleskySolve(a, b)
        let residual = relativeResidual(a, x, b)
        #expect(residual < tolerance, "\(S.self) n=\(n) nrhs=\(nrhs): residual \(residual)")
        // Same answer as LU.
        #expect(x.relativeError(to: try solve(a, b)) < tolerance * 100)
    }

    @Test func choleskyReadsOnlyTheUpperTriangle() throws {
        let a: Matrix<Double> = randomSPD(5, seed: 501)
        var garbled = a
        for i in 1..<5 { for j in 0..<i { garbled[i, j] = -77 } }
        let b: Matrix<Double> = randomMatrix(5, 2, seed: 502)
        #expect(try choleskySolve(garbled, b) == choleskySolve(a, b))
    }

    @Test func exactlySingularMatrixThrows() {
        // Second row is twice the first: elimination leaves an exact zero pivot.
        let a = Matrix<Double>(rows: 3, cols: 3, elements: [1, 2, 3,
                                                             2, 4, 6,
                                                             1, 0, 1])
        let b = Matrix<Double>(rows: 3, cols: 1, repeating: 1)
        #expect {
            try solve(a, b)
        } throws: { error in
            guard case .singularMatrix(operation: "solve", pivot: _)? = error as? LinalgError else { return false }
            return true
        }
        #expect(throws: LinalgError.singularMatrix(operation: "solve", pivot: 0)) {
            try solve(Matrix<Float>(rows: 1, cols: 1), Matrix<Float>(rows: 1, cols: 1))
        }
        #expect(throws: LinalgError.self) { try inverse(a) }
    }

    /// Rank n/2 in n dimensions: roundoff leaves tiny pivots rather than exact zeros. From n = 256
    /// the condition estimate runs beside the right-hand sides' solves (here in several blocks).
    @Test(arguments: [(6, 1), (300, 200)])
    func numericallySingularMatrixThrows(n: Int, rightHandSides: Int) {
        let u: Matrix<Double> = randomMatrix(n, n / 2, seed: 700)
        let a = matmul(u, u, transposeB: true)
        let b: Matrix<Double> = randomMatrix(n, rightHandSides, seed: 701)
        #expect {
            try solve(a, b)
        } throws: { error in
            switch error as? LinalgError {
            case .singularMatrix?, .illConditioned?: true
            default: false
            }
        }
    }

    @Test func notPositiveDefiniteThrowsWithTheMinor() {
        // Leading 1×1 minor is 1 > 0; the 2×2 minor is 1·1 − 2·2 < 0.
        let a = Matrix<Double>(rows: 3, cols: 3, elements: [1, 2, 0,
                                                             2, 1, 0,
                                                             0, 0, 1])
        #expect(throws: LinalgError.notPositiveDefinite(operation: "choleskySolve", minor: 2)) {
            try choleskySolve(a, Matrix<Double>(rows: 3, cols: 1, repeating: 1))
        }
        let negative = Matrix<Float>.identity(4).scaled(by: -1)
        #expect(throws: LinalgError.notPositiveDefinite(operation: "choleskySolve", minor: 1)) {
            try choleskySolve(negative, Matrix<Float>(rows: 4, cols: 2))
        }
    }

    @Test func shapeAndInputErrors() {
        let a = Matrix<Double>.identity(3)
        #expect(throws: LinalgError.shapeMismatch(operation: "solve", lhs: MatrixShape(rows: 3, cols: 3), rhs: MatrixShape(rows: 2, cols: 1))) {
            try solve(a, Matrix<Double>(rows: 2, cols: 1))
        }
        #expect(throws: LinalgError.notSquare(operation: "choleskySolve", shape: MatrixShape(rows: 3, cols: 2))) {
            try choleskySolve(Matrix<Double>(rows: 3, cols: 2), Matrix<Double>(rows: 3, cols: 1))
        }
        #expect(throws: LinalgError.nonFiniteInput(operation: "solve")) {
            try solve(a, Matrix<Double>(rows: 3, cols: 1, repeating: .infinity))
        }
        #expect(throws: LinalgError.notSquare(operation: "inverse", shape: MatrixShape(rows: 1, cols: 2))) {
            try inverse(Matrix<Float>(rows: 1, cols: 2))
        }
    }
}
