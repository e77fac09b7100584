import Foundation
import Linalg
import Testing
@testable import Editing
import Transformer

/// The closed-form solves, each fed the official code's own inputs.
@Suite struct WeightUpdateTests {
    @Test(arguments: OracleFixture.names)
    func alphaEditDeltasMatchTheOfficialSolve(oracle name: String) throws {
        let oracle = try OracleFixture(name)
        for b in 0..<2 {
            for layer in oracle.layers {
                let delta = try WeightUpdate.alphaEdit(
                    keys: try oracle.matrix("b\(b).L\(layer).keys"), residuals: try oracle.matrix("b\(b).L\(layer).resid"),
                    projector: try oracle.symmetric("P.L\(layer).triu"), cache: try oracle.cache(beforeBatch: b, layer: layer),
                    l2: 10)
                let error = delta.relativeError(to: try oracle.matrix("b\(b).L\(layer).delta"))
                #expect(error < 1e-4, "\(name) batch \(b) layer \(layer): relative error \(error)")
            }
        }
    }

    @Test(arguments: OracleFixture.names)
    func memitAdjustedKeysMatchTheOfficialSolve(oracle name: String) throws {
        let oracle = try OracleFixture(name)
        let layer = oracle.layers[0]  // MEMIT's first-layer keys are the batch-0 keys
        let c0 = Matrix<Double>(try oracle.symmetric("cov.L\(layer).triu"))
        let (delta, adjusted) = try WeightUpdate.memit(
            keys: try oracle.matrix("b0.L\(layer).keys"), residuals: Matrix<Float>(try oracle.doubleMatrix("memit.L\(layer).resid")),
            secondMoment: c0, updateWeight: oracle.memitUpdateWeight)
        let error = adjusted.relativeError(to: try oracle.doubleMatrix("memit.L\(layer).adj_k"))
        #expect(error < 1e-4, "\(name): adj_k relative error \(error)")
        let expected = matmul(try oracle.doubleMatrix("memit.L\(layer).adj_k"), try oracle.doubleMatrix("memit.L\(layer).resid"), transposeB: true)
        #expect(Matrix<Double>(delta).relativeError(to: expected) < 1e-4)
    }

    /// From d0 = 2048 a batch without a cache solves the N × N push-through system, and one with a
    /// cache solves the d0 × d0 system for A⁻¹·(P·K) (N right-hand sides) before multiplying by Rᵀ;
    /// either Δ is the d0 × d0 system's with d1 right-hand sides up to rounding.
    @Test(arguments: [false, true])
    func largeWidthSolvesGiveTheFullSystemsDelta(withCache: Bool) throws {
        let d0 = WeightUpdate.pushThroughOrder, n = 16, d1 = 48
        var generator = SplitMix64(seed: 0x5EED)
        func next() -> Double { generator.nextUniform() * 2 - 1 }   // uniform in [−1, 1)
        let keys = Matrix<Float>(rows: d0, cols: n) { _, _ in Float(next()) }
        let residuals = Matrix<Float>(rows: d1, cols: n) { _, _ in Float(next() * 0.1) }
        let q = Matrix<Float>(rows: d0, cols: 64) { _, _ in Float(next()) }
        let projector = matmul(q, q, transposeB: true).scaled(by: 1 / Float(64))      // symmetric PSD
        var cache = Matrix<Float>(rows: d0, cols: d0)
        if withCache {                                                                 // Σ K Kᵀ of 2·N earlier keys
            let earlier = Matrix<Float>(rows: d0, cols: 2 * n) { _, _ in Float(next()) }
            cache = matmul(earlier, earlier, transposeB: true)
        }
        let delta = try WeightUpdate.alphaEdit(keys: keys, residuals: residuals, projector: projector, cache: cache, l2: 10)
        // The d0 × d0 system P·(K·Kᵀ + C) + L2·I with d1 right-hand sides, formed and solved in float64.
        let k = Matrix<Double>(keys), p = Matrix<Double>(projector), pk = matmul(p, k)
        var a = matmul(p, matmul(k, k, transposeB: true) + Matrix<Double>(cache))
        for i in 0..<d0 { a[i, i] += 10 }
        let expected = try solve(a, matmul(pk, Matrix<Double>(residuals), transposeB: true))
        let error = Matrix<Double>(delta).relativeError(to: expected)
        #expect(error < 1e-6, "relative error \(error)")
        #expect(delta.frobeniusNorm > 0)
    }
}
