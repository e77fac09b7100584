// Packed upper triangles: n(n+1)/2 values of a symmetric n×n matrix, row by row over i <= j.
// This is the order of `torch.triu_indices(n, n)`: (0,0), (0,1), …, (0,n-1), (1,1), …, (n-1,n-1).

extension Matrix {
    /// The symmetric `n × n` matrix whose upper triangle, row by row over `i <= j`, is
    /// `packed` (the order of `torch.triu_indices(n, n)`); the lower triangle mirrors it.
    /// - Precondition: `packed.count == n * (n + 1) / 2`.
    /// - Complexity: O(n²).
    public init(symmetricFromPackedUpper packed: [Scalar], n: Int) {
        precondition(n >= 0, "Matrix(symmetricFromPackedUpper:): negative n \(n)")
        precondition(packed.count == n * (n + 1) / 2,
                     "Matrix(symmetricFromPackedUpper:): \(packed.count) values, but n = \(n) needs n(n+1)/2 = \(n * (n + 1) / 2)")
        var m = Matrix(rows: n, cols: n)
        m.elements.withUnsafeMutableBufferPointer { c in
            packed.withUnsafeBufferPointer { p in
                unpackUpper(n: n, packed: p, into: c)
            }
        }
        self = m
    }

    /// The upper triangle (`i <= j`), row by row, as `n(n+1)/2` values: the inverse of
    /// ``init(symmetricFromPackedUpper:n:)`` for symmetric matrices. The lower triangle is not
    /// read.
    /// - Precondition: the matrix is square.
    /// - Complexity: O(n²).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func packedUpper() -> [Scalar] {
        precondition(isSquare, "Matrix.packedUpper: needs a square matrix, got \(shape)")
        let n = rows
        var packed: [Scalar] = []
        packed.reserveCapacity(n * (n + 1) / 2)
        for i in 0..<n {
            packed.append(contentsOf: elements[(i * n + i)..<((i + 1) * n)])
        }
        return packed
    }
}

@_specialize(where S == Float)
@_specialize(where S == Double)
private func unpackUpper<S: LinalgScalar>(
    n: Int, packed: UnsafeBufferPointer<S>, into c: UnsafeMutableBufferPointer<S>
) {
    guard n > 0 else { return }
    var k = 0
    for i in 0..<n {
        for j in i..<n {
            c[i * n + j] = packed[k]
            k += 1
        }
    }
    mirrorUpperToLower(n: n, c.baseAddress!)
}
