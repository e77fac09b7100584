// Typed reads: copy, widen or (checked) narrow a tensor's elements into Swift arrays.

extension SafetensorsFile {
    // MARK: Floating point

    /// The tensor's elements as `Float`, row-major.
    ///
    /// F32 is copied; F16, BF16, F8_E5M2 and F8_E4M3 are widened exactly (every bit pattern,
    /// including NaN, ±inf, subnormals and ±0); F64 is rounded to nearest.
    /// - Throws: `SafetensorsError.tensorNotFound`, or `.unsupportedConversion` for integer dtypes.
    /// - Complexity: O(n); F32 is one `memcpy`.
    public func floats(_ tensor: String) throws -> [Float] {
        let info = try info(tensor)
        guard info.dtype.isFloatingPoint else { throw unsupported(info, "Float") }
        return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            decodeFloats(info, into: buffer)
            initialized = info.elementCount
        }
    }

    /// Writes the tensor's elements as `Float`, converted as by `floats(_:)`, into `destination`
    /// (e.g. a slice of a model's weight buffer), which must hold exactly `elementCount` floats.
    /// Saves the allocation of `floats(_:)`, whose fresh pages can cost more than the copy.
    /// - Throws: `SafetensorsError.tensorNotFound`, or `.unsupportedConversion` for integer dtypes.
    public func floats(_ tensor: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try info(tensor)
        guard info.dtype.isFloatingPoint else { throw unsupported(info, "Float") }
        precondition(destination.count == info.elementCount,
                     "\(name): tensor \(tensor) has \(info.elementCount) elements, destination holds \(destination.count)")
        decodeFloats(info, into: destination)
    }

    /// Converts a float tensor into `out` (`out.count == info.elementCount`, dtype already checked).
    private func decodeFloats(_ info: TensorInfo, into out: UnsafeMutableBufferPointer<Float>) {
        withBytes(of: info) { raw in
            switch info.dtype {
            case .F32: if !raw.isEmpty { UnsafeMutableRawBufferPointer(out).copyMemory(from: raw) }
            case .F16: Self.convert(raw, into: out, UInt16.self) { HalfFloat.float(fromF16: $0) }
            case .BF16: Self.convert(raw, into: out, UInt16.self) { HalfFloat.float(fromBF16: $0) }
            case .F64: Self.convert(raw, into: out, UInt64.self) { Float(Double(bitPattern: $0)) }
            case .F8_E5M2: Self.convert(raw, into: out, UInt8.self) { HalfFloat.float(fromF8E5M2: $0) }
            case .F8_E4M3: Self.convert(raw, into: out, UInt8.self) { HalfFloat.float(fromF8E4M3: $0) }
            default: preconditionFailure("not a float dtype: \(info.dtype)")
            }
        }
    }

    /// The tensor's elements as `Double`, row-major: F64 copied, every other float dtype widened exactly.
    /// - Throws: `SafetensorsError.tensorNotFound`, or `.unsupportedConversion` for integer dtypes.
    public func doubles(_ tensor: String) throws -> [Double] {
        let info = try info(tensor)
        return try withBytes(of: info) { raw in
            let n = info.elementCount
            switch info.dtype {
            case .F64: return Self.copy(raw, count: n, as: Double.self)
            case .F32: return Self.map(raw, count: n, UInt32.self) { Double(Float(bitPattern: $0)) }
            case .F16: return Self.map(raw, count: n, UInt16.self) { Double(HalfFloat.float(fromF16: $0)) }
            case .BF16: return Self.map(raw, count: n, UInt16.self) { Double(HalfFloat.float(fromBF16: $0)) }
            case .F8_E5M2: return Self.map(raw, count: n, UInt8.self) { Double(HalfFloat.float(fromF8E5M2: $0)) }
            case .F8_E4M3: return Self.map(raw, count: n, UInt8.self) { Double(HalfFloat.float(fromF8E4M3: $0)) }
            default: throw unsupported(info, "Double")
            }
        }
    }

    /// Lends an F32 tensor's elements for the duration of `body`, without copying when possible.
    ///
    /// Zero-copy when the tensor is F32 and its bytes are 4-byte aligned in memory, which holds for
    /// every file whose header length is a multiple of 8 (all files written by the Python/Rust
    /// library and by `SafetensorsWriter`) when its data offsets are multiples of 4. Otherwise (an
    /// unaligned F32 tensor, or another float dtype) the elements are first copied/converted as by
    /// `floats(_:)` into a temporary array, which `body` sees instead. The pointer must not
    /// escape `body`.
    /// - Throws: `SafetensorsError.tensorNotFound`, `.unsupportedConversion`, or what `body` throws.
    /// - Complexity: O(1) in the zero-copy case, else O(n).
    public func withFloats<R>(_ tensor: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let info = try info(tensor)
        if info.dtype == .F32 {
            guard info.elementCount > 0 else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            let lent: R? = try withBytes(of: info) { raw in
                guard let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
                return try raw.withMemoryRebound(to: Float.self) { try body($0) }
            }
            if let lent { return lent }
        }
        let copy = try floats(tensor)
        return try copy.withUnsafeBufferPointer { try body($0) }
    }

    // MARK: Integers

    /// The tensor's elements as `Int64`, row-major: I64 copied; BOOL (0/1), I8, U8, I16, U16,
    /// I32 and U32 widened; U64 accepted if every element is at most `Int64.max`.
    /// - Throws: `SafetensorsError.tensorNotFound`, `.unsupportedConversion` for float dtypes,
    ///   or `.valueOutOfRange` naming the first U64 element that does not fit.
    public func int64s(_ tensor: String) throws -> [Int64] {
        let info = try info(tensor)
        return try withBytes(of: info) { raw in
            let n = info.elementCount
            switch info.dtype {
            case .I64: return Self.copy(raw, count: n, as: Int64.self)
            case .I32: return Self.map(raw, count: n, Int32.self) { Int64($0) }
            case .U32: return Self.map(raw, count: n, UInt32.self) { Int64($0) }
            case .I16: return Self.map(raw, count: n, Int16.self) { Int64($0) }
            case .U16: return Self.map(raw, count: n, UInt16.self) { Int64($0) }
            case .I8: return Self.map(raw, count: n, Int8.self) { Int64($0) }
            case .U8: return Self.map(raw, count: n, UInt8.self) { Int64($0) }
            case .BOOL: return Self.map(raw, count: n, UInt8.self) { $0 == 0 ? 0 : 1 }
            case .U64:
                try checkRange(info, raw, UInt64.self, target: "Int64") { $0 <= UInt64(Int64.max) }
                return Self.map(raw, count: n, UInt64.self) { Int64($0) }
            default: throw unsupported(info, "Int64")
            }
        }
    }

    /// The tensor's elements as `Int32`, row-major: I32 copied; BOOL (0/1), I8, U8, I16 and U16
    /// widened; I64, U32 and U64 accepted if every element fits in `Int32`.
    /// - Throws: `SafetensorsError.tensorNotFound`, `.unsupportedConversion` for float dtypes,
    ///   or `.valueOutOfRange` naming the first element that does not fit.
    public func int32s(_ tensor: String) throws -> [Int32] {
        let info = try info(tensor)
        return try withBytes(of: info) { raw in
            let n = info.elementCount
            switch info.dtype {
            case .I32: return Self.copy(raw, count: n, as: Int32.self)
            case .I16: return Self.map(raw, count: n, Int16.self) { Int32($0) }
            case .U16: return Self.map(raw, count: n, UInt16.self) { Int32($0) }
            case .I8: return Self.map(raw, count: n, Int8.self) { Int32($0) }
            case .U8: return Self.map(raw, count: n, UInt8.self) { Int32($0) }
            case .BOOL: return Self.map(raw, count: n, UInt8.self) { $0 == 0 ? 0 : 1 }
            case .I64:
                try checkRange(info, raw, Int64.self, target: "Int32") { Int32(exactly: $0) != nil }
                return Self.map(raw, count: n, Int64.self) { Int32(truncatingIfNeeded: $0) }
            case .U32:
                try checkRange(info, raw, UInt32.self, target: "Int32") { Int32(exactly: $0) != nil }
                return Self.map(raw, count: n, UInt32.self) { Int32(truncatingIfNeeded: $0) }
            case .U64:
                try checkRange(info, raw, UInt64.self, target: "Int32") { Int32(exactly: $0) != nil }
                return Self.map(raw, count: n, UInt64.self) { Int32(truncatingIfNeeded: $0) }
            default: throw unsupported(info, "Int32")
            }
        }
    }

    // MARK: Helpers

    private func unsupported(_ info: TensorInfo, _ target: String) -> SafetensorsError {
        .unsupportedConversion(file: name, tensor: info.name, dtype: info.dtype, target: target)
    }

    private func checkRange<Source: FixedWidthInteger>(
        _ info: TensorInfo, _ raw: UnsafeRawBufferPointer, _: Source.Type, target: String, _ fits: (Source) -> Bool
    ) throws {
        for i in 0 ..< info.elementCount {
            let value = Source(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Source>.size, as: Source.self))
            if !fits(value) {
                throw SafetensorsError.valueOutOfRange(file: name, tensor: info.name, index: i, value: String(value), target: target)
            }
        }
    }

    /// `count` elements of `T` copied bytewise out of `raw` (any alignment).
    static func copy<T>(_ raw: UnsafeRawBufferPointer, count: Int, as _: T.Type) -> [T] {
        precondition(raw.count == count * MemoryLayout<T>.stride)
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: raw) }
            initialized = count
        }
    }

    /// `count` little-endian `Source` elements of `raw` (any alignment), each transformed.
    @inline(__always)
    static func map<Source: FixedWidthInteger, T>(
        _ raw: UnsafeRawBufferPointer, count: Int, _: Source.Type, _ transform: (Source) -> T
    ) -> [T] {
        [T](unsafeUninitializedCapacity: count) { out, initialized in
            convert(raw, into: out, Source.self, transform)
            initialized = count
        }
    }

    /// Fills `out` with the little-endian `Source` elements of `raw` (any alignment), transformed.
    @inline(__always)
    static func convert<Source: FixedWidthInteger, T>(
        _ raw: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<T>, _: Source.Type, _ transform: (Source) -> T
    ) {
        precondition(raw.count == out.count * MemoryLayout<Source>.size)
        guard let base = out.baseAddress else { return }
        for i in 0 ..< out.count {
            let bits = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Source>.size, as: Source.self)
            (base + i).initialize(to: transform(Source(littleEndian: bits)))
        }
    }
}
