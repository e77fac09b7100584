import Foundation
import Linalg
import Testing
@testable import Transformer

@Suite struct TrainingTests {
    static let architecture = GPT2Architecture(layers: 2, width: 16, heads: 2, vocabularySize: 40, contextLength: 16)

    /// Short documents over a 40-token vocabulary, with a pattern to learn (each token is
    /// followed by the next one).
    static func documents(count: Int = 48, seed: UInt64 = 3) -> [[Int]] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let start = 1 + Int(generator.next() % 30), length = 3 + Int(generator.next() % 8)
            return (0..<length).map { 1 + (start + $0) % 39 }
        }
    }

    static func hyperParameters(steps: Int = 6, seed: UInt64 = 7) -> TrainingHyperParameters {
        TrainingHyperParameters(steps: steps, batchSize: 8, microBatchSize: 3, learningRate: 3e-3, warmupSteps: 2, seed: seed)
    }

    static func trainer(steps: Int = 6, seed: UInt64 = 7, threads: Int = 1) throws -> Trainer {
        let hp = hyperParameters(steps: steps, seed: seed)
        let data = TrainingData(documents: documents(), endOfText: 0, maxLength: 16, batchSize: hp.batchSize, seed: hp.seed)
        return Trainer(config: try architecture.modelConfig(), data: data, hyperParameters: hp, threads: threads)
    }

    static func flat(_ model: TransformerModel) -> [Float] {
        model.bindings.flatMap { model.weights[keyPath: $0.path].elements }
    }

    /// `--mlp-width` (n_inner): the config, the parameter count and the trained weights' shapes
    /// follow it; without it the config says `"n_inner": null` as before (so older recipes rebuild).
    @Test func anMLPWidthOtherThanFourTimesTheWidth() throws {
        #expect(Self.architecture.configJSON.contains("\"n_inner\": null"))
        #expect(Self.architecture.parameterCount == 40 * 16 + 16 * 16 + 2 * (12 * 16 * 16 + 13 * 16) + 2 * 16)
        var wide = Self.architecture
        wide.mlpWidth = 96
        #expect(wide.configJSON.contains("\"n_inner\": 96"))
        let config = try wide.modelConfig()
        #expect(config.intermediateSize == 96)
        let hp = Self.hyperParameters(steps: 2)
        var trainer = Trainer(config: config, data: TrainingData(documents: Self.documents(), endOfText: 0, maxLength: 16,
                                                                 batchSize: hp.batchSize, seed: hp.seed), hyperParameters: hp)
        while !trainer.isFinished { _ = trainer.trainStep() }
        #expect(trainer.model.weights.blocks[1].mlp.up.weight.elements.count == 16 * 96)
        #expect(wide.parameterCount == Self.flat(trainer.model).count)
        #expect(Self.architecture.parameterCount == Self.flat(try Self.trainer().model).count)
        // Codable (training checkpoints) round-trips it, and an older architecture without it decodes.
        #expect(try JSONDecoder().decode(GPT2Architecture.self, from: JSONEncoder().encode(wide)) == wide)
        #expect(!String(decoding: try JSONEncoder().encode(Self.architecture), as: UTF8.self).contains("n_inner"))
    }

    /// `--activation relu` (sparse keys): the config names it, the runtime uses it, training runs
    /// and lowers the loss, and a name the runtime lacks is refused.
    @Test func aReLUModelTrains() throws {
        #expect(Self.architecture.configJSON.contains("\"activation_function\": \"gelu_new\""))
        var relu = Self.architecture
        relu.activation = "relu"
        var checked = relu
        checked.vocabularySize = 4096  // the fixture's 40 is below what `train` accepts
        #expect(checked.problem == nil)
        #expect(relu.configJSON.contains("\"activation_function\": \"relu\""))
        let config = try relu.modelConfig()
        #expect(config.activation == .relu)
        let hp = Self.hyperParameters(steps: 40)
        var trainer = Trainer(config: config, data: TrainingData(documents: Self.documents(), endOfText: 0, maxLength: 16,
                                                                 batchSize: hp.batchSize, seed: hp.seed), hyperParameters: hp)
        var losses: [Double] = []
        while !trainer.isFinished { losses.append(trainer.trainStep().loss) }
        let (first, last) = (losses.prefix(3).reduce(0, +) / 3, losses.suffix(3).reduce(0, +) / 3)
        #expect(last < first - 0.5, "\(losses)")
        #expect(try JSONDecoder().decode(GPT2Architecture.self, from: JSONEncoder().encode(relu)) == relu)
        checked.activation = "swish"
        #expect(checked.problem?.contains("activation \"swish\" is not one of gelu_new, gelu, relu") == true, "\(checked.problem ?? "")")
    }

    @Test func sameSeedGivesTheSameWeights() throws {
        var a = try Self.trainer(), b = try Self.trainer(), c = try Self.trainer(seed: 8)
        for _ in 0..<4 { _ = a.trainStep(); _ = b.trainStep(); _ = c.trainStep() }
        #expect(Self.flat(a.model) == Self.flat(b.model))
        #expect(Self.flat(a.model) != Self.flat(c.model))
    }

    @Test func threadCountDoesNotChangeTheWeights() throws {
        let saved = Linalg.threadCount
        Linalg.setThreadCount(1)
        defer { Linalg.setThreadCount(saved) }
        var one = try Self.trainer(threads: 1), two = try Self.trainer(threads: 2)
        for _ in 0..<3 { _ = one.trainStep(); _ = two.trainStep() }
        #expect(Self.flat(one.model) == Self.flat(two.model))
    }

    @Test func resumingGivesTheSameWeightsAsAnUninterruptedRun() throws {
        var straight = try Self.trainer(steps: 6)
        while !straight.isFinished { _ = straight.trainStep() }

        var first = try Self.trainer(steps: 6)
        for _ in 0..<3 { _ = first.trainStep() }
        let directory = try FixturePaths.temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(TrainingCheckpoint.fileName)
        try TrainingCheckpoint(trainer: first, architecture: Self.architecture).write(to: url)

        let checkpoint = try TrainingCheckpoint(url: url)
        #expect(checkpoint.step == 3 && checkpoint.architecture == Self.architecture)
        var resumed = try Trainer(resuming: checkpoint, data: first.data, hyperParameters: Self.hyperParameters(steps: 6))
        while !resumed.isFinished { _ = resumed.trainStep() }
        #expect(resumed.step == 6)
        #expect(Self.flat(resumed.model) == Self.flat(straight.model))
        #expect(resumed.optimizer == straight.optimizer)
    }

    @Test func resumingRefusesOtherHyperParametersOrData() throws {
        var trainer = try Self.trainer()
        _ = trainer.trainStep()
        let checkpoint = TrainingCheckpoint(trainer: trainer, architecture: Self.architecture)
        var other = Self.hyperParameters()
        other.learningRate *= 2
        #expect(throws: TrainingCheckpointError.self) {
            try Trainer(resuming: checkpoint, data: trainer.data, hyperParameters: other)
        }
        let otherData = TrainingData(documents: Self.documents(seed: 4), endOfText: 0, maxLength: 16, batchSize: 8, seed: 7)
        #expect(throws: TrainingCheckpointError.self) {
            try Trainer(resuming: checkpoint, data: otherData, hyperParameters: Self.hyperParameters())
        }
    }

    @Test func epochsVisitEveryDocumentOnceInASeededOrder() {
        let data = TrainingData(documents: Self.documents(count: 50), endOfText: 0, maxLength: 16, batchSize: 8, seed: 1, poolBatches: 2)
        let epoch0 = data.epochBatches(0), epoch1 = data.epochBatches(1)
        #expect(epoch0.flatMap { $0 }.sorted() == Array(0..<50))
        #expect(epoch1.flatMap { $0 }.sorted() == Array(0..<50))
        #expect(epoch0 != epoch1)
        #expect(epoch0 == data.epochBatches(0))
        #expect(data.batchesPerEpoch == epoch0.count && epoch0.count == 7)  // 3 pools: 16, 16, 16, 2
        #expect(data.documents.allSatisfy { $0.last == 0 })  // end-of-text appended
    }

    @Test func microBatchGradientsSumToTheBatchGradient() throws {
        // The mean loss over a batch split in micro-batches equals the loss of one pass.
        let trainer = try Self.trainer()
        let documents = Array(trainer.data.documents.prefix(5))
        let (loss, gradients, _) = trainer.lossAndGradients(documents)
        var whole = trainer.hyperParameters
        whole.microBatchSize = whole.batchSize
        let single = Trainer(model: trainer.model, optimizer: trainer.optimizer, step: 0, data: trainer.data, hyperParameters: whole)
        let (loss1, gradients1, _) = single.lossAndGradients(documents)
        #expect(abs(loss - loss1) < 1e-5)
        var difference = gradients
        difference.scale(by: -1, bindings: trainer.model.bindings)
        difference.add(gradients1, bindings: trainer.model.bindings)
        let relative = difference.globalNorm(bindings: trainer.model.bindings) / gradients1.globalNorm(bindings: trainer.model.bindings)
        print("micro-batched vs whole-batch gradient: relative difference \(relative)")
        #expect(relative < 1e-5)
    }

    @Test func lossFallsOnALearnablePattern() throws {
        var trainer = try Self.trainer(steps: 40)
        var first = 0.0, last = 0.0
        while !trainer.isFinished {
            let report = trainer.trainStep()
            if report.step < 3 { first += report.loss / 3 }
            if report.step >= 37 { last += report.loss / 3 }
        }
        print("loss \(first) → \(last)")
        #expect(first > 3.4)  // about ln 40 at the start
        #expect(last < first - 0.5)
    }

    @Test func exportedFolderLoadsWithTheSameLogits() throws {
        var trainer = try Self.trainer(steps: 2)
        _ = trainer.trainStep()
        let directory = try FixturePaths.temporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: directory) }
        try trainer.model.writeHuggingFaceGPT2(architecture: Self.architecture, to: directory)
        let loaded = try TransformerModel.load(directory: directory)
        #expect(loaded.config == trainer.model.config)
        let batch = TokenBatch([[1, 2, 3, 4], [5, 6]])
        #expect(loaded.forward(batch).result.logits == trainer.model.forward(batch).result.logits)
        let names = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors")).tensorNames
        #expect(names.contains("transformer.h.1.mlp.c_proj.weight") && !names.contains("lm_head.weight"))
    }
}
