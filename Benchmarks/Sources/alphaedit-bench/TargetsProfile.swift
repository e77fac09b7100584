// Where the target optimisation's time goes (issue 12, point 2): `edit targets-profile` runs the
// targets stage of `edit run` (LocalStages.targets, the same groups) on a model wrapper that times
// each forward pass, with and without a tape, and each backward pass. The rest is the loss (log-softmax
// over the vocabulary on the rows it reads), Adam, and building the batches.

import ArgumentParser
import Editing
import Foundation
import Linalg
import Transformer

/// A model that times what the target optimisation asks of it.
final class TimedLanguageModel: LanguageModel, @unchecked Sendable {
    let base: TransformerModel
    private let lock = NSLock()
    private var seconds: [String: Double] = [:]
    private var tokens: [String: Int] = [:]
    private var realTokens: [String: Int] = [:]

    init(base: TransformerModel) { self.base = base }

    var config: ModelConfig { base.config }

    private func timed<R>(_ part: String, batch: TokenBatch? = nil, _ body: () throws -> R) rethrows -> R {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        lock.lock()
        seconds[part, default: 0] += elapsed
        tokens[part, default: 0] += batch?.tokenCount ?? 0
        realTokens[part, default: 0] += batch?.mask.filter { $0 }.count ?? 0
        lock.unlock()
        return result
    }

    func run(_ batch: TokenBatch, hooks: Hooks, from start: (layer: Int, hidden: Matrix<Float>)?,
             keepTape: Bool) throws -> (result: ForwardResult, tape: ForwardTape?) {
        let part = keepTape ? "forward with tape" : "forward without tape"
        return timed(part, batch: batch) { base.forward(batch, hooks: hooks, from: start, keepTape: keepTape) }
    }

    func inputGradient(_ tape: ForwardTape, dLogits: Matrix<Float>) throws -> Matrix<Float> {
        timed("backward") { base.inputGradient(tape, dLogits: dLogits) }
    }

    func continuations(of prompts: [[Int]], maxNewTokens: Int, sampling: Sampling, seed: UInt64) throws -> [[Int]] {
        base.continuations(of: prompts, maxNewTokens: maxNewTokens, sampling: sampling, seed: seed)
    }

    /// (part, seconds, padded tokens, real tokens) so far.
    var parts: [(String, Double, Int, Int)] {
        lock.lock(); defer { lock.unlock() }
        return seconds.keys.sorted().map { ($0, seconds[$0]!, tokens[$0]!, realTokens[$0]!) }
    }
}

extension AlphaEditBench {
    /// `edit targets-profile`: the targets stage, part by part.
    struct EditTargetsProfileCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "targets-profile",
            abstract: "Time the target optimisation's forward passes, backward passes and the rest on a prepared workload.",
            discussion: "With --stage keys, the keys stage's passes instead (compute_ks and the current outputs at every edit layer).")

        @OptionGroup var options: BenchOptions
        @Option(name: .long, help: ArgumentHelp("A workload directory written by `edit prepare`.", valueName: "dir")) var workload: String
        @Option(name: .long, help: "The first N requests of the workload (0: all).") var requests = 8
        @Option(name: .long, help: ArgumentHelp("The stage to time: targets or keys.", valueName: "stage")) var stage = "targets"
        @Option(name: .long, help: "At most this many requests optimised together.") var groupSize = TargetOptimizer.defaultGroupSize
        @Option(name: .long, help: "At most this many padded prompt tokens per group.") var groupTokens = TargetOptimizer.defaultGroupTokens

        func run() throws {
            _ = options.configureProcess()
            let layout = EditWorkloadLayout(directory: URL(fileURLWithPath: workload))
            let hparams = try EditHyperParameters.load(file: layout.hparams, algorithm: .alphaedit)
            let all = try EditRequest.load(file: layout.requests)
            let chosen = requests > 0 ? Array(all.prefix(requests)) : all
            let templates = try ContextTemplates.load(file: layout.contextTemplates)
            let model = try TransformerModel.load(directory: layout.model)
            let tokenizer = try Tokenizer(directory: layout.model)
            let timed = TimedLanguageModel(base: model)
            guard stage == "targets" || stage == "keys" else {
                throw ValidationError("--stage \(stage): give targets or keys")
            }
            if stage == "keys" {
                let (_, seconds) = try measureSeconds {
                    for layer in hparams.layers {
                        _ = try LocalStages.keysAndOutputs(model: timed, tokenizer: tokenizer, hparams: hparams, templates: templates,
                                                           events: { _ in }, layer: layer, requests: chosen)
                    }
                }
                print("keys of \(chosen.count) requests at layers \(hparams.layers): \(formatted(seconds, 2)) s")
                report(timed, seconds: seconds)
                return
            }
            let (results, seconds) = try measureSeconds {
                try LocalStages.targets(chosen, model: timed, tokenizer: tokenizer, hparams: hparams, templates: templates,
                                        maxGroup: groupSize, maxGroupTokens: groupTokens, progress: { _ in })
            }
            let groups = try TargetOptimizer(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates)
                .groups(chosen, maxRequests: groupSize, maxTokens: groupTokens)
            let steps = results.map(\.losses.count).reduce(0, +)
            print("targets of \(chosen.count) requests in \(groups.count) groups (at most \(groupSize) requests, \(groupTokens) tokens): "
                  + "\(formatted(seconds, 2)) s, \(steps) request steps, peak RSS \(ProcessMemory.peakResidentBytes.map { formatted(Double($0) / 1e9, 2) } ?? "?") GB")
            report(timed, seconds: seconds)
        }

        func report(_ timed: TimedLanguageModel, seconds: Double) {
            var accounted = 0.0
            for (part, partSeconds, tokens, real) in timed.parts {
                accounted += partSeconds
                print("  \(part): \(formatted(partSeconds, 2)) s (\(formatted(100 * partSeconds / seconds, 1)) %)"
                      + (tokens > 0 ? ", \(tokens) token rows, \(real) of them real" : ""))
            }
            print("  the rest (loss, Adam, batches): \(formatted(seconds - accounted, 2)) s (\(formatted(100 * (seconds - accounted) / seconds, 1)) %)")
        }
    }
}
