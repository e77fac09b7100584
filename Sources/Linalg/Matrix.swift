/// The shape of a matrix: `rows × cols`.
public struct MatrixShape: Hashable, Sendable, CustomStringConvertible {
    public var rows: Int
    public var cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }

    /// `"3×4"`.
    public var description: String { "\(rows)×\(cols)" }
}

/// A dense matrix stored row-major in one contiguous array.
///
/// Element `(i, j)` lives at `elements[i * cols + j]`. The matrix owns its storage (value
/// semantics, copy-on-write through `Array`). Zero rows or columns are allowed.
///
/// ```swift
/// let a = Matrix<Float>(rows: 2, cols: 3) { i, j in Float(i * 3 + j) }
/// let g = matmul(a, a, transposeB: true)   // 2×2
/// ```
public struct Matrix<Scalar: LinalgScalar>: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let cols: Int
    /// The elements, row-major; always `rows * cols` of them.
    ///
    /// Writable in place (`m.elements[k] = x`, or `&m.elements` as an `inout` argument to the
    /// ``BLAS`` kernels) without copying the array; a write that changes the count traps.
    public var elements: [Scalar] {
        get { storage }
        // A `_modify` coroutine rather than `didSet`: across modules, `didSet` turns every
        // in-place write into get-copy-set, duplicating the whole array.
        _modify {
            yield &storage
            precondition(storage.count == rows * cols,
                         "Matrix: elements must keep \(rows * cols) values for shape \(rows)×\(cols), got \(storage.count)")
        }
        set {
            precondition(newValue.count == rows * cols,
                         "Matrix: elements must keep \(rows * cols) values for shape \(rows)×\(cols), got \(newValue.count)")
            storage = newValue
        }
    }

    private var storage: [Scalar]

    // MARK: Initialisers

    /// A `rows × cols` matrix with every element equal to `value`.
    /// - Complexity: O(rows·cols).
    public init(rows: Int, cols: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = Array(repeating: value, count: rows * cols)
    }

    /// A `rows × cols` matrix over row-major `elements`.
    /// - Precondition: `elements.count == rows * cols`.
    /// - Complexity: O(1) (the array is adopted, not copied).
    public init(rows: Int, cols: Int, elements: [Scalar]) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)×\(cols)")
        precondition(elements.count == rows * cols,
                     "Matrix: \(elements.count) elements cannot fill shape \(rows)×\(cols) (need \(rows * cols))")
        self.rows = rows
        self.cols = cols
        self.storage = elements
    }

    /// A `rows × cols` matrix whose element `(i, j)` is `generator(i, j)`, filled row by row.
    /// - Complexity: O(rows·cols) calls of `generator`.
    public init(rows: Int, cols: Int, _ generator: (_ i: Int, _ j: Int) throws -> Scalar) rethrows {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)×\(cols)")
        var values: [Scalar] = []
        values.reserveCapacity(rows * cols)
        for i in 0..<rows {
            for j in 0..<cols {
                values.append(try generator(i, j))
            }
        }
        self.rows = rows
        self.cols = cols
        self.storage = values
    }

    /// The `n × n` identity matrix.
    /// - Complexity: O(n²).
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n {
            m.elements[i * n + i] = 1
        }
        return m
    }

    // MARK: Shape and access

    /// `rows × cols`.
    public var shape: MatrixShape { MatrixShape(rows: rows, cols: cols) }

    /// Whether `rows == cols`.
    public var isSquare: Bool { rows == cols }

    /// Element `(i, j)`.
    /// - Precondition: `0 <= i < rows` and `0 <= j < cols`.
    /// - Complexity: O(1).
    public subscript(i: Int, j: Int) -> Scalar {
        get {
            precondition(i >= 0 && i < rows && j >= 0 && j < cols,
                         "Matrix: index (\(i), \(j)) out of bounds for shape \(rows)×\(cols)")
            return elements[i * cols + j]
        }
        set {
            precondition(i >= 0 && i < rows && j >= 0 && j < cols,
                         "Matrix: index (\(i), \(j)) out of bounds for shape \(rows)×\(cols)")
            elements[i * cols + j] = newValue
        }
    }

    /// Row `i` as a new array of `cols` elements.
    /// - Complexity: O(cols).
    public func row(_ i: Int) -> [Scalar] {
        precondition(i >= 0 && i < rows, "Matrix: row \(i) out of bounds for shape \(rows)×\(cols)")
        return Array(elements[(i * cols)..<((i + 1) * cols)])
    }

    /// Column `j` as a new array of `rows` elements.
    /// - Complexity: O(rows).
    public func column(_ j: Int) -> [Scalar] {
        precondition(j >= 0 && j < cols, "Matrix: column \(j) out of bounds for shape \(rows)×\(cols)")
        return (0..<rows).map { elements[$0 * cols + j] }
    }
}

extension Matrix: CustomStringConvertible {
    /// The shape and, for matrices up to 8×8, the elements row by row.
    public var description: String {
        var text = "Matrix<\(Scalar.self)> \(rows)×\(cols)"
        guard rows <= 8 && cols <= 8 else { return text }
        for i in 0..<rows {
            text += "\n  [" + (0..<cols).map { "\(elements[i * cols + $0])" }.joined(separator: ", ") + "]"
        }
        return text
    }
}
