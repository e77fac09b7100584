import Linalg
import Testing

@Suite("Matrix: arithmetic, norms, comparisons, conversions")
struct MatrixArithmeticTests {
    @Test func additionSubtractionScaling() {
        let a = randomMatrix(7, 5, seed: 10, as: Double.self)
        let b = randomMatrix(7, 5, seed: 11, as: Double.self)
        let sum = a + b
        let difference = a - b
        let scaled = a.scaled(by: -2.5)
        for k in 0..<a.elements.count {
            #expect(sum.elements[k] == a.elements[k] + b.elements[k])
            #expect(difference.elements[k] == a.elements[k] - b.elements[k])
            #expect(scaled.elements[k] == -2.5 * a.elements[k])
        }
        var accumulator = a
        accumulator += b
        #expect(accumulator == sum)
        accumulator -= b
        #expect(accumulator.maxAbsDifference(a) < 1e-15)
        var axpy = a
        axpy.add(b, scaledBy: 3)
        #expect(axpy.maxAbsDifference(a + b.scaled(by: 3)) < 1e-15)
    }

    @Test func selfAdditionIsCorrect() {
        var a = randomMatrix(4, 4, seed: 12, as: Float.self)
        let twice = a.scaled(by: 2)
        a += a
        #expect(a == twice)
    }

    @Test func frobeniusNorm() {
        let m = Matrix<Float>(rows: 2, cols: 2, elements: [3, 0, 0, 4])
        #expect(m.frobeniusNorm == 5)
        let r = randomMatrix(13, 17, seed: 13, as: Double.self)
        let reference = r.elements.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(r.frobeniusNorm - reference) < 1e-13)
        #expect(Matrix<Double>(rows: 0, cols: 3).frobeniusNorm == 0)
        // Scaled: does not overflow where the naive sum of squares would.
        #expect(Matrix<Float>(rows: 1, cols: 2, elements: [3e30, 4e30]).frobeniusNorm.isFinite)
    }

    @Test func comparisonsAcrossPrecisions() {
        let reference = Matrix<Double>(rows: 1, cols: 2, elements: [3, 4])
        let approx = Matrix<Float>(rows: 1, cols: 2, elements: [3, 4.5])
        #expect(approx.maxAbsDifference(reference) == 0.5)
        #expect(abs(approx.relativeError(to: reference) - 0.1) < 1e-12)
        #expect(reference.relativeError(to: reference) == 0)
        #expect(Matrix<Double>(rows: 1, cols: 1, elements: [1]).relativeError(to: Matrix<Double>(rows: 1, cols: 1)) == .infinity)
        #expect(Matrix<Double>(rows: 1, cols: 1, elements: [.nan]).maxAbsDifference(Matrix<Float>(rows: 1, cols: 1)).isNaN)
    }

    @Test func isFinite() {
        #expect(randomMatrix(3, 3, seed: 14, as: Float.self).isFinite)
        #expect(!Matrix<Float>(rows: 1, cols: 2, elements: [1, .infinity]).isFinite)
        #expect(!Matrix<Double>(rows: 1, cols: 2, elements: [.nan, 1]).isFinite)
    }

    @Test func conversions() {
        let f = randomMatrix(5, 6, seed: 15, as: Float.self)
        let d = Matrix<Double>(f)
        #expect(d.shape == f.shape)
        #expect(d.elements == f.elements.map(Double.init))
        #expect(Matrix<Float>(d) == f)                 // widening then narrowing is exact

        let third = Matrix<Double>(rows: 1, cols: 1, elements: [1.0 / 3.0])
        #expect(Matrix<Float>(third).elements == [Float(1.0 / 3.0)])
        #expect(Matrix<Float>(Matrix<Double>(rows: 1, cols: 1, elements: [1e300])).elements == [.infinity])
        #expect(Matrix<Double>(d) == d)
    }
}
