/// What a safetensors header says about one tensor.
public struct TensorInfo: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let dtype: DType
    /// Dimensions, outermost first (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// product(shape).
    public let elementCount: Int
    /// The tensor's bytes within the data section (the header's `data_offsets`).
    public let dataOffsets: Range<Int>

    /// elementCount × dtype.byteSize, equal to `dataOffsets.count` (checked when the header is read).
    public var byteCount: Int { dataOffsets.count }

    public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.elementCount = TensorInfo.elementCount(shape: shape) ?? 0
        self.dataOffsets = dataOffsets
    }

    public var description: String {
        "\(name): \(dtype.rawValue) \(shape) (\(byteCount) bytes)"
    }

    /// product(shape), or nil if a dimension is negative or the product overflows `Int`.
    /// A zero dimension makes the product 0 whatever the other dimensions are.
    public static func elementCount(shape: [Int]) -> Int? {
        if shape.contains(where: { $0 < 0 }) { return nil }
        if shape.contains(0) { return 0 }
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// product(shape) × dtype.byteSize, or nil on a negative dimension or overflow.
    public static func byteCount(dtype: DType, shape: [Int]) -> Int? {
        guard let count = elementCount(shape: shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }
}
