import Foundation

/// Everything that decides the weights a training run produces, apart from the data and the
/// model's architecture. Keys mirror the JSON of a training checkpoint (snake_case).
///
/// Two runs with the same hyper-parameters, corpus, architecture and thread count give the same
/// weights bit for bit; `Trainer` checks on `--resume` that nothing here changed.
public struct TrainingHyperParameters: Codable, Sendable, Equatable {
    /// Optimiser steps in the whole run (the schedule's length).
    public var steps: Int
    /// Sequences per optimiser step.
    public var batchSize: Int
    /// Sequences per forward/backward pass; a step sums the gradients of its micro-batches in a
    /// fixed order, so the result does not depend on how many threads run them.
    public var microBatchSize: Int
    /// Peak learning rate, reached after `warmupSteps`.
    public var learningRate: Double
    /// The cosine decay ends at `learningRate × minLearningRateRatio`.
    public var minLearningRateRatio: Double
    public var warmupSteps: Int
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Decoupled weight decay (AdamW) of the matrices; biases and norms are not decayed.
    public var weightDecay: Double
    /// Clip the global gradient norm to this; 0 disables clipping.
    public var gradientClip: Double
    /// Seeds the initial weights and the data order.
    public var seed: UInt64
    /// Standard deviation of the initial weights (GPT-2: 0.02).
    public var initStandardDeviation: Double

    public init(steps: Int, batchSize: Int = 64, microBatchSize: Int = 16, learningRate: Double = 1e-3,
                minLearningRateRatio: Double = 0.1, warmupSteps: Int = 100, beta1: Double = 0.9,
                beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.1,
                gradientClip: Double = 1.0, seed: UInt64 = 0, initStandardDeviation: Double = 0.02) {
        self.steps = steps
        self.batchSize = batchSize
        self.microBatchSize = microBatchSize
        self.learningRate = learningRate
        self.minLearningRateRatio = minLearningRateRatio
        self.warmupSteps = warmupSteps
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
        self.seed = seed
        self.initStandardDeviation = initStandardDeviation
    }

    enum CodingKeys: String, CodingKey {
        case steps
        case batchSize = "batch_size"
        case microBatchSize = "micro_batch_size"
        case learningRate = "learning_rate"
        case minLearningRateRatio = "min_learning_rate_ratio"
        case warmupSteps = "warmup_steps"
        case beta1 = "beta1"
        case beta2 = "beta2"
        case epsilon
        case weightDecay = "weight_decay"
        case gradientClip = "gradient_clip"
        case seed
        case initStandardDeviation = "init_std"
    }

    /// The first rule that the values break, or nil.
    public var problem: String? {
        if steps < 1 { return "steps must be at least 1" }
        if batchSize < 1 { return "batch size must be at least 1" }
        if microBatchSize < 1 || microBatchSize > batchSize { return "micro-batch size must be in 1...batch size" }
        if !(learningRate > 0) { return "learning rate must be positive" }
        if !(0...1).contains(minLearningRateRatio) { return "minimum learning-rate ratio must be in [0, 1]" }
        if warmupSteps < 0 { return "warm-up steps must not be negative" }
        if !(0..<1).contains(beta1) || !(0..<1).contains(beta2) { return "betas must be in [0, 1)" }
        if !(epsilon > 0) { return "epsilon must be positive" }
        if weightDecay < 0 { return "weight decay must not be negative" }
        if gradientClip < 0 { return "gradient clip must not be negative" }
        if !(initStandardDeviation > 0) { return "initial standard deviation must be positive" }
        return nil
    }

    /// The learning-rate schedule these values describe.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: learningRate * minLearningRateRatio,
                             warmupSteps: warmupSteps, totalSteps: steps)
    }

    /// The JSON text of these values (sorted keys), as stored in checkpoints.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}
