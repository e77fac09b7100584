import Foundation
import Linalg
import Testing
@testable import Editing

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
}
