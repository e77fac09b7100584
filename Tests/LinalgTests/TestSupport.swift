// Shared helpers for LinalgTests: a seeded RNG, random matrices, and slow, obviously correct
// reference implementations in Double.

import Linalg

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence on every platform.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), from the top 53 bits.
    mutating func nextSigned() -> Double {
        Double(next() >> 11) * 0x1.0p-52 - 1
    }
}

/// A `rows × cols` matrix with elements uniform in [-1, 1), reproducible from `seed`.
func randomMatrix<S: LinalgScalar>(_ rows: Int, _ cols: Int, seed: UInt64, as _: S.Type = S.self) -> Matrix<S> {
    var rng = SplitMix64(seed: seed)
    return Matrix(rows: rows, cols: cols) { _, _ in S(rng.nextSigned()) }
}

/// An array of `count` values uniform in [-1, 1).
func randomArray<S: LinalgScalar>(_ count: Int, seed: UInt64, as _: S.Type = S.self) -> [S] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in S(rng.nextSigned()) }
}

/// A random symmetric matrix with elements in [-1, 1).
func randomSymmetric<S: LinalgScalar>(_ n: Int, seed: UInt64, as _: S.Type = S.self) -> Matrix<S> {
    let r = randomMatrix(n, n, seed: seed, as: Double.self)
    return Matrix(rows: n, cols: n) { i, j in S((r[i, j] + r[j, i]) / 2) }
}

/// A random symmetric positive definite matrix: RᵀR/n + I.
func randomSPD<S: LinalgScalar>(_ n: Int, seed: UInt64, as _: S.Type = S.self) -> Matrix<S> {
    let r = randomMatrix(n, n, seed: seed, as: Double.self)
    let g = naiveMatmul(r, r, transposeA: true)
    return Matrix(rows: n, cols: n) { i, j in S(g[i, j] / Double(n) + (i == j ? 1 : 0)) }
}

// MARK: - Reference implementations (naive loops in Double)

/// op(a)·op(b) by the textbook triple loop, in Double.
func naiveMatmul<A: LinalgScalar, B: LinalgScalar>(
    _ a: Matrix<A>, _ b: Matrix<B>, transposeA: Bool = false, transposeB: Bool = false
) -> Matrix<Double> {
    let m = transposeA ? a.cols : a.rows
    let k = transposeA ? a.rows : a.cols
    let n = transposeB ? b.rows : b.cols
    let ae = a.elements.map(Double.init), be = b.elements.map(Double.init)
    let ac = a.cols, bc = b.cols
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let x = transposeA ? ae[p * ac + i] : ae[i * ac + p]
                let y = transposeB ? be[j * bc + p] : be[p * bc + j]
                s += x * y
            }
            c[i * n + j] = s
        }
    }
    return Matrix(rows: m, cols: n, elements: c)
}

/// The matrix as Double, element by element.
func asDouble<S: LinalgScalar>(_ m: Matrix<S>) -> Matrix<Double> {
    Matrix(rows: m.rows, cols: m.cols, elements: m.elements.map(Double.init))
}

/// Relative tolerance for a product accumulated over `k` terms in precision `S`.
func productTolerance<S: LinalgScalar>(_: S.Type, k: Int) -> Double {
    Double(S.ulpOfOne) * Double(max(k, 1)).squareRoot() * 16
}
