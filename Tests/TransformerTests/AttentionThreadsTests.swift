import Foundation
import Linalg
import Testing
@testable import Transformer

/// Attention runs its (sequence, head) pairs, and its backward its key/value groups, on several
/// threads: the bytes must not depend on how many, and must be those of the plain formula.
@Suite("Attention on threads")
struct AttentionThreadsTests {
    // 3 sequences of 64 tokens, 4 query heads over 2 key/value heads of 16, the second sequence
    // right-padded after 41 tokens: big enough that the pairs (and the backward's groups) are
    // cut into several tasks.
    static let geometry = AttentionGeometry(batch: 3, queryLength: 64, keyLength: 64, heads: 4, keyValueHeads: 2, headDim: 16,
                                            scale: 1 / 16.0.squareRoot().float, slidingWindow: nil, queryOffset: 0)
    static let keyMask: [Bool] = (0..<3).flatMap { b in (0..<64).map { t in b != 1 || t < 41 } }

    static func qkv(seed: UInt64) -> [Float] {
        var state = seed
        return (0..<(geometry.batch * geometry.queryLength * geometry.fusedWidth)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
    }

    static func forward(_ x: [Float], keep: Bool) -> (output: [Float], probabilities: [Float]?) {
        let g = geometry, ld = g.fusedWidth
        var output = Matrix<Float>(rows: 0, cols: 0)
        var probabilities: [Float]? = keep ? [] : nil
        ScaledDotProductAttention.forward(q: StridedMatrix(array: x, offset: 0, ld: ld),
                                          k: StridedMatrix(array: x, offset: g.keyColumn, ld: ld),
                                          v: StridedMatrix(array: x, offset: g.valueColumn, ld: ld),
                                          keyMask: keyMask, geometry: g, into: &output, probabilities: &probabilities)
        return (output.elements, probabilities)
    }

    @Test func theBytesDoNotDependOnTheThreadCount() {
        let x = Self.qkv(seed: 3)
        let g = Self.geometry
        let dOutput = Matrix<Float>(rows: g.batch * g.queryLength, cols: g.queryWidth, elements: Array(Self.qkv(seed: 5).prefix(g.batch * g.queryLength * g.queryWidth)))
        func run() -> ([Float], [Float], [Float], [Float]) {
            let plain = Self.forward(x, keep: false).output
            let (kept, probabilities) = Self.forward(x, keep: true)
            var dqkv: [Float] = []
            ScaledDotProductAttention.backward(dOutput: dOutput, qkv: x, probabilities: probabilities!, geometry: g, into: &dqkv)
            return (plain, kept, probabilities!, dqkv)
        }
        let one = Linalg.withThreadCount(1, run)
        let three = Linalg.withThreadCount(3, run)
        #expect(one.0 == one.1, "keeping the probabilities changes the output")
        #expect(one.0 == three.0 && one.1 == three.1 && one.2 == three.2 && one.3 == three.3)
    }

    @Test func theOutputIsSoftmaxAttention() {
        let x = Self.qkv(seed: 11)
        let g = Self.geometry, ld = g.fusedWidth, hd = g.headDim
        let output = Linalg.withThreadCount(2) { Self.forward(x, keep: false).output }
        var worst = 0.0
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let kvh = h / g.headsPerKeyValueHead
                for i in 0..<g.queryLength {
                    let visible = (0...i).filter { Self.keyMask[b * g.keyLength + $0] }
                    let scores = visible.map { j -> Double in
                        (0..<hd).reduce(0.0) { s, c in
                            s + Double(x[(b * g.queryLength + i) * ld + h * hd + c]) * Double(x[(b * g.keyLength + j) * ld + g.keyColumn + kvh * hd + c])
                        } * Double(g.scale)
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for c in 0..<hd {
                        var expected = 0.0
                        for (w, j) in zip(weights, visible) { expected += w / total * Double(x[(b * g.keyLength + j) * ld + g.valueColumn + kvh * hd + c]) }
                        worst = max(worst, abs(expected - Double(output[(b * g.queryLength + i) * g.queryWidth + h * hd + c])))
                    }
                }
            }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }
}

private extension Double {
    var float: Float { Float(self) }
}
