import Foundation
import Linalg
import Transformer

/// The result of optimising one request's target (spec §5).
public struct TargetResult: Sendable {
    /// z = h0 + δ `[d1]`: the block-l* output the edit aims for, at the subject's last token.
    public var target: [Float]
    /// h0: the unedited block-l* output there.
    public var initial: [Float]
    /// Total loss (NLL + KL + weight decay) before each update, and at the stop.
    public var losses: [Float]
    /// exp(−NLL) averaged over the rewriting prompts, before and after.
    public var probabilityBefore: Float
    public var probabilityAfter: Float
    /// max |∂loss/∂δ| at δ = 0. Near float32 rounding (≲ 1e-7) the optimisation has no signal:
    /// Adam's first step normalises each component to ±lr whatever its size, so δ follows the
    /// rounding noise of the gradient and the target is not reproducible across implementations.
    public var initialGradient: Float

    public init(target: [Float], initial: [Float], losses: [Float], probabilityBefore: Float, probabilityAfter: Float,
                initialGradient: Float) {
        self.target = target
        self.initial = initial
        self.losses = losses
        self.probabilityBefore = probabilityBefore
        self.probabilityAfter = probabilityAfter
        self.initialGradient = initialGradient
    }
}

/// compute_z: finds δ added to the output of block l* at the subject's last token so that every
/// rewriting prompt continues with the new target, while the KL term keeps "{subject} is a".
public struct TargetOptimizer: Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let hparams: EditHyperParameters
    public let templates: ContextTemplates
    /// The official legacy loop stops before its last iteration (≤ steps − 1 updates); the newer
    /// package runs all steps.
    public var updatesOnLastIteration = false
    public var earlyStopLoss: Float = 5e-2
    public var klPrompt = "{} is a"

    public init(model: any LanguageModel, tokenizer: Tokenizer, hparams: EditHyperParameters, templates: ContextTemplates) {
        self.model = model
        self.tokenizer = tokenizer
        self.hparams = hparams
        self.templates = templates
    }

    /// The target token ids of a request: `encode(target_new)` without a leading BOS/UNK.
    func targetIDs(_ request: EditRequest) -> [Int] {
        var ids = tokenizer.encode(request.targetNew)
        if let first = ids.first, first == tokenizer.bosTokenID || first == tokenizer.unkTokenID {
            ids.removeFirst()
        }
        return ids
    }

    public func optimize(_ request: EditRequest) throws -> TargetResult {
        let layer = hparams.zLayer
        let targets = targetIDs(request)
        precondition(!targets.isEmpty, "target \"\(request.targetNew)\" encodes to no tokens")
        let targetPrefix = tokenizer.decode(Array(targets.dropLast()))
        let rewriting = templates.all.map { fill($0, with: request.prompt) + targetPrefix }
        let prompts = rewriting + [klPrompt]
        let positions = SubjectPosition(tokenizer: tokenizer, factToken: hparams.factToken)
        let lookup = prompts.map { positions.index(template: $0, subject: request.subject) }
        let sequences = prompts.map { tokenizer.encode(fill($0, with: request.subject)) }
        let batch = TokenBatch(sequences, padding: .right, padID: tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0)
        let rewritingCount = rewriting.count

        // Targets: the last n_t real positions of each rewriting row predict t[0] … t[n−1].
        var labels = [Int?](repeating: nil, count: batch.tokenCount)
        for j in 0..<rewritingCount {
            let length = sequences[j].count
            for (i, token) in targets.enumerated() { labels[batch.row(j, length - targets.count + i)] = token }
        }
        // Only the labelled rows and the KL row are projected onto the vocabulary.
        let labelledRows = labels.indices.filter { labels[$0] != nil }
        let logitRows = labelledRows + [batch.row(rewritingCount, lookup[rewritingCount])]
        let compactLabels = labelledRows.map { labels[$0] } + [nil]
        let klRow = logitRows.count - 1
        let rowOfSequence = labelledRows.map { $0 / batch.length }

        // Blocks 0…l* do not depend on δ: run them once.
        let prefix = try model.run(batch, hooks: Hooks(capture: [.blockOutput(layer)], stopAfterBlock: layer))
        let base = prefix.captured[.blockOutput(layer)]!
        let d = model.config.hiddenSize
        let h0 = base.row(batch.row(0, lookup[0]))
        let h0Norm = sqrt(h0.reduce(0) { $0 + $1 * $1 })
        let maxNorm = Float(hparams.clampNormFactor) * h0Norm

        var delta = [Float](repeating: 0, count: d)
        var adam = Adam(count: d, learningRate: Float(hparams.vLearningRate))
        var initialKL: [Float]? = nil
        var losses: [Float] = []
        var probabilityBefore: Float = 0, probabilityAfter: Float = 0
        var initialGradient: Float = 0
        let weightPerTarget = 1 / Float(targets.count * rewritingCount)

        for iteration in 0..<hparams.vNumGradSteps {
            var hidden = base
            for j in 0..<prompts.count {
                let row = batch.row(j, lookup[j])
                for c in 0..<d { hidden.elements[row * d + c] += delta[c] }
            }
            let (result, tape) = try model.run(batch, hooks: Hooks(logitRows: logitRows),
                                               from: (layer: layer + 1, hidden: hidden), keepTape: true)
            let logits = result.logits!
            // NLL: mean over rewriting rows of the per-row mean over target tokens.
            let weights = compactLabels.map { $0 == nil ? Float(0) : weightPerTarget }
            let (nll, dLogitsNLL) = CrossEntropy.meanNLL(logits: logits, targets: compactLabels, weights: weights)
            let probability = rowProbability(logits: logits, labels: compactLabels, sequences: rowOfSequence,
                                             rows: rewritingCount, targets: targets.count)
            if iteration == 0 { probabilityBefore = probability }
            probabilityAfter = probability

            var dLogits = dLogitsNLL
            // KL(current ‖ initial) at the KL prompt's subject token.
            let logProbabilities = CrossEntropy.logSoftmax(logits.elements[(klRow * logits.cols)..<((klRow + 1) * logits.cols)])
            if initialKL == nil { initialKL = logProbabilities }
            var kl: Float = 0
            for (current, initial) in zip(logProbabilities, initialKL!) { kl += expf(current) * (current - initial) }
            kl *= Float(hparams.klFactor)
            // d KL / d logits = factor · p ⊙ (ℓ − ℓ0 − KL/factor)
            let klSum = kl / Float(hparams.klFactor)
            for v in 0..<logits.cols {
                let p = expf(logProbabilities[v])
                dLogits.elements[klRow * logits.cols + v] += Float(hparams.klFactor) * p * (logProbabilities[v] - initialKL![v] - klSum)
            }
            let deltaNorm = sqrt(delta.reduce(0) { $0 + $1 * $1 })
            let weightDecay = Float(hparams.vWeightDecay) * deltaNorm / (h0Norm * h0Norm)
            let loss = nll + kl + weightDecay
            losses.append(loss)
            if loss < earlyStopLoss { break }
            if iteration == hparams.vNumGradSteps - 1 && !updatesOnLastIteration { break }

            // δ enters block l* + 1 (or the final norm): its gradient sums the rows it was added to.
            let g = try model.inputGradient(tape!, dLogits: dLogits)
            var gradient = [Float](repeating: 0, count: d)
            for j in 0..<prompts.count {
                let row = batch.row(j, lookup[j])
                for c in 0..<d { gradient[c] += g.elements[row * d + c] }
            }
            if iteration == 0 { initialGradient = gradient.map { abs($0) }.max() ?? 0 }
            if deltaNorm > 0 {
                let scale = Float(hparams.vWeightDecay) / (h0Norm * h0Norm * deltaNorm)
                for c in 0..<d { gradient[c] += scale * delta[c] }
            }
            adam.update(&delta, gradient: gradient)
            let norm = sqrt(delta.reduce(0) { $0 + $1 * $1 })
            if norm > maxNorm {
                let scale = maxNorm / norm
                for c in 0..<d { delta[c] *= scale }
            }
        }
        return TargetResult(target: zip(h0, delta).map(+), initial: h0, losses: losses,
                            probabilityBefore: probabilityBefore, probabilityAfter: probabilityAfter,
                            initialGradient: initialGradient)
    }

    /// Mean over rewriting rows of exp(−mean NLL of the target tokens).
    /// - Parameters: `logits` `[R, V]` of the labelled rows, `sequences[i]` the rewriting row of logit row i.
    private func rowProbability(logits: Matrix<Float>, labels: [Int?], sequences: [Int], rows: Int, targets: Int) -> Float {
        var nll = [Float](repeating: 0, count: rows)
        for (i, sequence) in sequences.enumerated() {
            guard let label = labels[i] else { continue }
            nll[sequence] -= CrossEntropy.logSoftmax(logits.elements[(i * logits.cols)..<((i + 1) * logits.cols)])[label]
        }
        return nll.reduce(0) { $0 + expf(-$1 / Float(targets)) } / Float(rows)
    }
}
