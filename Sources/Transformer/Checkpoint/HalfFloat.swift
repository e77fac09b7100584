/// Bit-exact conversions between `Float` and the 16- and 8-bit float formats of safetensors.
///
/// Widening (`f16`, `bf16`, `f8` → `Float`) is exact for every bit pattern: NaN payloads and
/// signs, ±inf, subnormals and ±0 are kept. Narrowing (`Float` → `f16`/`bf16`) rounds to
/// nearest, ties to even, as PyTorch's `tensor.to(torch.float16 / torch.bfloat16)` does; values
/// beyond the format's range become ±inf, and NaN stays NaN with its sign and top payload bits
/// (PyTorch instead returns one canonical NaN; weights never hold NaN, so files still match).
/// Written with integer operations only, so results do not depend on the host's `Float16` support.
public enum HalfFloat {
    // MARK: IEEE binary16 (F16)

    /// The `Float` equal to the IEEE half-precision value `bits`. Exact.
    @inlinable
    public static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal half: normalise into a Float, whose range covers it exactly.
            var biased: UInt32 = 127 - 15 + 1
            while mantissa & 0x0400 == 0 {
                mantissa <<= 1
                biased -= 1
            }
            return Float(bitPattern: sign | (biased << 23) | ((mantissa & 0x03FF) << 13))
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
        }
    }

    /// `value` rounded to IEEE half precision (nearest, ties to even); the result's bit pattern.
    @inlinable
    public static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            // NaN: keep the top 10 payload bits (so f16 → Float → f16 is the identity); if they
            // are all zero, set the quiet bit so that the result is not infinity.
            let payload = UInt16(truncatingIfNeeded: mantissa >> 13)
            return sign | 0x7C00 | (payload == 0 ? 0x0200 : payload)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }   // overflow before rounding
        if halfExponent <= 0 {
            // Result is subnormal (or rounds up to the smallest normal, or to zero).
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x0080_0000
            let shift = UInt32(14 - halfExponent)
            var result = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let half: UInt32 = 1 << (shift - 1)
            if remainder > half || (remainder == half && result & 1 == 1) { result += 1 }
            return sign | UInt16(truncatingIfNeeded: result)
        }
        var result = (UInt32(halfExponent) << 10) | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) {
            result += 1   // a carry into the exponent is correct, up to 0x7C00 = inf
        }
        return sign | UInt16(truncatingIfNeeded: result)
    }

    // MARK: bfloat16 (BF16)

    /// The `Float` equal to the bfloat16 value `bits` (its top 16 bits). Exact.
    @inlinable
    public static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `value` rounded to bfloat16 (nearest, ties to even); the result's bit pattern.
    @inlinable
    public static func bf16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            // Keep sign and the top 7 payload bits (so bf16 → Float → bf16 is the identity); if
            // they are all zero, set the quiet bit so that the result is not infinity.
            let truncated = UInt16(truncatingIfNeeded: bits >> 16)
            return truncated & 0x007F == 0 ? truncated | 0x0040 : truncated
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    // MARK: 8-bit floats (F8_E5M2, F8_E4M3)

    /// The `Float` equal to the float8 e5m2 value `bits` (the top byte of a binary16). Exact.
    @inlinable
    public static func float(fromF8E5M2 bits: UInt8) -> Float {
        float(fromF16: UInt16(bits) << 8)
    }

    /// The `Float` equal to the float8 e4m3 value `bits`, in the "fn" variant used by
    /// safetensors and PyTorch (`float8_e4m3fn`): bias 7, no infinities, NaN = S.1111.111. Exact.
    @inlinable
    public static func float(fromF8E4M3 bits: UInt8) -> Float {
        let negative = bits & 0x80 != 0
        let exponent = UInt32(bits >> 3) & 0x0F
        let mantissa = UInt32(bits & 0x07)
        let magnitude: Float
        if exponent == 0x0F && mantissa == 0x07 {
            magnitude = .nan
        } else if exponent == 0 {
            magnitude = Float(mantissa) * 0x1p-9
        } else {
            magnitude = Float(bitPattern: ((exponent + 127 - 7) << 23) | (mantissa << 20))
        }
        return negative ? -magnitude : magnitude
    }
}
