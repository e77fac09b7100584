import Foundation
import Linalg
import Testing
@testable import Transformer

@Suite struct AdamWTests {
    /// A one-block GPT-2 small enough to check by hand.
    static func tinyModel(seed: UInt64 = 1) throws -> TransformerModel {
        let architecture = GPT2Architecture(layers: 1, width: 8, heads: 2, vocabularySize: 260, contextLength: 8)
        return TransformerModel.randomlyInitialized(config: try architecture.modelConfig(), seed: seed)
    }

    /// Gradients with a known value at every element: g = 0.01 · (i mod 7 − 3) + 0.001 · tensor.
    static func syntheticGradients(_ model: TransformerModel, scale: Float = 1) -> ModelWeights {
        var g = model.weights.zeros()
        for (t, binding) in model.bindings.enumerated() {
            let n = g[keyPath: binding.path].elements.count
            g[keyPath: binding.path].elements = (0..<n).map { i in scale * (0.01 * Float(i % 7 - 3) + 0.001 * Float(t)) }
        }
        return g
    }

    @Test func twoStepsMatchAHandComputation() throws {
        var model = try Self.tinyModel()
        let initial = model.weights
        let bindings = model.bindings
        var optimizer = AdamW(bindings: bindings, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        let g1 = Self.syntheticGradients(model), g2 = Self.syntheticGradients(model, scale: -0.5)
        optimizer.update(&model.weights, gradients: g1, bindings: bindings, learningRate: 0.01)
        optimizer.update(&model.weights, gradients: g2, bindings: bindings, learningRate: 0.005)
        #expect(optimizer.step == 2)

        var maxDifference: Double = 0
        for binding in bindings {
            let decayed = binding.shape.count == 2
            let p0 = initial[keyPath: binding.path].elements
            let a = g1[keyPath: binding.path].elements, b = g2[keyPath: binding.path].elements
            let ours = model.weights[keyPath: binding.path].elements
            for i in stride(from: 0, to: p0.count, by: 5) {
                // The textbook AdamW in float64.
                var p = Double(p0[i]), m = 0.0, v = 0.0
                for (t, (g, lr)) in [(Double(a[i]), 0.01), (Double(b[i]), 0.005)].enumerated() {
                    if decayed { p *= 1 - lr * 0.1 }
                    m = 0.9 * m + 0.1 * g
                    v = 0.95 * v + 0.05 * g * g
                    let mHat = m / (1 - pow(0.9, Double(t + 1))), vHat = v / (1 - pow(0.95, Double(t + 1)))
                    p -= lr * mHat / (vHat.squareRoot() + 1e-8)
                }
                maxDifference = max(maxDifference, abs(p - Double(ours[i])))
            }
        }
        print("AdamW vs hand computation: max difference \(maxDifference)")
        #expect(maxDifference < 1e-6)
    }

    @Test func weightDecayAppliesToMatricesOnly() throws {
        var model = try Self.tinyModel()
        let before = model.weights
        let bindings = model.bindings
        var optimizer = AdamW(bindings: bindings, weightDecay: 0.5)
        optimizer.update(&model.weights, gradients: model.weights.zeros(), bindings: bindings, learningRate: 0.1)
        for binding in bindings {
            let old = before[keyPath: binding.path].elements, new = model.weights[keyPath: binding.path].elements
            let factor: Float = binding.shape.count == 2 ? 0.95 : 1
            for i in 0..<old.count { #expect(abs(new[i] - old[i] * factor) <= 1e-7, "\(binding.name)") }
        }
        #expect(optimizer.decayed.filter { $0 }.count == bindings.filter { $0.shape.count == 2 }.count)
        #expect(!optimizer.decayed[bindings.firstIndex { $0.name.hasSuffix("ln_1.weight") }!])
        #expect(!optimizer.decayed[bindings.firstIndex { $0.name.hasSuffix("c_attn.bias") }!])
    }

    @Test func scheduleWarmsUpLinearlyThenDecaysByCosine() {
        let schedule = LearningRateSchedule(peak: 1e-3, minimum: 1e-4, warmupSteps: 10, totalSteps: 110)
        #expect(abs(schedule.rate(at: 0) - 1e-4) < 1e-15)
        #expect(abs(schedule.rate(at: 4) - 5e-4) < 1e-15)
        #expect(abs(schedule.rate(at: 9) - 1e-3) < 1e-15)
        #expect(abs(schedule.rate(at: 10) - 1e-3) < 1e-15)
        // Halfway through the decay (progress ½): the mean of peak and minimum.
        let half = LearningRateSchedule(peak: 1e-3, minimum: 1e-4, warmupSteps: 10, totalSteps: 111)
        #expect(abs(half.rate(at: 60) - 5.5e-4) < 1e-12)
        #expect(abs(schedule.rate(at: 109) - 1e-4) < 1e-15)
        #expect(schedule.rate(at: 500) == 1e-4)
        for s in 10..<109 { #expect(schedule.rate(at: s + 1) <= schedule.rate(at: s)) }
    }

    @Test func clippingScalesToTheMaximumNorm() throws {
        let model = try Self.tinyModel()
        var g = Self.syntheticGradients(model)
        let norm = g.globalNorm(bindings: model.bindings)
        let copy = g
        let reported = GradientClipping.clip(&g, maxNorm: norm * 2, bindings: model.bindings)
        #expect(reported == norm)
        #expect(g.globalNorm(bindings: model.bindings) == copy.globalNorm(bindings: model.bindings))  // untouched
        GradientClipping.clip(&g, maxNorm: norm / 4, bindings: model.bindings)
        #expect(abs(g.globalNorm(bindings: model.bindings) - norm / 4) < 1e-5 * norm)
        // Direction kept.
        let first = model.bindings[0]
        let ratio = g[keyPath: first.path].elements[4] / copy[keyPath: first.path].elements[4]  // a non-zero element
        #expect(abs(Double(ratio) - 0.25) < 1e-5)
        // Hand check of the norm on one tensor.
        var one = model.weights.zeros()
        one[keyPath: first.path].elements[0] = 3
        one[keyPath: first.path].elements[1] = 4
        #expect(one.globalNorm(bindings: model.bindings) == 5)
    }
}
