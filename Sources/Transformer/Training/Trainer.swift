import Foundation
import Linalg

/// What one optimiser step did.
public struct TrainingStepReport: Sendable {
    /// The step just taken (0-based).
    public var step: Int
    /// Mean next-token cross-entropy of the batch (nats).
    public var loss: Double
    public var learningRate: Double
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
    /// Real (non-padding) tokens in the batch.
    public var tokens: Int
    /// Wall time of the step.
    public var seconds: Double
}

/// Next-token training of a decoder-only model from `TrainingData`: AdamW, linear warm-up and
/// cosine decay, global-norm clipping.
///
/// One step: the batch's documents (already grouped by length) are cut into micro-batches of
/// `microBatchSize`, each padded on the right; `threads` workers run forward and backward on the
/// micro-batches, and their gradients are summed in micro-batch order. The loss is the mean over
/// every predicted token of the batch (each document predicts its tokens after the first,
/// end-of-text included). Same seed, data and hyper-parameters give the same weights; with
/// OpenBLAS on one thread per worker (`Linalg.setThreadCount(1)`) also for any `threads`.
public struct Trainer: Sendable {
    public private(set) var model: TransformerModel
    public private(set) var optimizer: AdamW
    public let hyperParameters: TrainingHyperParameters
    public let data: TrainingData
    /// Steps taken so far (the next step's index).
    public private(set) var step: Int
    /// Workers running micro-batches in parallel.
    public var threads: Int

    /// A trainer at step 0 with weights initialised from `hyperParameters.seed`.
    public init(config: ModelConfig, data: TrainingData, hyperParameters: TrainingHyperParameters, threads: Int = 1) {
        let model = TransformerModel.randomlyInitialized(
            config: config, seed: hyperParameters.seed, standardDeviation: Float(hyperParameters.initStandardDeviation))
        let optimizer = AdamW(bindings: model.bindings, beta1: Float(hyperParameters.beta1), beta2: Float(hyperParameters.beta2),
                              epsilon: Float(hyperParameters.epsilon), weightDecay: Float(hyperParameters.weightDecay))
        self.init(model: model, optimizer: optimizer, step: 0, data: data, hyperParameters: hyperParameters, threads: threads)
    }

    /// A trainer resuming at `step` (see `TrainingCheckpoint`).
    public init(model: TransformerModel, optimizer: AdamW, step: Int, data: TrainingData,
                hyperParameters: TrainingHyperParameters, threads: Int = 1) {
        precondition(data.batchSize == hyperParameters.batchSize, "data batched by \(data.batchSize), hyper-parameters say \(hyperParameters.batchSize)")
        precondition(data.seed == hyperParameters.seed, "data seeded with \(data.seed), hyper-parameters say \(hyperParameters.seed)")
        self.model = model
        self.optimizer = optimizer
        self.step = step
        self.data = data
        self.hyperParameters = hyperParameters
        self.threads = max(1, threads)
    }

    public var isFinished: Bool { step >= hyperParameters.steps }

    /// The documents of step `step`'s batch.
    public func batch(at step: Int) -> [Int] {
        let perEpoch = data.batchesPerEpoch
        return data.epochBatches(step / perEpoch)[step % perEpoch]
    }

    /// Takes one optimiser step.
    public mutating func trainStep() -> TrainingStepReport {
        let started = Date()
        let documents = batch(at: step).map { data.documents[$0] }
        let (loss, gradientsOrNil, tokens) = lossAndGradients(documents)
        var gradients = gradientsOrNil
        let bindings = model.bindings
        let norm = GradientClipping.clip(&gradients, maxNorm: hyperParameters.gradientClip, bindings: bindings)
        let rate = hyperParameters.schedule.rate(at: step)
        optimizer.update(&model.weights, gradients: gradients, bindings: bindings, learningRate: rate)
        let report = TrainingStepReport(step: step, loss: loss, learningRate: rate, gradientNorm: norm,
                                        tokens: tokens, seconds: Date().timeIntervalSince(started))
        step += 1
        return report
    }

    /// The batch's mean loss and its gradients, micro-batch by micro-batch.
    /// - Returns: loss, gradients, and the number of real tokens.
    public func lossAndGradients(_ documents: [[Int]]) -> (loss: Double, gradients: ModelWeights, tokens: Int) {
        let targetCount = documents.reduce(0) { $0 + $1.count - 1 }
        precondition(targetCount > 0, "a batch needs a document of at least two tokens")
        let weight = 1 / Float(targetCount)
        let size = hyperParameters.microBatchSize
        let microBatches = stride(from: 0, to: documents.count, by: size).map {
            Array(documents[$0..<min($0 + size, documents.count)])
        }
        let results = MicroBatchResults(count: microBatches.count)
        let model = self.model
        let workers = min(threads, microBatches.count)
        // Workers take the next micro-batch as they become free (a descheduled worker does not
        // hold the others up); the sum below is in micro-batch order whoever computed what.
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = results.claim() {
                results.set(index, Self.microBatchGradients(model, microBatches[index], weight: weight))
            }
        }
        var loss: Double = 0
        var total: ModelWeights? = nil
        for index in 0..<microBatches.count {
            let (part, gradients) = results.take(index)
            loss += part
            if total == nil { total = gradients } else { total!.add(gradients, bindings: model.bindings) }
        }
        return (loss, total!, documents.reduce(0) { $0 + $1.count })
    }

    /// Forward and backward of one micro-batch; each predicted token weighs `weight` in the loss.
    static func microBatchGradients(_ model: TransformerModel, _ documents: [[Int]], weight: Float) -> (Double, ModelWeights) {
        let batch = TokenBatch(documents, padding: .right, padID: 0)
        var targets = [Int?](repeating: nil, count: batch.tokenCount)
        for (b, document) in documents.enumerated() {
            for t in 0..<(document.count - 1) { targets[batch.row(b, t)] = document[t + 1] }
        }
        let (result, tape) = model.forward(batch, keepTape: true)
        let weights = targets.map { $0 == nil ? 0 : weight }
        let (loss, dLogits) = CrossEntropy.meanNLL(logits: result.logits!, targets: targets, weights: weights)
        let gradients = model.backward(tape!, dLogits: dLogits, parameterGradients: true).parameterGradients!
        return (Double(loss), gradients)
    }
}

/// Per-micro-batch work claimed and results written by worker threads, each slot by one worker.
final class MicroBatchResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [(Double, ModelWeights)?]

    private var next = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    /// The index of the next micro-batch nobody has taken, or nil when all are taken.
    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }

    func set(_ index: Int, _ value: (Double, ModelWeights)) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = value
    }

    func take(_ index: Int) -> (Double, ModelWeights) {
        lock.lock()
        defer { lock.unlock() }
        let value = slots[index]!
        slots[index] = nil
        return value
    }
}
