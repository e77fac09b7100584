import Foundation
import Linalg
import Testing
@testable import Editing

@Suite struct ProjectorTests {
    @Test func matchesTheOfficialProjectorOfGPT2() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        for layer in oracle.layers {
            let c0 = Matrix<Double>(try oracle.symmetric("cov.L\(layer).triu"))
            let projector = try NullSpaceProjector(layer: layer, secondMoment: c0, threshold: 0.02)
            #expect(projector.nullSpaceDimension == oracle.nullSpaceDimension(layer: layer), "layer \(layer)")
            let reference = try oracle.symmetric("P.L\(layer).triu")
            let error = projector.matrix.relativeError(to: reference)
            #expect(error < 5e-3, "layer \(layer): ‖P − P_ref‖/‖P_ref‖ = \(error)")
        }
    }

    /// The Llama oracle's official projector is not the exact projector of its own moment: its
    /// float32 SVD places the eigenvalues near 0.02 up to 4.5e-3 away from their float64 values
    /// (compare `cov.L*.singular_values` with an eigendecomposition of `cov.L*.triu`), and the
    /// near-threshold eigenvectors mix. Measured: the official dimensions are 223 and 153, the exact
    /// ones 224 and 152; ‖P_exact − P_official‖/‖P_official‖ = 0.105 and 0.099, and OpenBLAS's float32
    /// SVD (numpy) of the same matrix agrees with alphaedit's float64 projector to 2.4e-7. So this
    /// checks the dimension to ±1 and the projector to the official code's own noise.
    @Test func agreesWithTheLlamaProjectorUpToTheOfficialFloat32Noise() throws {
        let oracle = try OracleFixture("alphaedit-oracle-llama")
        for layer in oracle.layers {
            let c0 = Matrix<Double>(try oracle.symmetric("cov.L\(layer).triu"))
            let projector = try NullSpaceProjector(layer: layer, secondMoment: c0, threshold: 0.02)
            #expect(abs(projector.nullSpaceDimension - oracle.nullSpaceDimension(layer: layer)) <= 1)
            let official = try oracle.tensors.floats("cov.L\(layer).singular_values").map(Double.init)
            let ours = projector.eigenvalues.filter { $0 < 0.02 }.count, theirs = official.filter { $0 < 0.02 }.count
            let flipped = projector.eigenvalues[min(ours, theirs)..<max(ours, theirs)]
            #expect(flipped.allSatisfy { abs($0 - 0.02) < 5e-3 }, "layer \(layer): \(Array(flipped))")
            let error = projector.matrix.relativeError(to: try oracle.symmetric("P.L\(layer).triu"))
            #expect(error < 0.11, "layer \(layer): ‖P − P_ref‖/‖P_ref‖ = \(error)")
        }
    }

    @Test func projectorIsASymmetricIdempotentMatrixAnnihilatingTheHighEnergyDirections() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let c0 = Matrix<Double>(try oracle.symmetric("cov.L1.triu"))
        let projector = try NullSpaceProjector(layer: 1, secondMoment: c0, threshold: 0.02)
        let p = Matrix<Double>(projector.matrix)
        #expect(matmul(p, p).relativeError(to: p) < 1e-5)
        #expect(p.relativeError(to: p.transposed()) < 1e-6)
        // ‖P·C0‖ is bounded by the threshold times √r.
        let pc = matmul(p, c0)
        #expect(pc.frobeniusNorm <= 0.02 * Double(projector.nullSpaceDimension).squareRoot() * 1.0001)
        var trace = 0.0
        for i in 0..<p.rows { trace += p.elements[i * p.rows + i] }
        #expect(abs(trace - Double(projector.nullSpaceDimension)) < 1e-3)
    }

    @Test func emptyNullSpaceGivesTheZeroProjector() throws {
        let c0 = Matrix<Double>.identity(4)
        let projector = try NullSpaceProjector(layer: 0, secondMoment: c0, threshold: 0.5)
        #expect(projector.nullSpaceDimension == 0)
        #expect(projector.matrix == Matrix<Float>(rows: 4, cols: 4, repeating: 0))
    }
}
