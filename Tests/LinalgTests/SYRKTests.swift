import Linalg
import Testing

/// Checks exact symmetry: c[i, j] == c[j, i] bit for bit.
private func isExactlySymmetric<S: LinalgScalar>(_ c: Matrix<S>) -> Bool {
    for i in 0..<c.rows {
        for j in 0..<i where c[i, j] != c[j, i] { return false }
    }
    return true
}

@Suite("Gram accumulation (SYRK)")
struct SYRKTests {
    /// (samples n, width d).
    static let shapes: [(Int, Int)] = [(1, 1), (1, 5), (5, 1), (9, 4), (30, 47), (3, 64)]

    @Test(arguments: shapes)
    func accumulateGramMatchesNaive(shape: (Int, Int)) {
        let (n, d) = shape
        check(Float.self, n: n, d: d)
        check(Double.self, n: n, d: d)
    }

    private func check<S: LinalgScalar>(_: S.Type, n: Int, d: Int) {
        let x: Matrix<S> = randomMatrix(n, d, seed: UInt64(n * 1000 + d))
        let c0: Matrix<S> = randomSymmetric(d, seed: 7)
        var c = c0
        accumulateGram(of: x, into: &c, alpha: 0.25)
        let reference = asDouble(c0) + naiveMatmul(x, x, transposeA: true).scaled(by: 0.25)
        #expect(c.relativeError(to: reference) < productTolerance(S.self, k: n))
        #expect(isExactlySymmetric(c))
        #expect(gram(of: x).relativeError(to: naiveMatmul(x, x, transposeA: true)) < productTolerance(S.self, k: n))
    }

    @Test func repeatedAccumulationEqualsOneBigBatch() {
        let x: Matrix<Double> = randomMatrix(40, 12, seed: 50)
        var inBatches = Matrix<Double>(rows: 12, cols: 12)
        for batch in 0..<4 {
            let rows = Matrix<Double>(rows: 10, cols: 12, elements: Array(x.elements[(batch * 120)..<((batch + 1) * 120)]))
            accumulateGram(of: rows, into: &inBatches)
        }
        #expect(inBatches.relativeError(to: gram(of: x)) < 1e-14)
    }

    /// Float samples into a Double accumulator, across the 512-wide tile boundary so the
    /// off-diagonal tiles (sgemm) are exercised as well as the diagonal ones (ssyrk).
    @Test(arguments: [(1, 1), (7, 3), (20, 40), (6, 513), (9, 1100)])
    func floatIntoDoubleMatchesNaive(shape: (Int, Int)) {
        let (n, d) = shape
        let x: Matrix<Float> = randomMatrix(n, d, seed: UInt64(n * 7919 + d))
        let c0: Matrix<Double> = randomSymmetric(d, seed: 51)
        var c = c0
        accumulateGram(of: x, into: &c, alpha: 0.5)
        #expect(isExactlySymmetric(c))
        // Compare the increments (C − C₀ against 0.5·XᵀX), so cancellation with a random C₀
        // does not inflate the relative error. Reference XᵀX via the Double BLAS path (itself
        // checked against naive loops above), which keeps the large cases fast in debug builds.
        let increment = c - c0
        let reference = gram(of: Matrix<Double>(x)).scaled(by: 0.5)
        let error = increment.relativeError(to: reference)
        #expect(error < productTolerance(Float.self, k: n), "n=\(n) d=\(d): relative error \(error)")
        if d <= 40 {
            let naive = naiveMatmul(x, x, transposeA: true).scaled(by: 0.5)
            #expect(increment.relativeError(to: naive) < productTolerance(Float.self, k: n))
        }
    }

    /// The packed upper triangle gets the full matrix's upper triangle bit for bit, batch after
    /// batch, across tile boundaries (diagonal and off-diagonal tiles).
    @Test(arguments: [(7, 3), (20, 40), (6, 513), (9, 600)])
    func packedUpperGetsTheFullMatrixBits(shape: (Int, Int)) {
        let (n, d) = shape
        let c0: Matrix<Double> = randomSymmetric(d, seed: 53)
        var full = c0, packed = c0.packedUpper()
        for batch in 0..<3 {
            let x: Matrix<Float> = randomMatrix(n, d, seed: UInt64(n * 31 + d + batch))
            accumulateGram(of: x, into: &full, alpha: 0.5, mirror: false)
            accumulateGram(of: x, intoPackedUpper: &packed, alpha: 0.5)
        }
        #expect(packed.map(\.bitPattern) == full.packedUpper().map(\.bitPattern))
        #expect(packed != c0.packedUpper())
    }

    @Test func floatIntoDoubleKeepsDoubleAccumulation() {
        // A large running sum plus a tiny batch: the Double accumulator keeps the batch that a
        // Float accumulator would round away.
        let x = Matrix<Float>(rows: 1, cols: 1, elements: [1])
        var c = Matrix<Double>(rows: 1, cols: 1, elements: [1e9])
        accumulateGram(of: x, into: &c)
        #expect(c[0, 0] == 1e9 + 1)
    }

    @Test func emptyBatchLeavesAccumulatorUnchanged() {
        let c0: Matrix<Double> = randomSymmetric(3, seed: 52)
        var c = c0
        accumulateGram(of: Matrix<Float>(rows: 0, cols: 3), into: &c)
        accumulateGram(of: Matrix<Double>(rows: 0, cols: 3), into: &c)
        #expect(c == c0)
    }
}
