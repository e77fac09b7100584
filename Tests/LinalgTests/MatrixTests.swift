import Linalg
import Testing

@Suite("Matrix: construction, access, shape")
struct MatrixTests {
    @Test func initialisersAgree() {
        let fromElements = Matrix<Float>(rows: 2, cols: 3, elements: [0, 1, 2, 10, 11, 12])
        let generated = Matrix<Float>(rows: 2, cols: 3) { i, j in Float(10 * i + j) }
        #expect(fromElements == generated)
        #expect(fromElements.shape == MatrixShape(rows: 2, cols: 3))
        #expect(fromElements.shape.description == "2×3")
        #expect(fromElements[1, 2] == 12)
        #expect(fromElements.row(1) == [10, 11, 12])
        #expect(fromElements.column(2) == [2, 12])

        let filled = Matrix<Double>(rows: 3, cols: 2, repeating: 7)
        #expect(filled.elements == [7, 7, 7, 7, 7, 7])
        #expect(Matrix<Double>(rows: 0, cols: 4).elements.isEmpty)
    }

    @Test func subscriptWritesRowMajor() {
        var m = Matrix<Double>(rows: 2, cols: 3)
        m[1, 0] = 5
        m[0, 2] = -1
        #expect(m.elements == [0, 0, -1, 5, 0, 0])
    }

    @Test func elementsAreWritableInPlace() {
        var m = Matrix<Float>(rows: 2, cols: 2)
        let before = m.elements.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        m.elements[3] = 4
        let after = m.elements.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after)
        #expect(m[1, 1] == 4)
    }

    @Test(arguments: [1, 2, 5])
    func identity(n: Int) {
        let id = Matrix<Float>.identity(n)
        for i in 0..<n {
            for j in 0..<n {
                #expect(id[i, j] == (i == j ? 1 : 0))
            }
        }
        let a = randomMatrix(n, 3, seed: 1, as: Float.self)
        #expect(matmul(id, a) == a)
    }

    @Test(arguments: [(1, 1), (1, 7), (7, 1), (3, 5), (33, 70), (64, 64)])
    func transposeSwapsIndices(rows: Int, cols: Int) {
        let a = randomMatrix(rows, cols, seed: UInt64(rows * 100 + cols), as: Double.self)
        let t = a.transposed()
        #expect(t.shape == MatrixShape(rows: cols, cols: rows))
        for i in 0..<rows {
            for j in 0..<cols {
                #expect(t[j, i] == a[i, j])
            }
        }
        #expect(t.transposed() == a)
    }

    @Test func packedUpperRoundTripsInTriuOrder() {
        // torch.triu_indices(3, 3) order: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2)
        let m = Matrix<Double>(symmetricFromPackedUpper: [1, 2, 3, 4, 5, 6], n: 3)
        #expect(m.elements == [1, 2, 3,
                               2, 4, 5,
                               3, 5, 6])
        #expect(m.packedUpper() == [1, 2, 3, 4, 5, 6])
        #expect(Matrix<Float>(symmetricFromPackedUpper: [9], n: 1).elements == [9])
        #expect(Matrix<Float>(symmetricFromPackedUpper: [], n: 0).rows == 0)

        let s = randomSymmetric(37, seed: 4, as: Float.self)
        #expect(Matrix(symmetricFromPackedUpper: s.packedUpper(), n: 37) == s)
    }

    @Test func descriptionShowsSmallMatrices() {
        let m = Matrix<Double>(rows: 1, cols: 2, elements: [1, 2])
        #expect(m.description == "Matrix<Double> 1×2\n  [1.0, 2.0]")
        #expect(Matrix<Float>(rows: 9, cols: 9).description == "Matrix<Float> 9×9")
    }

    @Test func elementCountIsEnforced() async {
        await #expect(processExitsWith: .failure) {
            _ = Matrix<Float>(rows: 2, cols: 2, elements: [1, 2, 3])
        }
        await #expect(processExitsWith: .failure) {
            var m = Matrix<Float>(rows: 2, cols: 2)
            m.elements.append(1)
        }
    }
}
