import Foundation

/// 16-lane float32 kernels for the element-wise layers: exp, the sigmoid-based activations,
/// sums and dot products.
///
/// The package builds for baseline x86-64, so a `SIMD16<Float>` is four SSE registers; these
/// loops still run several times faster than per-element calls into libm (`tanhf`, `expf`).
/// Results differ from libm by a few ulp (exp's relative error is below 2e-7 on [-87, 88]) and
/// sums are taken in 16 partial sums, so reductions are not bit-identical to a sequential loop.
///
/// Pointers passed here come from `withUnsafe…BufferPointer` closures of the caller and are
/// used only during the call.
enum VectorMath {
    typealias Vector = SIMD16<Float>
    static let lanes = 16

    // MARK: Loads and stores

    /// Elements `i ..< i + 16` of `p`, zero-padded past `count`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ count: Int) -> Vector {
        if count - i >= lanes { return UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self) }
        var v = Vector()
        for l in 0..<(count - i) { v[l] = p[i + l] }
        return v
    }

    /// Writes the lanes of `v` to elements `i ..< min(i + 16, count)` of `p`.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ count: Int) {
        if count - i >= lanes {
            UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Vector.self)
            return
        }
        for l in 0..<(count - i) { p[i + l] = v[l] }
    }

    /// Calls `body(i, end)` for i = start, start + 16, … < end over the chunks of `0..<count`,
    /// chunks in parallel (`Parallel.forEachChunk`); `end` bounds the last, partial vector.
    @inline(__always)
    static func forEachVector(_ count: Int, _ body: (_ i: Int, _ end: Int) -> Void) {
        Parallel.forEachChunk(count, chunk: Parallel.elementChunk) { _, range in
            var i = range.lowerBound
            while i < range.upperBound {
                body(i, range.upperBound)
                i += lanes
            }
        }
    }

    // MARK: Functions

    /// eˣ lane-wise (Cephes `expf`: n = round(x·log₂e), a degree-6 polynomial of the remainder,
    /// scaled by 2ⁿ through the exponent bits). Exactly 0 for x < −87 (also −∞); clamped to
    /// e⁸⁸ above 88.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        // Comparisons and `replacing` compile to vector compares and blends; `clamped`,
        // `pointwiseMin/Max` and `min()/max()` go lane by lane (they order NaNs), so avoid them.
        var clamped = x.replacing(with: -87, where: x .< -87)
        clamped.replace(with: 88, where: clamped .> 88)
        let roundingMagic = Vector(repeating: 12_582_912)        // 1.5·2²³: adding it rounds to an integer
        let n = (clamped * 1.442_695_040_888_963_4 + roundingMagic) - roundingMagic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        let r2 = r * r
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * r2 + r + 1
        // 2ⁿ: n + 127 + 2²³ has the bits 0x4B00_0000 + (n + 127); shift them into the exponent.
        let biased = unsafeBitCast(n + 8_388_735, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((biased &- 0x4B00_0000) &<< 23, to: Vector.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -87)
        return result
    }

    /// σ(x) = 1 / (1 + e⁻ˣ) lane-wise.
    @inline(__always)
    static func sigmoid(_ x: Vector) -> Vector {
        1 / (1 + exp(-x))
    }

    /// The lane sum of `v` in a fixed order.
    @inline(__always)
    static func horizontalSum(_ v: Vector) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    // MARK: Reductions

    /// Σ p[i] for i in 0..<count.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i < count {
            acc += load(p, i, count)
            i += lanes
        }
        return horizontalSum(acc)
    }

    /// Σ (p[i] − shift)² for i in 0..<count.
    @inline(__always)
    static func sumOfSquares(_ p: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
        var acc = Vector()
        let s = Vector(repeating: shift)
        var i = 0
        while i + lanes <= count {
            let v = load(p, i, count) - s
            acc += v * v
            i += lanes
        }
        var tail: Float = 0
        while i < count {
            let v = p[i] - shift
            tail += v * v
            i += 1
        }
        return horizontalSum(acc) + tail
    }

    /// Σ a[i]·b[i] for i in 0..<count.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i < count {
            acc += load(a, i, count) * load(b, i, count)
            i += lanes
        }
        return horizontalSum(acc)
    }

    /// max over p[i] for i in 0..<count (−∞ for count 0).
    @inline(__always)
    static func maximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector(repeating: -.infinity)
        var i = 0
        while i + lanes <= count {
            let v = load(p, i, count)
            acc.replace(with: v, where: v .> acc)
            i += lanes
        }
        var result = -Float.infinity
        for l in 0..<lanes where acc[l] > result { result = acc[l] }
        while i < count {
            result = Swift.max(result, p[i])
            i += 1
        }
        return result
    }

    /// p[i] = e^(p[i] − shift) for i in 0..<count; returns their sum.
    @inline(__always)
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var acc = Vector()
        let s = Vector(repeating: shift)
        var i = 0
        while i < count {
            var e = exp(load(p, i, count) - s)
            if count - i < lanes {
                e.replace(with: 0, where: Vector.indices .>= SIMD16<Int32>(repeating: Int32(count - i)))
            }
            store(e, p, i, count)
            acc += e
            i += lanes
        }
        return horizontalSum(acc)
    }

    /// p[i] *= factor for i in 0..<count.
    @inline(__always)
    static func scale(_ p: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        var i = 0
        while i < count {
            store(load(p, i, count) * factor, p, i, count)
            i += lanes
        }
    }
}

extension SIMD16 where Scalar == Float {
    /// The lane numbers 0…15, for tail masks.
    @inline(__always)
    static var indices: SIMD16<Int32> {
        SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    }
}
