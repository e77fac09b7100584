import Foundation

/// One ZeroMQ frame.
public typealias Frame = [UInt8]

/// Element types of tensors on the wire (little-endian).
public enum TensorDType: String, Sendable, CaseIterable {
    case f32, f64, i32, i64, u8

    public var elementSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .u8: return 1
        }
    }
}

/// A named tensor as it travels: dtype, shape and raw little-endian bytes (frames of their own,
/// never a protobuf field).
///
/// The values are kept in the array they came in (a matrix's `[Float]` or `[Double]` is shared,
/// not copied, and a received tensor is assembled straight into one), so a large tensor is held
/// once in memory on either side, plus the chunks in flight.
public struct WireTensor: Sendable, Equatable {
    enum Storage: Sendable, Equatable {
        case bytes([UInt8])
        case floats([Float])
        case doubles([Double])
    }

    public var name: String
    public var dtype: TensorDType
    public var shape: [Int]
    var storage: Storage

    public init(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) {
        self.init(name: name, dtype: dtype, shape: shape, storage: .bytes(bytes))
    }

    init(name: String, dtype: TensorDType, shape: [Int], storage: Storage) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// `[Float]` as F32 (this machine is little-endian, as the wire); the array is shared.
    public init(name: String, floats: [Float], shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "tensor \(name): \(floats.count) values for shape \(shape)")
        self.init(name: name, dtype: .f32, shape: shape, storage: .floats(floats))
    }

    /// `[Double]` as F64; the array is shared.
    public init(name: String, doubles: [Double], shape: [Int]) {
        precondition(shape.reduce(1, *) == doubles.count, "tensor \(name): \(doubles.count) values for shape \(shape)")
        self.init(name: name, dtype: .f64, shape: shape, storage: .doubles(doubles))
    }

    /// Bytes held.
    public var byteCount: Int {
        switch storage {
        case .bytes(let b): return b.count
        case .floats(let f): return f.count * 4
        case .doubles(let d): return d.count * 8
        }
    }

    /// The raw little-endian bytes (a copy; for small tensors and tests).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the raw bytes, without copying.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .bytes(let b): return try b.withUnsafeBytes(body)
        case .floats(let f): return try f.withUnsafeBytes(body)
        case .doubles(let d): return try d.withUnsafeBytes(body)
        }
    }

    /// Bytes `range` as a frame.
    func frame(_ range: Range<Int>) -> Frame {
        if range == 0..<byteCount, case .bytes(let b) = storage { return b }
        return withUnsafeBytes { Array($0[range]) }
    }

    /// Elements the shape holds, or nil when the product overflows.
    var elementCount: Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    private func checked(_ expected: TensorDType) throws(ProtocolError) -> Int {
        guard dtype == expected else {
            throw ProtocolError(code: .malformed, detail: "tensor \"\(name)\" is \(dtype.rawValue), expected \(expected.rawValue)")
        }
        guard let count = elementCount, count.multipliedReportingOverflow(by: dtype.elementSize) == (byteCount, false) else {
            throw ProtocolError(code: .malformed, detail: "tensor \"\(name)\": \(byteCount) bytes for shape \(shape) of \(dtype.rawValue)")
        }
        return count
    }

    /// The F32 values (the held array when it is one: no copy).
    public func floats() throws(ProtocolError) -> [Float] {
        let count = try checked(.f32)
        if case .floats(let f) = storage { return f }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            withUnsafeBytes { _ = memcpy(buffer.baseAddress!, $0.baseAddress!, count * 4) }
            initialized = count
        }
    }

    /// The F64 values (the held array when it is one: no copy).
    public func doubles() throws(ProtocolError) -> [Double] {
        let count = try checked(.f64)
        if case .doubles(let d) = storage { return d }
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            withUnsafeBytes { _ = memcpy(buffer.baseAddress!, $0.baseAddress!, count * 8) }
            initialized = count
        }
    }
}

/// A received tensor being assembled from its chunks, in the storage its dtype reads back
/// without a copy.
struct TensorBuilder {
    private(set) var tensor: WireTensor
    /// Bytes written so far (chunks arrive in order).
    private(set) var filled = 0
    let byteLength: Int

    /// Allocates the whole tensor once (the caller has bounded `byteLength`).
    init(name: String, dtype: TensorDType, shape: [Int], byteLength: Int) {
        let storage: WireTensor.Storage
        switch dtype {
        case .f32 where byteLength % 4 == 0: storage = .floats([Float](repeating: 0, count: byteLength / 4))
        case .f64 where byteLength % 8 == 0: storage = .doubles([Double](repeating: 0, count: byteLength / 8))
        default: storage = .bytes([UInt8](repeating: 0, count: byteLength))
        }
        tensor = WireTensor(name: name, dtype: dtype, shape: shape, storage: storage)
        self.byteLength = byteLength
    }

    /// Copies the next chunk in. - Precondition: `filled + chunk.count <= byteLength`.
    mutating func append(_ chunk: [UInt8]) {
        precondition(filled + chunk.count <= byteLength)
        let offset = filled
        func copy(_ target: UnsafeMutableRawBufferPointer) {
            chunk.withUnsafeBytes { source in
                if let from = source.baseAddress { target.baseAddress!.advanced(by: offset).copyMemory(from: from, byteCount: source.count) }
            }
        }
        switch tensor.storage {
        case .bytes(var b):
            tensor.storage = .bytes([])
            b.withUnsafeMutableBytes(copy)
            tensor.storage = .bytes(b)
        case .floats(var f):
            tensor.storage = .floats([])
            f.withUnsafeMutableBytes(copy)
            tensor.storage = .floats(f)
        case .doubles(var d):
            tensor.storage = .doubles([])
            d.withUnsafeMutableBytes(copy)
            tensor.storage = .doubles(d)
        }
        filled += chunk.count
    }
}
