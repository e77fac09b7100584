import Foundation
import Linalg

/// The closed-form weight updates, in key-major form Δ `[d0, d1]` (added to W̃; spec §7–8).
public enum WeightUpdate {
    /// AlphaEdit: Δ = (P·(K·Kᵀ + C) + L2·I)⁻¹ · (P·K)·Rᵀ.
    ///
    /// The official code solves this in float32 with a general LU; alphaedit forms the system and
    /// solves it by LU in float64, then rounds Δ to float32 (the result is the exact solution of the
    /// same system; float32 rounding of the official solve sits near 1e-5 relative).
    /// - Parameters:
    ///   - keys: K `[d0, N]`.
    ///   - residuals: R `[d1, N]`.
    ///   - projector: P `[d0, d0]`.
    ///   - cache: C `[d0, d0]`, keys of earlier batches (Σ K Kᵀ).
    ///   - projectedCache: P·C in float64 if already computed (``projectedCache(projector:cache:)``:
    ///     an owner computes it before the batch's layers, off their sequential path).
    /// - Complexity: O(d0³) for the LU solve; O(d0²·N) for the rest once P·C is known. Without a
    ///   cache and from d0 = ``pushThroughOrder``: O(d0²·N + d0·N·d1 + N³), an N × N system
    ///   (the same Δ up to float64 rounding). With a cache from that width, the LU solves for
    ///   A⁻¹·(P·K), N right-hand sides, and multiplies by Rᵀ after (when N < d1).
    public static func alphaEdit(keys: Matrix<Float>, residuals: Matrix<Float>, projector: Matrix<Float>,
                                 cache: Matrix<Float>, l2: Double, projectedCache: Matrix<Double>?? = .none) throws -> Matrix<Float> {
        let k = Matrix<Double>(keys), r = Matrix<Double>(residuals), p = Matrix<Double>(projector)
        let d0 = k.rows, n = k.cols
        let pk = matmul(p, k)                          // P·K [d0, N]
        let pc = projectedCache ?? (isZero(cache) ? nil : matmul(p, Matrix<Double>(cache)))
        if pc == nil, d0 >= pushThroughOrder, n < d0 {
            // No cache (a first batch, a one-off edit): (P·K·Kᵀ + L2·I)⁻¹·(P·K) = (P·K)·(Kᵀ·P·K + L2·I)⁻¹
            // (push-through identity), so an N × N system replaces the d0 × d0 one.
            var small = matmul(k, pk, transposeA: true)   // Kᵀ·P·K [N, N]
            for i in 0..<n { small.elements[i * n + i] += l2 }
            let y = try solve(small, r.transposed())      // [N, d1]
            return Matrix<Float>(matmul(pk, y))
        }
        // P·(K·Kᵀ + C) = (P·K)·Kᵀ + P·C: the batch's part costs d0²·N, P·C is fixed for the batch.
        var a = matmul(pk, k, transposeB: true)
        if let pc { a += pc }
        for i in 0..<d0 { a.elements[i * d0 + i] += l2 }
        if d0 >= pushThroughOrder, n < r.rows {
            // A⁻¹·((P·K)·Rᵀ) = (A⁻¹·(P·K))·Rᵀ: N right-hand sides instead of d1 (d0 4096, N 100,
            // d1 1024: 2·d0²·N + 2·d0·N·d1 flops after the LU instead of 2·d0²·d1 + 2·d0·N·d1).
            let y = try solve(consume a, pk)           // A⁻¹·(P·K) [d0, N]
            return Matrix<Float>(matmul(y, r, transposeB: true))
        }
        let b = matmul(pk, r, transposeB: true)        // (P·K)·Rᵀ
        return Matrix<Float>(try solve(consume a, b))
    }

    /// From this key width on, a batch without a cache solves the N × N system of the push-through
    /// identity instead of the d0 × d0 one: (2/3)·d0³ + 2·d0²·d1 flops become 2·d0·N² + N³ +
    /// 2·d0·N·d1 (d0 4096, N 100, d1 1024: 2.2 s → 0.1 s per layer), and a batch with a cache
    /// solves its d0 × d0 system for N right-hand sides rather than d1. Below it these solves cost
    /// little, and their bytes (those of the shipped model's committed results) stay as they are.
    public static let pushThroughOrder = 2048

    /// P·C in float64, or nil when the cache is zero (the first batch).
    public static func projectedCache(projector: Matrix<Float>, cache: Matrix<Float>) -> Matrix<Double>? {
        isZero(cache) ? nil : matmul(Matrix<Double>(projector), Matrix<Double>(cache))
    }

    private static func isZero(_ cache: Matrix<Float>) -> Bool { !cache.elements.contains { $0 != 0 } }

    /// MEMIT: Δ = (λ·C0 + K·Kᵀ)⁻¹ · K · Rᵀ, in float64 as the official code, rounded to float32.
    /// With `cache` (MEMIT_seq), C is added to the system matrix.
    public static func memit(keys: Matrix<Float>, residuals: Matrix<Float>, secondMoment: Matrix<Double>,
                             updateWeight lambda: Double, cache: Matrix<Float>? = nil) throws -> (delta: Matrix<Float>, adjustedKeys: Matrix<Double>) {
        let k = Matrix<Double>(keys), r = Matrix<Double>(residuals)
        var a = secondMoment.scaled(by: lambda)
        a += matmul(k, k, transposeB: true)
        if let cache { a += Matrix<Double>(cache) }
        let adjusted = try solve(a, k)                 // adj_k [d0, N]
        return (Matrix<Float>(matmul(adjusted, r, transposeB: true)), adjusted)
    }
}
