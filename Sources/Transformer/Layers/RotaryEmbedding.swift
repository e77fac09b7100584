import Foundation

/// Rotary position embeddings: the angle table and the in-place rotation of query/key heads.
///
/// Two layouts: Llama's rotate-half (dimension i pairs with i + r/2) and GPT-J's interleaved
/// rotate-every-two (dimension 2i pairs with 2i + 1). Only the first `dimensions` of each head
/// rotate (GPT-J's partial `rotary_dim`). Frequencies are computed in float32 as transformers does.
struct RotaryEmbedding: Sendable {
    let dimensions: Int
    let interleaved: Bool
    /// `[dimensions / 2]` inverse frequencies.
    let inverseFrequencies: [Float]

    init(dimensions: Int, theta: Double, interleaved: Bool, scaling: ModelConfig.RopeScaling?) {
        self.dimensions = dimensions
        self.interleaved = interleaved
        let half = dimensions / 2
        var inv = (0..<half).map { i -> Float in
            1 / powf(Float(theta), Float(2 * i) / Float(dimensions))
        }
        switch scaling {
        case nil:
            break
        case .linear(let factor):
            inv = inv.map { $0 / Float(factor) }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / Float(low)
            let highWavelength = Float(original) / Float(high)
            inv = inv.map { f in
                let wavelength = 2 * Float.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / Float(factor) }
                let smooth = (Float(original) / wavelength - Float(low)) / (Float(high) - Float(low))
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
        }
        self.inverseFrequencies = inv
    }

    /// Rotates the heads of `x` in place.
    /// - Parameters:
    ///   - x: row r holds the `heads·headDim` values of token r at `x[offset + r·ld ...]`
    ///     (`ld` defaults to `heads·headDim`: a plain `[N, heads·headDim]` array; q and k are
    ///     column blocks of the fused projection).
    ///   - positions: `[N]` position id of each row.
    ///   - inverse: rotate by −angle (the backward pass: the rotation is orthogonal).
    func apply(to x: inout [Float], rows: Int, heads: Int, headDim: Int, positions: [Int],
               offset: Int = 0, ld: Int? = nil, inverse: Bool = false) {
        let half = dimensions / 2
        let width = heads * headDim
        let ld = ld ?? width
        precondition(ld >= width && (rows == 0 || offset + (rows - 1) * ld + width <= x.count) && positions.count >= rows)
        var cosines = [Float](repeating: 0, count: half)
        var sines = [Float](repeating: 0, count: half)
        x.withUnsafeMutableBufferPointer { xs in
            for r in 0..<rows {
                let position = Float(positions[r])
                for i in 0..<half {
                    let angle = position * inverseFrequencies[i]
                    cosines[i] = cosf(angle)
                    sines[i] = inverse ? -sinf(angle) : sinf(angle)
                }
                for h in 0..<heads {
                    let base = offset + r * ld + h * headDim
                    for i in 0..<half {
                        let a = interleaved ? base + 2 * i : base + i
                        let b = interleaved ? base + 2 * i + 1 : base + i + half
                        let xa = xs[a], xb = xs[b]
                        xs[a] = xa * cosines[i] - xb * sines[i]
                        xs[b] = xb * cosines[i] + xa * sines[i]
                    }
                }
            }
        }
    }
}
