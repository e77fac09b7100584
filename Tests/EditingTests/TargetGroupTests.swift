import Foundation
import Linalg
import Testing
@testable import Editing
@testable import Transformer

/// Requests optimised together (one forward and backward pass per step over all their prompts)
/// reach the z each reaches alone, up to float32 summation order.
@Suite struct TargetGroupTests {
    /// Relative to ‖z‖: the products differ only in shape, so z differs only by rounding, which
    /// the 20-odd Adam steps amplify (each step normalises every gradient component).
    /// How much rounding depends on the BLAS kernels, which differ by CPU: OpenBLAS rounds a row
    /// of a product differently at other row counts, in ways that differ by kernel set
    /// (`Benchmarks/tools/sgemm-row-invariance.c`). With prompts packed several to a row
    /// (session 20), on one AVX-512 machine:
    /// - its own kernels (Cooperlake): largest 1.38e-5 (gpt2 request 0, groups of 1, 2 and all),
    ///   then 1.18e-5 (llama request 5); every other request under 1e-5;
    /// - the AVX2 kernels (`OPENBLAS_CORETYPE=Haswell`, as on AVX2 machines): largest 7.5e-6.
    /// The bound is 3e-5, about twice the largest seen.
    static let tolerance: Float = 3e-5

    /// ‖a − b‖ / ‖a‖.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        sqrt(zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }) / sqrt(a.reduce(Float(0)) { $0 + $1 * $1 })
    }

    @Test(arguments: OracleFixture.names)
    func groupsGiveTheTargetsOfOneRequestAtATime(oracle name: String) throws {
        let oracle = try OracleFixture(name)
        let requests = try oracle.requests()
        let model = try oracle.model(beforeBatch: 0)
        let optimizer = TargetOptimizer(model: model, tokenizer: try oracle.tokenizer(), hparams: try oracle.hparams(),
                                        templates: try oracle.templates())
        let alone = try requests.map { try optimizer.optimize($0) }
        let together = try optimizer.optimize(requests)
        #expect(together.count == requests.count)
        for (r, (a, b)) in zip(alone, together).enumerated() {
            #expect(Self.relativeDifference(a.initial, b.initial) < Self.tolerance, "\(name) request \(r): h0 differs")
            #expect(a.losses.count == b.losses.count, "\(name) request \(r): \(a.losses.count) steps alone, \(b.losses.count) together")
            let difference = Self.relativeDifference(a.target, b.target)
            #expect(difference < Self.tolerance, "\(name) request \(r): z relative difference \(difference)")
            #expect(abs(a.probabilityAfter - b.probabilityAfter) < 1e-4, "\(name) request \(r): probabilities differ")
        }
    }

    @Test func groupsOfAnySizeAgreeInLocalStages() throws {
        let oracle = try OracleFixture(OracleFixture.names[0])
        let requests = try oracle.requests()
        let model = try oracle.model(beforeBatch: 0)
        var results: [[TargetResult]] = []
        for size in [1, 2, requests.count] {
            let stages = LocalStages(model: model, tokenizer: try oracle.tokenizer(), hparams: try oracle.hparams(),
                                     templates: try oracle.templates())
            stages.targetGroupSize = size
            results.append(try stages.targets(requests, batch: 0) { _ in })
            #expect(results.last!.count == requests.count, "group size \(size)")
        }
        for (r, one) in results[0].enumerated() {
            for other in results.dropFirst() {
                let difference = Self.relativeDifference(one.target, other[r].target)
                #expect(difference < Self.tolerance, "request \(r): z relative difference \(difference)")
            }
        }
    }

    @Test func groupsAreCutByCountAndPaddedTokens() throws {
        let oracle = try OracleFixture(OracleFixture.names[0])
        let requests = try oracle.requests()
        let optimizer = TargetOptimizer(model: try oracle.model(), tokenizer: try oracle.tokenizer(), hparams: try oracle.hparams(),
                                        templates: try oracle.templates())
        #expect(requests.count >= 4)
        let pairs = try optimizer.groups(requests, maxRequests: 2)
        #expect(pairs == stride(from: 0, to: requests.count, by: 2).map { $0..<min($0 + 2, requests.count) })
        // A budget smaller than any request leaves each alone; a huge one takes up to maxRequests.
        #expect(try optimizer.groups(requests, maxTokens: 1) == requests.indices.map { $0..<($0 + 1) })
        #expect(try optimizer.groups(requests, maxRequests: 100, maxTokens: .max) == [0..<requests.count])
        // Cut after a group boundary, the rest is cut the same way (a worker given whole groups).
        let groups = try optimizer.groups(requests, maxRequests: 3, maxTokens: 200)
        let tail = try optimizer.groups(Array(requests[groups[1].lowerBound...]), maxRequests: 3, maxTokens: 200)
        #expect(tail.map { ($0.lowerBound + groups[1].lowerBound)..<($0.upperBound + groups[1].lowerBound) } == Array(groups.dropFirst()))
    }
}
