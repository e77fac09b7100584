import Foundation
import Testing
import Transformer

/// Write then read: every bit of F32/F16/BF16 (NaN payloads, ±inf, subnormals, ±0), I64,
/// metadata and awkward names survive.
@Suite struct SafetensorsRoundTripTests {
    /// Float32 values that stress every corner of the format.
    static let specialFloats: [Float] = [
        0.0, -0.0, 1, -1, .pi, -.pi, .infinity, -.infinity,
        .nan, -.nan, .signalingNaN, Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001),
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Float(bitPattern: 0x007F_FFFF),
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 65504, 65520, 1e-8, 5.96e-8, 6.1e-5, 3.0e38,
    ]

    /// Bit for bit, except that a NaN need only stay a NaN of the same sign: widening to Double
    /// quiets a signalling NaN, and an optimised build may fold the test's own round trip away.
    static func sameOrBothNaN(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.isNaN || y.isNaN ? x.isNaN && y.isNaN && x.sign == y.sign : x.bitPattern == y.bitPattern
        }
    }

    static func roundTrip(_ writer: SafetensorsWriter) throws -> SafetensorsFile {
        try SafetensorsFile(bytes: writer.serialized(), name: "roundtrip.safetensors")
    }

    @Test func float32IsBitExact() throws {
        var writer = SafetensorsWriter()
        let values = Self.specialFloats
        try writer.add(name: "x", floats: values, shape: [values.count])
        let file = try Self.roundTrip(writer)
        #expect(SafetensorsTestSupport.bits(try file.floats("x")) == SafetensorsTestSupport.bits(values))
        #expect(try file.withFloats("x") { SafetensorsTestSupport.bits(Array($0)) } == SafetensorsTestSupport.bits(values))
        #expect(Self.sameOrBothNaN(try file.doubles("x").map { Float($0) }, values))
        #expect(try file.rawBytes("x") == SafetensorsTestSupport.bytes(values))
    }

    /// Every one of the 65 536 half-precision bit patterns: stored, read as Float, written back.
    @Test(arguments: [DType.F16, .BF16])
    func everyHalfBitPatternSurvives(dtype: DType) throws {
        let patterns = (0 ... UInt16.max).map { $0 }
        var writer = SafetensorsWriter()
        try writer.add(name: "h", dtype: dtype, shape: [256, 256], bytes: SafetensorsTestSupport.bytes(patterns))
        let file = try Self.roundTrip(writer)
        let floats = try file.floats("h")
        // Widening is exact, so narrowing the Floats again gives back every pattern, NaNs included.
        var again = SafetensorsWriter()
        try again.add(name: "h", floats: floats, shape: [256, 256], as: dtype)
        #expect(try Self.roundTrip(again).rawBytes("h") == SafetensorsTestSupport.bytes(patterns))
        // doubles widen the same way.
        #expect(Self.sameOrBothNaN(try file.doubles("h").map { Float($0) }, floats))
        // And withFloats converts into a temporary buffer for half dtypes.
        #expect(try file.withFloats("h") { SafetensorsTestSupport.bits(Array($0)) } == SafetensorsTestSupport.bits(floats))
    }

    @Test func specialFloatsRoundThroughHalfAsExpected() throws {
        var writer = SafetensorsWriter()
        let values = Self.specialFloats
        try writer.add(name: "f16", floats: values, shape: [values.count], as: .F16)
        try writer.add(name: "bf16", floats: values, shape: [values.count], as: .BF16)
        try writer.add(name: "f64", floats: values, shape: [values.count], as: .F64)
        let file = try Self.roundTrip(writer)
        let f16 = try file.floats("f16"), bf16 = try file.floats("bf16"), f64 = try file.floats("f64")
        for (i, value) in values.enumerated() {
            #expect(f16[i].isNaN == value.isNaN && bf16[i].isNaN == value.isNaN && f64[i].isNaN == value.isNaN)
            if value.isNaN {
                #expect(f16[i].sign == value.sign && bf16[i].sign == value.sign)
                continue
            }
            #expect(f64[i].bitPattern == value.bitPattern)
            #expect(f16[i].bitPattern == Float(Float16(value)).bitPattern, "f16 of \(value)")
            #expect(bf16[i].sign == value.sign)
        }
        #expect(f16[19] == 65504 && f16[20] == .infinity)   // 65520 rounds up to inf, as in IEEE
        #expect(f16[1].sign == .minus && f16[1] == 0)
    }

    @Test func int64AndOtherIntegersRoundTrip() throws {
        let values: [Int64] = [0, 1, -1, .max, .min, 1 << 53 + 1, -(1 << 40), 42]
        var writer = SafetensorsWriter()
        try writer.add(name: "ids", int64s: values, shape: [2, 4])
        try writer.add(name: "i32", dtype: .I32, shape: [3], bytes: SafetensorsTestSupport.bytes([Int32.min, -7, .max]))
        try writer.add(name: "u8", dtype: .U8, shape: [3], bytes: [0, 200, 255])
        try writer.add(name: "bool", dtype: .BOOL, shape: [3], bytes: [0, 1, 1])
        try writer.add(name: "u64", dtype: .U64, shape: [2], bytes: SafetensorsTestSupport.bytes([UInt64(5), .max]))
        let file = try Self.roundTrip(writer)
        #expect(try file.int64s("ids") == values)
        #expect(try file.info("ids").shape == [2, 4])
        #expect(try file.int64s("i32") == [Int64(Int32.min), -7, Int64(Int32.max)])
        #expect(try file.int32s("i32") == [.min, -7, .max])
        #expect(try file.int64s("u8") == [0, 200, 255])
        #expect(try file.int32s("bool") == [0, 1, 1])
        // Narrowing is checked: the error names the first element that does not fit.
        let narrow = #expect(throws: SafetensorsError.self) { try file.int32s("ids") }
        #expect(narrow == .valueOutOfRange(file: "roundtrip.safetensors", tensor: "ids", index: 3, value: "9223372036854775807", target: "Int32"))
        let u64 = #expect(throws: SafetensorsError.self) { try file.int64s("u64") }
        #expect(u64 == .valueOutOfRange(file: "roundtrip.safetensors", tensor: "u64", index: 1, value: "18446744073709551615", target: "Int64"))
        #expect(try file.int32s(["ids", "i32"][1]) == [.min, -7, .max])
    }

    @Test func metadataAndAwkwardNamesRoundTrip() throws {
        let metadata = ["format": "pt", "ünïcödé 東京 🙂": "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F}", "": ""]
        var writer = SafetensorsWriter(metadata: metadata)
        let names = ["", "a.b", "with \"quotes\"", "back\\slash", "new\nline", "🙂", "\u{1}", "Ω"]
        for (i, name) in names.enumerated() { try writer.add(name: name, floats: [Float(i)], shape: []) }
        let file = try Self.roundTrip(writer)
        #expect(file.metadata == metadata)
        #expect(Set(file.tensorNames) == Set(names))
        for (i, name) in names.enumerated() {
            #expect(try file.floats(name) == [Float(i)])
            #expect(try file.info(name).shape == [])
        }
        // No metadata: no "__metadata__" key at all, as the Python library writes.
        var plain = SafetensorsWriter()
        try plain.add(name: "x", floats: [1], shape: [1])
        #expect(!String(decoding: plain.serialized(), as: UTF8.self).contains("__metadata__"))
        #expect(try Self.roundTrip(plain).metadata == [:])
    }

    @Test func layoutIsAlignedAndEmptyTensorsAreAllowed() throws {
        var writer = SafetensorsWriter()
        try writer.add(name: "odd", dtype: .U8, shape: [3], bytes: [1, 2, 3])
        try writer.add(name: "empty", floats: [], shape: [0, 7])
        try writer.add(name: "scalar", floats: [2.5], shape: [])
        try writer.add(name: "f64", floats: [1, 2], shape: [2], as: .F64)
        try writer.add(name: "bf", floats: [1, 2, 3], shape: [3], as: .BF16)
        let bytes = writer.serialized()
        let file = try SafetensorsFile(bytes: bytes, name: "layout")
        #expect(file.dataSectionOffset % 8 == 0)
        // Widest dtype first, then by name: F64, F32 (empty, scalar), BF16, U8.
        #expect(file.tensorNames == ["f64", "empty", "scalar", "bf", "odd"])
        #expect(try file.floats("empty") == [])
        #expect(try file.withFloats("empty") { $0.count } == 0)
        #expect(try file.floats("scalar") == [2.5])
        #expect(try file.int64s("odd") == [1, 2, 3])
        #expect(file.fileSize == bytes.count && writer.fileByteCount == bytes.count)
        // withFloats lends the mapping itself for aligned F32.
        let lent = try file.withFloats("scalar") { UnsafeRawPointer($0.baseAddress!) }
        let raw = try file.withRawBytes("scalar") { $0.baseAddress! }
        #expect(lent == raw)
    }

    @Test func floatsIntoABufferConvertsLikeFloats() throws {
        var writer = SafetensorsWriter()
        let values: [Float] = [1, -2.5, 3e-5, 70_000, .nan]
        for dtype in [DType.F32, .F16, .BF16, .F64] {
            try writer.add(name: dtype.rawValue, floats: values, shape: [5], as: dtype)
        }
        try writer.add(name: "ids", int64s: [1], shape: [1])
        let file = try Self.roundTrip(writer)
        var buffer = [Float](repeating: 0, count: 7)
        for dtype in [DType.F32, .F16, .BF16, .F64] {
            try buffer.withUnsafeMutableBufferPointer { try file.floats(dtype.rawValue, into: .init(rebasing: $0[1 ..< 6])) }
            #expect(SafetensorsTestSupport.bits(Array(buffer[1 ..< 6])) == SafetensorsTestSupport.bits(try file.floats(dtype.rawValue)))
            #expect(buffer[0] == 0 && buffer[6] == 0)
        }
        #expect(throws: SafetensorsError.self) {
            try buffer.withUnsafeMutableBufferPointer { try file.floats("ids", into: .init(rebasing: $0[0 ..< 1])) }
        }
    }

    @Test func writerRejectsBadInput() throws {
        var writer = SafetensorsWriter()
        try writer.add(name: "x", floats: [1, 2], shape: [2])
        #expect(throws: SafetensorsError.invalidTensorName(tensor: "x", reason: "a tensor of this name was already added")) {
            try writer.add(name: "x", floats: [1, 2], shape: [2])
        }
        #expect(throws: SafetensorsError.self) { try writer.add(name: "__metadata__", floats: [1], shape: [1]) }
        #expect(throws: SafetensorsError.dataDoesNotMatchShape(tensor: "y", dtype: .F32, shape: [3], byteCount: 8)) {
            try writer.add(name: "y", floats: [1, 2], shape: [3])
        }
        #expect(throws: SafetensorsError.self) { try writer.add(name: "y", floats: [], shape: [-1]) }
        #expect(throws: SafetensorsError.unsupportedWriteDType(tensor: "y", dtype: .I32)) {
            try writer.add(name: "y", floats: [1], shape: [1], as: .I32)
        }
        #expect(throws: SafetensorsError.self) { try writer.add(name: "y", dtype: .F16, shape: [2], bytes: [0, 0, 0]) }
        let error = SafetensorsError.dataDoesNotMatchShape(tensor: "y", dtype: .F32, shape: [3], byteCount: 8)
        #expect(error.description == "tensor \"y\": 8 bytes given, but F32 [3] needs 4 × product([3]) = 12")
        #expect(writer.tensorNames == ["x"])
        #expect(writer.remove("x") && !writer.remove("x"))
    }
}

/// The f16/bf16/f8 conversions against independent references.
@Suite struct SafetensorsHalfFloatTests {
    @Test func f16WideningMatchesFloat16() {
        for bits in 0 ... UInt16.max {
            let ours = HalfFloat.float(fromF16: bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                #expect(ours.isNaN && ours.sign == reference.sign)
            } else if ours.bitPattern != reference.bitPattern {
                Issue.record("f16 0x\(String(bits, radix: 16)): \(ours) != \(reference)")
            }
            #expect(HalfFloat.f16Bits(from: ours) == bits)
        }
    }

    @Test func f16NarrowingMatchesFloat16() {
        var random = SafetensorsRandom(seed: 16)
        var inputs: [Float] = [65504, 65519.996, 65520, 0x1p-24, 0x1p-25, 0x1.000002p-25, 0x1.8p-24, 0x1p-14, 0x1.ffcp-15, 1.00048828125]
        for _ in 0 ..< 100_000 { inputs.append(Float(bitPattern: UInt32.random(in: 0 ... .max, using: &random))) }
        for _ in 0 ..< 100_000 { inputs.append(Float.random(in: -70_000 ... 70_000, using: &random) * (Bool.random(using: &random) ? 1 : 1e-6)) }
        for value in inputs where !value.isNaN {
            let ours = HalfFloat.f16Bits(from: value)
            let reference = Float16(value).bitPattern
            if ours != reference { Issue.record("f16 of \(value) (0x\(String(value.bitPattern, radix: 16))): 0x\(String(ours, radix: 16)) != 0x\(String(reference, radix: 16))") }
        }
        #expect(HalfFloat.float(fromF16: HalfFloat.f16Bits(from: .nan)).isNaN)
        #expect(HalfFloat.float(fromF16: HalfFloat.f16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)   // payload below f16 precision
    }

    /// bf16 narrowing against a reference that picks the nearer neighbour in Double, ties to even.
    @Test func bf16NarrowingIsRoundToNearestEven() {
        var random = SafetensorsRandom(seed: 17)
        var inputs: [Float] = [Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x7F7F_FFFF), 1, -1, 0]
        for _ in 0 ..< 200_000 { inputs.append(Float(bitPattern: UInt32.random(in: 0 ... .max, using: &random))) }
        for value in inputs where !value.isNaN {
            let down = UInt16(value.bitPattern >> 16)
            let up = down &+ 1
            let d = Double(value)
            let lowValue = Double(HalfFloat.float(fromBF16: down))
            let highValue = Double(HalfFloat.float(fromBF16: up))
            let expected: UInt16
            if value.isInfinite || value.bitPattern & 0xFFFF == 0 {
                expected = down
            } else if highValue.isInfinite {
                // Past the largest finite bf16: round-to-nearest-even decides at the halfway point.
                expected = value.bitPattern & 0xFFFF > 0x8000 || (value.bitPattern & 0xFFFF == 0x8000 && down & 1 == 1) ? up : down
            } else {
                let (a, b) = (abs(d - lowValue), abs(highValue - d))
                expected = a < b ? down : b < a ? up : (down & 1 == 0 ? down : up)
            }
            if HalfFloat.bf16Bits(from: value) != expected { Issue.record("bf16 of 0x\(String(value.bitPattern, radix: 16))") }
        }
        #expect(HalfFloat.bf16Bits(from: Float(bitPattern: 0x3F80_8000)) == 0x3F80)   // tie to even
        #expect(HalfFloat.bf16Bits(from: Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(HalfFloat.bf16Bits(from: .greatestFiniteMagnitude) == 0x7F80)         // rounds to +inf
        #expect(HalfFloat.float(fromBF16: HalfFloat.bf16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    @Test func float8Widening() {
        #expect(HalfFloat.float(fromF8E4M3: 0x38) == 1)
        #expect(HalfFloat.float(fromF8E4M3: 0x7E) == 448)
        #expect(HalfFloat.float(fromF8E4M3: 0xFE) == -448)
        #expect(HalfFloat.float(fromF8E4M3: 0x01) == 0x1p-9)
        #expect(HalfFloat.float(fromF8E4M3: 0x7F).isNaN && HalfFloat.float(fromF8E4M3: 0xFF).isNaN)
        #expect(HalfFloat.float(fromF8E4M3: 0x80).bitPattern == (-0.0 as Float).bitPattern)
        #expect(HalfFloat.float(fromF8E5M2: 0x3C) == 1)
        #expect(HalfFloat.float(fromF8E5M2: 0x7C) == .infinity)
        #expect(HalfFloat.float(fromF8E5M2: 0x7B) == 57344)
        #expect(HalfFloat.float(fromF8E5M2: 0x01) == 0x1p-16)
        // Every e4m3 value is k × 2^e exactly as the format defines.
        for bits in UInt8(0) ... 0x7E {
            let e = Int(bits >> 3), m = Float(bits & 7)
            let expected = e == 0 ? m * 0x1p-9 : (1 + m / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
            #expect(HalfFloat.float(fromF8E4M3: bits) == expected)
        }
    }
}
