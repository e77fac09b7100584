import ArgumentParser
import Foundation
import Linalg
import Transformer

extension AlphaEditBench {
    /// Forward and forward+backward of a randomly initialised GPT-2-medium-shaped model.
    struct TransformerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transformer",
            abstract: "Forward and forward+backward time, GFLOP/s against SGEMM, and peak RSS of a GPT-2-medium-shaped model.")

        @OptionGroup var options: BenchOptions

        @Option(name: .long, help: "Decoder blocks.") var layers = 24
        @Option(name: .long, help: "Hidden width d.") var width = 1024
        @Option(name: .long, help: "Attention heads.") var heads = 16
        @Option(name: .long, help: "Vocabulary size V.") var vocabulary = 50257
        @Option(name: .long, help: "Learned positions.") var positions = 1024
        @Option(name: .long, help: "Sequences per batch B.") var batch = 8
        @Option(name: .long, help: "Tokens per sequence T.") var length = 128
        @Option(name: .long, parsing: .upToNextOption, help: "SGEMM sizes measured as the yardstick (the best rate is used).")
        var sgemmSizes: [Int] = [2048, 4096]
        @Option(name: .long, help: "Seed of the weights and the token ids.") var seed: UInt64 = 0
        @Flag(name: .long, help: "Measure the forward pass only.") var skipBackward = false

        func validate() throws {
            guard layers >= 1, width >= 1, heads >= 1, vocabulary >= 2, batch >= 1, length >= 1 else {
                throw ValidationError("every size must be positive")
            }
            guard width % heads == 0 else { throw ValidationError("--width must be a multiple of --heads") }
            guard length <= positions else { throw ValidationError("--length must not exceed --positions") }
            guard !sgemmSizes.isEmpty, sgemmSizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--sgemm-sizes must be positive") }
        }

        func run() throws {
            let allocator = options.configureProcess()
            var context = RunContext.capture()
            context.allocator = allocator
            print("machine: \(context.machine.cpuModel), \(context.machine.cores) cores, OpenBLAS threads \(context.machine.openBLASThreads); load \(context.loadAverageAtStart)")
            let shape = TransformerBenchShape(layers: layers, width: width, heads: heads, vocabulary: vocabulary,
                                              positions: positions, batch: batch, length: length)
            let config = try ModelConfig.parse(data: shape.configJSON(), path: "gpt2-bench config")

            // The yardstick, measured in this run.
            var sgemm: [RateResult] = []
            for n in sgemmSizes {
                let timing = timeSGEMM(n: n, repetitions: options.repetitions)
                print(timing)
                sgemm.append(RateResult(n: n, timing: timing, flopCount: "2n³", measured: "before"))
            }
            var yardstick = sgemm.map(\.gflops).max()!

            let (model, initSeconds) = measureSeconds {
                TransformerModel.randomlyInitialized(config: config, seed: seed)
            }
            let weightBytes = model.weights.floatBytes
            let tokens = shape.tokenBatch(seed: seed &+ 1)
            let flops = TransformerFlopCount(config: config, batch: batch, length: length)
            print("model: \(weightBytes / 4) parameters (\(formatted(Double(weightBytes) / 1e9)) GB float32), initialised in \(formatted(initSeconds)) s; "
                  + "batch \(batch)×\(length); forward \(formatted(flops.forward / 1e9, 1)) GFLOP")

            // Forward, no tape.
            let forwardStart = ProcessMemory.residentBytes ?? 0
            let forwardReset = ProcessMemory.resetPeak()
            let (_, forwardWarmUp) = measureSeconds { checkLogits(model.forward(tokens).result.logits, shape) }
            var forwardSeconds: [Double] = [], forwardCPU: [Double] = [], forwardPaired: [Double] = []
            for _ in 0..<options.repetitions {
                forwardPaired.append(timeSGEMM(n: pairedSGEMMSize, repetitions: 1).gflops)
                let cpuStart = processCPUSeconds()
                let (_, seconds) = measureSeconds { checkLogits(model.forward(tokens).result.logits, shape) }
                let cpu = processCPUSeconds() - cpuStart
                print("forward: \(formatted(seconds, 3)) s (CPU \(formatted(cpu, 3)) s), \(formatted(flops.forward / seconds / 1e9, 1)) GFLOP/s")
                forwardSeconds.append(seconds)
                forwardCPU.append(cpu)
            }
            let forwardMemory = MemoryBudget(
                peak: ProcessMemory.peakResidentBytes ?? 0, atStart: forwardStart, wasReset: forwardReset,
                weightBytes: weightBytes, terms: ActivationAccounting.forward(config, shape))
            let forward = PassResult(flops: flops.forward, timings: Timings(forwardSeconds, cpuSeconds: forwardCPU), warmUpSeconds: forwardWarmUp,
                                     yardstick: yardstick, goal: 0.6, phases: nil, pairedSGEMM: forwardPaired)
            print("forward best: \(formatted(forward.timings.bestSeconds, 3)) s, \(formatted(forward.gflops, 1)) GFLOP/s = "
                  + "\(formatted(forward.ratioToSGEMM)) × SGEMM; peak RSS \(formatted(Double(forwardMemory.peakResidentBytes) / 1e9)) GB = "
                  + "\(formatted(forwardMemory.ratio)) × (weights + activations)")

            // Forward with tape + loss + backward with parameter gradients.
            var forwardBackward: PassResult?
            var forwardBackwardMemory: MemoryBudget?
            var loss: Float?
            if !skipBackward {
                let start = ProcessMemory.residentBytes ?? 0
                let reset = ProcessMemory.resetPeak()
                let warmUp = trainingStep(model, tokens, shape)
                loss = warmUp.loss
                var totals: [Double] = [], forwards: [Double] = [], losses: [Double] = [], backwards: [Double] = []
                var cpus: [Double] = [], paired: [Double] = []
                for _ in 0..<options.repetitions {
                    paired.append(timeSGEMM(n: pairedSGEMMSize, repetitions: 1).gflops)
                    let cpuStart = processCPUSeconds()
                    let step = trainingStep(model, tokens, shape)
                    cpus.append(processCPUSeconds() - cpuStart)
                    print("forward+backward: \(formatted(step.total, 3)) s (CPU \(formatted(cpus.last!, 3)) s; forward \(formatted(step.forward, 3)), loss \(formatted(step.lossSeconds, 3)), "
                          + "backward \(formatted(step.backward, 3))), \(formatted(flops.forwardBackward / step.total / 1e9, 1)) GFLOP/s")
                    totals.append(step.total); forwards.append(step.forward)
                    losses.append(step.lossSeconds); backwards.append(step.backward)
                }
                forwardBackwardMemory = MemoryBudget(
                    peak: ProcessMemory.peakResidentBytes ?? 0, atStart: start, wasReset: reset, weightBytes: weightBytes,
                    terms: ActivationAccounting.forwardBackward(config, shape, parameterBytes: weightBytes))
                let result = PassResult(
                    flops: flops.forwardBackward, timings: Timings(totals, cpuSeconds: cpus), warmUpSeconds: warmUp.total, yardstick: yardstick, goal: 0.5,
                    phases: ["forward_with_tape": Timings(forwards), "loss": Timings(losses), "backward": Timings(backwards)],
                    pairedSGEMM: paired)
                forwardBackward = result
                print("forward+backward best: \(formatted(result.timings.bestSeconds, 3)) s, \(formatted(result.gflops, 1)) GFLOP/s = "
                      + "\(formatted(result.ratioToSGEMM)) × SGEMM; peak RSS \(formatted(Double(forwardBackwardMemory!.peakResidentBytes) / 1e9)) GB = "
                      + "\(formatted(forwardBackwardMemory!.ratio)) × (weights + activations); loss \(loss!)")
            }

            // The yardstick again after the passes: the reported ratios divide by the best SGEMM
            // rate of the whole run, so a load change during the run cannot flatter them.
            for n in sgemmSizes {
                let timing = timeSGEMM(n: n, repetitions: options.repetitions)
                print("\(timing) (after)")
                sgemm.append(RateResult(n: n, timing: timing, flopCount: "2n³", measured: "after"))
            }
            yardstick = sgemm.map(\.gflops).max()!
            let finalForward = forward.against(yardstick)
            let finalForwardBackward = forwardBackward?.against(yardstick)
            print("ratios to the best SGEMM rate of the run (\(formatted(yardstick, 1)) GFLOP/s): forward \(formatted(finalForward.ratioToSGEMM)), "
                  + "forward+backward \(finalForwardBackward.map { formatted($0.ratioToSGEMM) } ?? "-"); paired ratios: forward "
                  + "\(finalForward.pairedRatios.map { formatted($0) }), forward+backward \(finalForwardBackward.map { $0.pairedRatios.map { formatted($0) } } ?? [])")
            let results = TransformerResults(
                shape: shape, parameters: weightBytes / 4, weightBytes: weightBytes, modelInitSeconds: initSeconds,
                flopCount: flops, sgemmReference: sgemm, sgemmYardstickGflops: yardstick,
                forward: finalForward, forwardBackward: finalForwardBackward,
                memoryForward: forwardMemory, memoryForwardBackward: forwardBackwardMemory,
                initialLoss: loss, uniformLoss: log(Double(vocabulary)))
            context.loadAverageAtEnd = BenchEnvironment.loadAverage()
            let url = options.outputURL(defaultName: "transformer")
            let text = try BenchReport(run: context, results: results).write(to: url)
            if options.json { print(text) }
            print("wrote \(url.path)")
        }
    }
}

/// The SGEMM size measured before each repetition (`PassResult.pairedSGEMMGflops`).
private let pairedSGEMMSize = 2048

/// Traps unless the logits have the batch's shape and finite corner values.
private func checkLogits(_ logits: Matrix<Float>?, _ shape: TransformerBenchShape) {
    guard let logits, logits.rows == shape.tokens, logits.cols == shape.vocabulary,
          logits.elements[0].isFinite, logits.elements[logits.elements.count - 1].isFinite else {
        fatalError("transformer benchmark: the forward pass returned wrong or non-finite logits")
    }
}

/// One training step's timings: forward with tape, loss and its gradient, backward with
/// parameter gradients. The logits are released before the backward pass starts.
private func trainingStep(_ model: TransformerModel, _ tokens: TokenBatch, _ shape: TransformerBenchShape)
    -> (loss: Float, total: Double, forward: Double, lossSeconds: Double, backward: Double)
{
    // Next-token targets within each sequence; the last position of each sequence predicts nothing.
    let targets: [Int?] = (0..<tokens.tokenCount).map { r in
        r % tokens.length == tokens.length - 1 ? nil : tokens.ids[r + 1]
    }
    let clock = ContinuousClock()
    let start = clock.now
    var (pass, forwardSeconds) = measureSeconds { model.forward(tokens, keepTape: true) }
    let ((loss, dLogits), lossSeconds) = measureSeconds { CrossEntropy.meanNLL(logits: pass.result.logits!, targets: targets) }
    pass.result.logits = nil
    let tape = pass.tape!
    let (gradients, backwardSeconds) = measureSeconds {
        model.backward(tape, dLogits: dLogits, parameterGradients: true).parameterGradients!
    }
    let elapsed = clock.now - start
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    guard loss.isFinite, abs(Double(loss) - log(Double(shape.vocabulary))) < 1,
          gradients.tokenEmbedding.elements[tokens.ids[1] * shape.width].isFinite else {
        fatalError("transformer benchmark: loss \(loss) is not close to ln V or gradients are not finite")
    }
    return (loss, total, forwardSeconds, lossSeconds, backwardSeconds)
}

/// One timed pass and its rate.
struct PassResult: Codable {
    /// Counted matrix-product FLOPs of one pass (see `flop_count.method`).
    var flops: Double
    var timings: Timings
    /// The untimed first run (page faults of fresh buffers, OpenBLAS start-up).
    var warmUpSeconds: Double
    /// flops / best seconds / 1e9.
    var gflops: Double
    /// gflops / the SGEMM yardstick of the same run.
    var ratioToSGEMM: Double
    var goal: Double
    var met: Bool
    /// Parts of the pass, when timed separately.
    var phases: [String: Timings]?

    /// The same timings rated against another SGEMM rate.
    func against(_ yardstick: Double) -> PassResult {
        PassResult(flops: flops, timings: timings, warmUpSeconds: warmUpSeconds, yardstick: yardstick, goal: goal, phases: phases,
                   pairedSGEMM: pairedSGEMMGflops)
    }

    /// SGEMM GFLOP/s (n = 2048, one run) measured just before each repetition.
    var pairedSGEMMGflops: [Double]
    /// Each repetition's rate over the SGEMM rate measured just before it. On a shared machine
    /// whose load changes during the run these are steadier than `ratio_to_sgemm`, which divides
    /// the best pass by the best SGEMM rate of the whole run; the headline is `ratio_to_sgemm`.
    var pairedRatios: [Double]

    init(flops: Double, timings: Timings, warmUpSeconds: Double, yardstick: Double, goal: Double, phases: [String: Timings]?,
         pairedSGEMM: [Double]) {
        pairedSGEMMGflops = pairedSGEMM
        pairedRatios = zip(timings.seconds, pairedSGEMM).map { flops / $0 / 1e9 / $1 }
        self.flops = flops
        self.timings = timings
        self.warmUpSeconds = warmUpSeconds
        gflops = flops / timings.bestSeconds / 1e9
        ratioToSGEMM = gflops / yardstick
        self.goal = goal
        met = ratioToSGEMM >= goal
        self.phases = phases
    }
}

/// The transformer suite's numbers.
struct TransformerResults: Codable {
    var shape: TransformerBenchShape
    var parameters: Int
    var weightBytes: Int
    var modelInitSeconds: Double
    var flopCount: TransformerFlopCount
    /// SGEMM n×n·n×n measured in the same run, before and after the model passes.
    var sgemmReference: [RateResult]
    /// The best SGEMM rate above: the denominator of every ratio.
    var sgemmYardstickGflops: Double
    var forward: PassResult
    var forwardBackward: PassResult?
    var memoryForward: MemoryBudget
    var memoryForwardBackward: MemoryBudget?
    /// The warm-up step's loss; a random model should sit near ln V.
    var initialLoss: Float?
    var uniformLoss: Double
}
