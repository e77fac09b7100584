import Foundation

/// A small, fast, seedable generator (SplitMix64) with Gaussian samples by Box-Muller.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spare: Float?

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal.
    public mutating func nextGaussian() -> Float {
        if let spare {
            self.spare = nil
            return spare
        }
        let u1 = max(nextUniform(), 1e-300), u2 = nextUniform()
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spare = Float(radius * Foundation.sin(2 * Double.pi * u2))
        return Float(radius * Foundation.cos(2 * Double.pi * u2))
    }
}
