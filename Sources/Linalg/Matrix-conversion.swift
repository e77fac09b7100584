extension Matrix {
    /// The same matrix in another precision: `Matrix<Double>(floatMatrix)` widens exactly;
    /// `Matrix<Float>(doubleMatrix)` rounds each element to the nearest `Float` (values beyond
    /// `Float`'s range become ±infinity). Same-type conversion is a copy.
    /// - Complexity: O(rows·cols).
    @_specialize(where Scalar == Double, Source == Float)
    @_specialize(where Scalar == Float, Source == Double)
    public init<Source: LinalgScalar>(_ source: Matrix<Source>) {
        if Source.self == Scalar.self {
            self = unsafeBitCast(source, to: Matrix<Scalar>.self)
            return
        }
        let count = source.elements.count
        let converted = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            source.elements.withUnsafeBufferPointer { input in
                for k in 0..<count {
                    (buffer.baseAddress! + k).initialize(to: Scalar(input[k]))
                }
            }
            initialized = count
        }
        self.init(rows: source.rows, cols: source.cols, elements: converted)
    }
}
