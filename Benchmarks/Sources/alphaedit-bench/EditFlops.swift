// Analytic FLOP counts of the edit benchmark's stages. Matrix products only, 2 flops per
// multiply-add; element-wise work (norms, GELU, softmax, residual adds, Adam, the loss) is not
// counted. Transformer passes count the *real* tokens of each sequence (padding that a padded
// batch computes is overhead, not work), with attention over each sequence's own length L
// (the full L×L products, causal half included, as both implementations execute them):
//
//   per token and block, dense:  2·d·(q + 2·kv) (QKV) + 2·q·d (output projection) + 2·d·f·m
//                                (MLP, m = 2 for GPT-2, 3 with a gate)         = 24·d² for GPT-2
//   per sequence and block, attention: 4·L²·q (Q·Kᵀ and P·V)
//   LM head: 2·d·V per projected row
//   backward with input gradients only (the target optimisation): dense ×1 (dX only, no weight
//   gradients), attention ×2 (dP, dV, dQ, dK), LM head ×1.
//
// Stages (d0 = MLP width, d1 = hidden width, N = requests, r = null-space dimension):
//   statistics: blocks 0…max(edit layer) on every corpus token + d0² per token and edit layer
//               for the Gram update (the upper triangle of Kᵀ·K: d0(d0+1)/2 multiply-adds,
//               rounded to d0²; a full product, as PyTorch's, does 2·d0²).
//   projector:  per layer 9·d0³ (the conventional nominal count of a symmetric eigensolver with
//               vectors, as the foundation benchmark's dsyevd) + 2·d0²·r (P = U0·U0ᵀ), float64.
//   targets:    per request the blocks 0…l* once on the 6 rewriting prompts and the KL prompt,
//               then per forward step the blocks l*+1…L−1 on all of them + the LM head on the
//               labelled rows and the KL row, per backward step the same backwards; steps counted
//               from the results (forward steps = losses recorded, backward steps = one fewer).
//   keys:       the activation reads of the update: per edit layer l the blocks 0…l on
//               N × (number of templates) sentences (compute_ks), and the blocks 0…l* on the N
//               bare prompts (the current outputs H, the official cur_zs).
//   solve:      per edit layer, in float64, K·Kᵀ 2·d0²·N, P·(K·Kᵀ + C) 2·d0³, P·K 2·d0²·N,
//               (P·K)·Rᵀ 2·d0·N·d1, LU (2/3)·d0³ + 2·d0²·d1 for the solve (the official code's
//               products: alphaedit solves a first batch's N × N push-through system from d0 = 2048,
//               far less work, so its rate there is official-equivalent, not an efficiency); and the
//               cache update K·Kᵀ 2·d0²·N (float32).

import Editing
import Foundation
import Transformer

/// The FLOPs of transformer passes over given sequence lengths.
struct TransformerPassFlops {
    let config: ModelConfig

    var d: Double { Double(config.hiddenSize) }
    var f: Double { Double(config.intermediateSize) }
    var queryWidth: Double { Double(config.headCount * config.headDimension) }
    var keyValueWidth: Double { Double(config.keyValueHeadCount * config.headDimension) }

    /// Dense matrix-product FLOPs per token and block.
    var densePerToken: Double {
        2 * d * (queryWidth + 2 * keyValueWidth) + 2 * queryWidth * d + 2 * d * f * (config.modelType.isGatedMLP ? 3 : 2)
    }

    /// Attention FLOPs of one block on one sequence of `length` tokens (Q·Kᵀ and P·V).
    func attention(length: Int) -> Double { 4 * Double(length) * Double(length) * queryWidth }

    /// One block's forward FLOPs over sequences of these lengths.
    func blockForward(_ lengths: [Int]) -> Double {
        lengths.reduce(0) { $0 + Double($1) * densePerToken + attention(length: $1) }
    }

    /// One block's backward FLOPs with input gradients only.
    func blockBackwardInputOnly(_ lengths: [Int]) -> Double {
        lengths.reduce(0) { $0 + Double($1) * densePerToken + 2 * attention(length: $1) }
    }

    /// The LM head on `rows` rows.
    func head(rows: Int) -> Double { 2 * d * Double(config.vocabularySize) * Double(rows) }

    /// A forward pass from the embeddings through block `lastBlock` (the runtime stops there; at
    /// the last block it also projects every token onto the vocabulary).
    func forward(_ lengths: [Int], throughBlock lastBlock: Int) -> Double {
        let blocks = Double(lastBlock + 1)
        var flops = blocks * blockForward(lengths)
        if lastBlock >= config.layerCount - 1 { flops += head(rows: lengths.reduce(0, +)) }
        return flops
    }
}

/// Counted FLOPs of each stage, with what they were counted from.
struct EditFlopCount: Codable {
    var method = """
        Matrix products only, 2 flops per multiply-add; element-wise work not counted. Transformer \
        passes count the real tokens of each sequence (padding excluded) with attention over each \
        sequence's own length: per token and block 2·d·3d + 2·d² + 16·d² (GPT-2), per sequence and \
        block 4·L²·d, LM head 2·d·V per projected row; a backward pass with input gradients only \
        counts the dense products once and attention twice. statistics: blocks 0…max(layers) on \
        every counted token + d0² per token and layer (Gram triangle). projector: 9·d0³ (nominal \
        dsyevd) + 2·d0²·r per layer, float64. targets: per request blocks 0…l* once on the 7 \
        prompts, then per forward step blocks l*+1…L−1 + the LM head on the labelled rows and the \
        KL row, per backward step the same backwards. keys: blocks 0…l on N·templates sentences per \
        layer (compute_ks) + blocks 0…l* on the N prompts per layer (current outputs). solve: \
        float64 2·d0²·N + 2·d0³ + 2·d0²·N + 2·d0·N·d1 + (2/3)·d0³ + 2·d0²·d1 per layer + the cache \
        update 2·d0²·N (float32).
        """
    var statistics: Double
    var statisticsForward: Double
    var statisticsGram: Double
    var projector: Double
    var targets: Double
    var targetsPrefix: Double
    var targetsForwardSteps: Double
    var targetsBackwardSteps: Double
    var keys: Double
    var keysComputeKs: Double
    var keysCurrentOutputs: Double
    var solve: Double
    var solveSystem: Double
    var solveCacheUpdate: Double

    var total: Double { statistics + projector + targets + keys + solve }
}

/// Counts the stages' FLOPs for a workload and what the run reported.
struct EditFlopCounter {
    let config: ModelConfig
    let tokenizer: Tokenizer
    let hparams: EditHyperParameters
    let templates: ContextTemplates
    let requests: [EditRequest]

    var pass: TransformerPassFlops { TransformerPassFlops(config: config) }
    var d0: Double { Double(config.intermediateSize) }
    var d1: Double { Double(config.hiddenSize) }

    /// - Parameters:
    ///   - statisticsLengths: the token count of every corpus sample the statistics counted.
    ///   - nullSpaceDimensions: r per edit layer, in layer order.
    ///   - forwardSteps: forward steps of each request's target optimisation.
    func count(statisticsLengths: [Int], nullSpaceDimensions: [Int], forwardSteps: [Int]) -> EditFlopCount {
        let layers = hparams.layers
        let zLayer = hparams.zLayer
        let n = Double(requests.count)

        // Statistics.
        let statisticsForward = pass.forward(statisticsLengths, throughBlock: layers.max()!)
        let tokens = Double(statisticsLengths.reduce(0, +))
        let statisticsGram = Double(layers.count) * tokens * d0 * d0

        // Projectors.
        let projector = nullSpaceDimensions.reduce(0.0) { $0 + 9 * d0 * d0 * d0 + 2 * d0 * d0 * Double($1) }

        // Targets.
        var prefix = 0.0, forwards = 0.0, backwards = 0.0
        let blocksAfter = Double(config.layerCount - 1 - zLayer)
        for (request, steps) in zip(requests, forwardSteps) {
            let (lengths, projectedRows) = targetPrompts(request)
            prefix += pass.forward(lengths, throughBlock: zLayer)
            let forward = blocksAfter * pass.blockForward(lengths) + pass.head(rows: projectedRows)
            let backward = blocksAfter * pass.blockBackwardInputOnly(lengths) + pass.head(rows: projectedRows)
            forwards += Double(steps) * forward
            backwards += Double(max(steps - 1, 0)) * backward
        }

        // Keys.
        var keySentences: [Int] = []
        for request in requests {
            for template in templates.all {
                keySentences.append(tokenizer.encode(benchFill(benchFill(template, with: request.prompt), with: request.subject)).count)
            }
        }
        let computeKs = layers.reduce(0.0) { $0 + pass.forward(keySentences, throughBlock: $1) }
        let prompts = requests.map { tokenizer.encode($0.filledPrompt).count }
        let currentOutputs = Double(layers.count) * pass.forward(prompts, throughBlock: zLayer)

        // Solve.
        let system = Double(layers.count) * (2 * d0 * d0 * n + 2 * d0 * d0 * d0 + 2 * d0 * d0 * n + 2 * d0 * n * d1
                                             + 2.0 / 3.0 * d0 * d0 * d0 + 2 * d0 * d0 * d1)
        let cacheUpdate = Double(layers.count) * 2 * d0 * d0 * n

        return EditFlopCount(
            statistics: statisticsForward + statisticsGram, statisticsForward: statisticsForward, statisticsGram: statisticsGram,
            projector: projector,
            targets: prefix + forwards + backwards, targetsPrefix: prefix, targetsForwardSteps: forwards, targetsBackwardSteps: backwards,
            keys: computeKs + currentOutputs, keysComputeKs: computeKs, keysCurrentOutputs: currentOutputs,
            solve: system + cacheUpdate, solveSystem: system, solveCacheUpdate: cacheUpdate)
    }

    /// The token lengths of a request's 6 rewriting prompts and KL prompt, and the rows the LM
    /// head projects (every labelled position and the KL prompt's subject token), as
    /// `TargetOptimizer.optimize` builds them.
    func targetPrompts(_ request: EditRequest) -> (lengths: [Int], projectedRows: Int) {
        var targets = tokenizer.encode(request.targetNew)
        if let first = targets.first, first == tokenizer.bosTokenID || first == tokenizer.unkTokenID { targets.removeFirst() }
        let prefix = tokenizer.decode(Array(targets.dropLast()))
        let rewriting = templates.all.map { benchFill($0, with: request.prompt) + prefix }
        let prompts = rewriting + ["{} is a"]
        let lengths = prompts.map { tokenizer.encode(benchFill($0, with: request.subject)).count }
        return (lengths, rewriting.count * targets.count + 1)
    }
}

/// Python's `str.format` with one positional argument (the Editing library's `fill`).
func benchFill(_ template: String, with value: String) -> String {
    guard let range = template.range(of: "{}") else { return template }
    return template.replacingCharacters(in: range, with: value)
}

/// The token count of each corpus sample the statistics pass counts, in the pass's order:
/// each sample tokenised on its own, truncated to the model's context, empty ones left out.
func statisticsSampleLengths(corpus: Corpus, order: [Int], tokenizer: Tokenizer, config: ModelConfig) -> [Int] {
    let maxLength = StatisticsCollector.maxLength(config)
    return order.map { min(tokenizer.encode(corpus.samples[$0]).count, maxLength) }.filter { $0 > 0 }
}
