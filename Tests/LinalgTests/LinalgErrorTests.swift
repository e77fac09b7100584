import Linalg
import Testing

@Suite("LinalgError messages")
struct LinalgErrorTests {
    @Test func messagesNameTheProblemAndTheRemedy() {
        let mismatch = LinalgError.shapeMismatch(operation: "solve", lhs: MatrixShape(rows: 3, cols: 3), rhs: MatrixShape(rows: 2, cols: 1))
        #expect(mismatch.description.contains("3×3") && mismatch.description.contains("2×1"))

        let singular = LinalgError.singularMatrix(operation: "solve", pivot: 4)
        #expect(singular.description.contains("U[4, 4]") && singular.description.contains("ridge"))

        let notPD = LinalgError.notPositiveDefinite(operation: "choleskySolve", minor: 7)
        #expect(notPD.description.contains("order 7") && notPD.description.contains("solve(_:_:)"))

        let illConditioned = LinalgError.illConditioned(operation: "solve", reciprocalCondition: 1e-20)
        #expect(illConditioned.description.contains("1e-20"))

        #expect(LinalgError.eigenDidNotConverge(info: 12).description.contains("info 12"))
        #expect(LinalgError.illegalArgument(routine: "dgetrf", index: 4).description.contains("argument 4"))
        #expect(LinalgError.notSquare(operation: "inverse", shape: MatrixShape(rows: 2, cols: 5)).description.contains("2×5"))
        #expect(LinalgError.nonFiniteInput(operation: "solve").description.contains("NaN"))
    }

    @Test func scalarKinds() {
        #expect(Float.scalarKind == .float32 && Double.scalarKind == .float64)
        #expect(ScalarKind.float32.byteCount == 4 && ScalarKind.float64.byteCount == 8)
    }
}
