extension Matrix {
    /// The transpose: a `cols × rows` matrix with element `(j, i)` equal to `self[i, j]`.
    /// - Complexity: O(rows·cols), cache-blocked.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed() -> Matrix {
        if rows <= 1 || cols <= 1 {
            return Matrix(rows: cols, cols: rows, elements: elements)
        }
        let out = [Scalar](unsafeUninitializedCapacity: rows * cols) { buffer, count in
            elements.withUnsafeBufferPointer { source in
                transposeCopy(rows: rows, cols: cols, from: source.baseAddress!, to: buffer.baseAddress!)
            }
            count = rows * cols
        }
        return Matrix(rows: cols, cols: rows, elements: out)
    }
}

/// Writes the transpose of the row-major `rows × cols` block at `source` to `destination`
/// (row-major `cols × rows`). The two must not overlap. Destination memory may be uninitialised
/// (the scalars are trivial types).
@_specialize(where S == Float)
@_specialize(where S == Double)
func transposeCopy<S: LinalgScalar>(
    rows: Int, cols: Int, from source: UnsafePointer<S>, to destination: UnsafeMutablePointer<S>
) {
    let tile = 32
    var i0 = 0
    while i0 < rows {
        let i1 = min(i0 + tile, rows)
        var j0 = 0
        while j0 < cols {
            let j1 = min(j0 + tile, cols)
            for i in i0..<i1 {
                for j in j0..<j1 {
                    (destination + (j * rows + i)).initialize(to: source[i * cols + j])
                }
            }
            j0 = j1
        }
        i0 = i1
    }
}

extension Matrix {
    /// Copies the upper triangle onto the lower one, making the matrix exactly symmetric.
    /// - Precondition: the matrix is square.
    public mutating func mirrorUpperTriangle() {
        precondition(isSquare, "Matrix.mirrorUpperTriangle: needs a square matrix, got \(shape)")
        let n = rows
        elements.withUnsafeMutableBufferPointer { p in
            if n > 0 { mirrorUpperToLower(n: n, p.baseAddress!) }
        }
    }
}

/// Copies the upper triangle (i < j) of the row-major `n × n` matrix at `c` onto its lower
/// triangle, so the matrix becomes exactly symmetric.
/// - Complexity: O(n²), cache-blocked.
@_specialize(where S == Float)
@_specialize(where S == Double)
func mirrorUpperToLower<S: LinalgScalar>(n: Int, _ c: UnsafeMutablePointer<S>) {
    let tile = 32
    var i0 = 0
    while i0 < n {
        let i1 = min(i0 + tile, n)
        var j0 = i0
        while j0 < n {
            let j1 = min(j0 + tile, n)
            for i in i0..<i1 {
                for j in max(j0, i + 1)..<max(j1, i + 1) {
                    c[j * n + i] = c[i * n + j]
                }
            }
            j0 = j1
        }
        i0 = i1
    }
}
