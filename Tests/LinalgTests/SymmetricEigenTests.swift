import Linalg
import Testing

@Suite("Symmetric eigendecomposition")
struct SymmetricEigenTests {
    /// Checks A·V = V·diag(λ), VᵀV = I and ascending λ, all in Double.
    private func checkDecomposition(_ a: Matrix<Double>, values: [Double], vectors: Matrix<Double>,
                                    tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let n = a.rows
        #expect(values.count == n, sourceLocation: sourceLocation)
        #expect(vectors.shape == a.shape, sourceLocation: sourceLocation)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "eigenvalues not ascending", sourceLocation: sourceLocation)

        let av = matmul(a, vectors)
        let vLambda = Matrix<Double>(rows: n, cols: n) { i, j in vectors[i, j] * values[j] }
        let scale = max(a.frobeniusNorm, 1)
        let residual = (av - vLambda).frobeniusNorm / scale
        #expect(residual < tolerance, "‖AV − VΛ‖/‖A‖ = \(residual)", sourceLocation: sourceLocation)

        let gram = matmul(vectors, vectors, transposeA: true)
        let orthogonality = gram.maxAbsDifference(Matrix<Double>.identity(n))
        #expect(orthogonality < tolerance, "max |VᵀV − I| = \(orthogonality)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [1, 2, 3, 10, 57])
    func smallRandomMatrices(n: Int) throws {
        let a: Matrix<Double> = randomSymmetric(n, seed: UInt64(100 + n))
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(a, values: values, vectors: vectors, tolerance: 1e-12)
        // Against the naive reference product too (the BLAS product is what the check used).
        let av = naiveMatmul(a, vectors)
        let vLambda = Matrix<Double>(rows: n, cols: n) { i, j in vectors[i, j] * values[j] }
        #expect(av.maxAbsDifference(vLambda) < 1e-12)
        // Eigenvalues only agree with the full decomposition.
        let valuesOnly = try symmetricEigenvalues(a)
        for (x, y) in zip(valuesOnly, values) { #expect(abs(x - y) < 1e-12) }
    }

    @Test func knownSpectrum() throws {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/√2 and (1, 1)/√2.
        let a = Matrix<Double>(rows: 2, cols: 2, elements: [2, 1, 1, 2])
        let (values, vectors) = try symmetricEigen(a)
        #expect(abs(values[0] - 1) < 1e-15 && abs(values[1] - 3) < 1e-15)
        let half = 0.5.squareRoot()
        #expect(abs(abs(vectors[0, 0]) - half) < 1e-15 && abs(vectors[0, 0] + vectors[1, 0]) < 1e-15)
        #expect(abs(abs(vectors[0, 1]) - half) < 1e-15 && abs(vectors[0, 1] - vectors[1, 1]) < 1e-15)

        // Diagonal with the eigenvalues out of order: columns come back sorted.
        let d = Matrix<Double>(rows: 3, cols: 3, elements: [5, 0, 0, 0, -2, 0, 0, 0, 1])
        let (dv, dvec) = try symmetricEigen(d)
        #expect(dv == [-2, 1, 5])
        #expect(abs(dvec[1, 0]) == 1 && abs(dvec[2, 1]) == 1 && abs(dvec[0, 2]) == 1)
    }

    @Test func readsOnlyTheUpperTriangle() throws {
        let a: Matrix<Double> = randomSymmetric(6, seed: 103)
        var garbled = a
        for i in 1..<6 { for j in 0..<i { garbled[i, j] = 1000 } }
        #expect(try symmetricEigenvalues(garbled) == symmetricEigenvalues(a))
    }

    @Test func floatInputIsComputedInDouble() throws {
        let a: Matrix<Float> = randomSymmetric(20, seed: 104)
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(Matrix<Double>(a), values: values, vectors: vectors, tolerance: 1e-12)
    }

    /// A rank-deficient covariance, as in the null-space projector: KᵀK of 40 samples in 100
    /// dimensions has 60 zero eigenvalues.
    @Test func rankDeficientGram() throws {
        let k: Matrix<Double> = randomMatrix(40, 100, seed: 105)
        let c = gram(of: k)
        let (values, vectors) = try symmetricEigen(c)
        checkDecomposition(c, values: values, vectors: vectors, tolerance: 1e-12)
        let largest = values.last!
        #expect(values.prefix(60).allSatisfy { abs($0) < 1e-10 * largest })
        #expect(values.suffix(40).allSatisfy { $0 > 1e-6 * largest })
    }

    /// n = 600 in tests (the n = 4096 case runs in the benchmark, where it takes seconds).
    @Test func largeMatrix() throws {
        let n = 600
        let x: Matrix<Double> = randomMatrix(n, n, seed: 106)
        let a = (x + x.transposed()).scaled(by: 0.5)
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(a, values: values, vectors: vectors, tolerance: 1e-11)
    }

    @Test func errors() {
        #expect(throws: LinalgError.notSquare(operation: "symmetricEigen", shape: MatrixShape(rows: 2, cols: 3))) {
            try symmetricEigen(Matrix<Double>(rows: 2, cols: 3))
        }
        #expect(throws: LinalgError.nonFiniteInput(operation: "symmetricEigen")) {
            try symmetricEigen(Matrix<Float>(rows: 2, cols: 2, elements: [1, .nan, .nan, 1]))
        }
        let empty = try? symmetricEigen(Matrix<Double>(rows: 0, cols: 0))
        #expect(empty?.values == [] && empty?.vectors.shape == MatrixShape(rows: 0, cols: 0))
    }
}
