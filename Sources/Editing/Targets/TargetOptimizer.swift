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
    /// At most this many requests are optimised together (see ``groups(_:maxRequests:maxTokens:)``).
    public static let defaultGroupSize = 8
    /// At most this many padded prompt tokens per group: a pipeline keeps two groups in flight
    /// (``LanguageModel/passesInFlight``), which together stay within the 1024-token activation
    /// micro-batch of the placement's memory model.
    public static let defaultGroupTokens = 512

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

    /// Consecutive groups of requests to optimise together: from request 0, each group takes the
    /// next request while it has fewer than `maxRequests` and its prompts, padded to their
    /// longest, stay within `maxTokens` (a request alone may exceed it). A function of the
    /// requests only, so every process cuts the same groups; another cut changes z at float32
    /// rounding, which is why the cluster hands out whole groups.
    public func groups(_ requests: [EditRequest], maxRequests: Int = defaultGroupSize,
                       maxTokens: Int = defaultGroupTokens) throws -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var start = 0, prompts = 0, longest = 0
        for (r, request) in requests.enumerated() {
            let problem = try Problem(request: request, optimizer: self)
            let length = problem.sequences.map(\.count).max() ?? 0
            let fits = r - start < maxRequests && (prompts + problem.prompts.count) * max(longest, length) <= maxTokens
            if r > start && !fits {
                groups.append(start..<r)
                start = r; prompts = 0; longest = 0
            }
            prompts += problem.prompts.count
            longest = max(longest, length)
        }
        if start < requests.count { groups.append(start..<requests.count) }
        return groups
    }

    /// compute_z of one request.
    public func optimize(_ request: EditRequest) throws -> TargetResult {
        try optimize([request])[0]
    }

    /// compute_z of several requests at once: each step runs one forward and one backward pass
    /// over every prompt of the requests still optimising, with Adam, the clamp and the stopping
    /// rule per request. A request's rows never meet another's (each prompt is its own
    /// sequence), so its z is the one it gets alone up to float32 summation order (the products
    /// have other shapes).
    /// - Returns: one result per request, in order.
    public func optimize(_ requests: [EditRequest]) throws -> [TargetResult] {
        guard !requests.isEmpty else { return [] }
        return try optimize(groups: [requests])[0]
    }

    /// ``optimize(_:)-([EditRequest])`` of several groups, their passes sent to the model
    /// together step by step (``LanguageModel/runAll(_:)``): a pipeline's stages then work on
    /// one group while the next stage works on another. Each group's results are the ones it
    /// gets alone.
    public func optimize(groups: [[EditRequest]]) throws -> [[TargetResult]] {
        let layer = hparams.zLayer
        var runs = try groups.map { try GroupRun(requests: $0, optimizer: self) }
        // Blocks 0…l* do not depend on δ: run them once.
        let prefixes = try model.runAll(runs.map {
            PassInput(batch: $0.all.batch, hooks: Hooks(capture: [.blockOutput(layer)], stopAfterBlock: layer))
        })
        for (g, prefix) in prefixes.enumerated() { runs[g].begin(base: prefix.result.captured[.blockOutput(layer)]!, optimizer: self) }

        for iteration in 0..<hparams.vNumGradSteps {
            let live = runs.indices.filter { !runs[$0].finished }
            guard !live.isEmpty else { break }
            let forwards = try model.runAll(live.map {
                PassInput(batch: runs[$0].active.batch, hooks: Hooks(logitRows: runs[$0].active.logitRows),
                          start: (layer: layer + 1, hidden: runs[$0].hidden()), keepTape: true)
            })
            var backwards: [(tape: ForwardTape, dLogits: Matrix<Float>)] = []
            var owners: [Int] = []
            for (k, g) in live.enumerated() {
                if let dLogits = runs[g].losses(logits: forwards[k].result.logits!, iteration: iteration, optimizer: self) {
                    backwards.append((forwards[k].tape!, dLogits))
                    owners.append(g)
                } else {
                    model.discard(forwards[k].tape!)
                    runs[g].finished = true
                }
            }
            for (g, gradient) in zip(owners, try model.inputGradients(backwards)) {
                runs[g].step(gradient: gradient, iteration: iteration, optimizer: self)
            }
        }
        return runs.map(\.results)
    }

    var padID: Int { tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0 }

    /// Mean over rewriting rows of exp(−mean NLL of the target tokens).
    /// - Parameters: `rows`, the request's labelled logit rows; `sequences[i]` the rewriting
    ///   prompt of its i-th labelled row.
    func rowProbability(logits: Matrix<Float>, rows: Range<Int>, labels: [Int?], sequences: [Int],
                                problem: Problem) -> Float {
        var nll = [Float](repeating: 0, count: problem.rewritingCount)
        for (i, r) in rows.enumerated() {
            guard let label = labels[r] else { continue }
            nll[sequences[i]] -= CrossEntropy.logSoftmax(logits.elements[(r * logits.cols)..<((r + 1) * logits.cols)])[label]
        }
        return nll.reduce(0) { $0 + expf(-$1 / Float(problem.targets.count)) } / Float(problem.rewritingCount)
    }
}

extension TargetOptimizer {
    /// One request's prompts: the rewriting prompts (each context template + the request's
    /// prompt + all but the last target token) and the KL prompt, with the subject filled in.
    struct Problem {
        var targets: [Int]
        var prompts: [String]
        var rewritingCount: Int
        /// Per prompt, the index of the subject token δ is added at.
        var lookup: [Int]
        var sequences: [[Int]]
        /// Per labelled row (in row order), the rewriting prompt it belongs to.
        var rowOfSequence: [Int]

        init(request: EditRequest, optimizer o: TargetOptimizer) throws {
            targets = o.targetIDs(request)
            guard !targets.isEmpty else { throw TargetError.emptyTarget(caseID: request.caseID, target: request.targetNew) }
            let targetPrefix = o.tokenizer.decode(Array(targets.dropLast()))
            let rewriting = o.templates.all.map { fill($0, with: request.prompt) + targetPrefix }
            prompts = rewriting + [o.klPrompt]
            rewritingCount = rewriting.count
            let positions = SubjectPosition(tokenizer: o.tokenizer, factToken: o.hparams.factToken)
            lookup = prompts.map { positions.index(template: $0, subject: request.subject) }
            sequences = prompts.map { o.tokenizer.encode(fill($0, with: request.subject)) }
            var rows: [Int] = []
            for j in 0..<rewritingCount { rows += [Int](repeating: j, count: targets.count) }
            rowOfSequence = rows
        }
    }

    /// The prompts of some requests as one packed batch (``TokenBatch/init(packing:rowLength:padID:)``),
    /// with the rows the loss reads.
    struct ProblemBatch {
        /// Indices into the problems, in batch order.
        var members: [Int]
        var batch: TokenBatch
        /// Per member, its first sequence in the batch.
        var firstSequence: [Int]
        /// Per sequence, its token count.
        var sequenceLengths: [Int]
        /// The logit rows: per member its labelled rows (the last n_t real positions of each
        /// rewriting prompt, predicting t[0] … t[n−1]), then its KL row.
        var logitRows: [Int] = []
        /// Per member, its range of logit rows (the KL row last).
        var logitRanges: [Range<Int>] = []
        var labels: [Int?] = []
        var weights: [Float] = []

        init(_ problems: [Problem], members: [Int], padID: Int, hiddenSize: Int) {
            self.members = members
            var sequences: [[Int]] = []
            var first: [Int] = []
            for p in members {
                first.append(sequences.count)
                sequences += problems[p].sequences
            }
            firstSequence = first
            sequenceLengths = sequences.map(\.count)
            batch = TokenBatch(packing: sequences, hiddenSize: hiddenSize, padID: padID)
            for (k, p) in members.enumerated() {
                let problem = problems[p]
                let start = logitRows.count
                let weight = 1 / Float(problem.targets.count * problem.rewritingCount)
                for j in 0..<problem.rewritingCount {
                    let length = problem.sequences[j].count
                    for (i, token) in problem.targets.enumerated() {
                        logitRows.append(batch.row(sequence: first[k] + j, token: length - problem.targets.count + i))
                        labels.append(token)
                        weights.append(weight)
                    }
                }
                logitRows.append(batch.row(sequence: first[k] + problem.rewritingCount, token: problem.lookup[problem.rewritingCount]))
                labels.append(nil)
                weights.append(0)
                logitRanges.append(start..<logitRows.count)
            }
        }

        /// This batch's rows of `hidden` `[B'·T', d]`, the activations of `source` (whose members
        /// include this batch's); padding rows get zeros (no real token reads them).
        func gather(from hidden: Matrix<Float>, of source: ProblemBatch, d: Int) -> Matrix<Float> {
            var out = Matrix<Float>(rows: batch.tokenCount, cols: d, repeating: 0)
            for (k, p) in members.enumerated() {
                let s = source.members.firstIndex(of: p)!
                let count = (k + 1 < members.count ? firstSequence[k + 1] : batch.sequenceCount) - firstSequence[k]
                for j in 0..<count {
                    for t in 0..<sequenceLengths[firstSequence[k] + j] {
                        let from = source.batch.row(sequence: source.firstSequence[s] + j, token: t)
                        let to = batch.row(sequence: firstSequence[k] + j, token: t)
                        out.elements.replaceSubrange((to * d)..<((to + 1) * d), with: hidden.elements[(from * d)..<((from + 1) * d)])
                    }
                }
            }
            return out
        }
    }

    /// One group's optimisation: its requests' prompts, the batch of those still optimising,
    /// and each request's state. Driven by ``optimize(groups:)`` one pass at a time.
    struct GroupRun {
        var problems: [Problem]
        /// Every request's prompts (the prefix pass).
        var all: ProblemBatch
        /// The prompts of the requests still optimising, and the prefix's output on them.
        var active: ProblemBatch
        var activeBase = Matrix<Float>(rows: 0, cols: 0)
        var runs: [Run] = []
        /// Positions in `active.members` that take a step after the current pass.
        var updating: [Int] = []
        var finished = false

        init(requests: [EditRequest], optimizer o: TargetOptimizer) throws {
            problems = try requests.map { try Problem(request: $0, optimizer: o) }
            all = ProblemBatch(problems, members: Array(problems.indices), padID: o.padID, hiddenSize: o.model.config.hiddenSize)
            active = all
        }

        /// The prefix's output `[B·T, d]` at block l*: each request's h0 and the base of every step.
        mutating func begin(base: Matrix<Float>, optimizer o: TargetOptimizer) {
            activeBase = base
            runs = problems.indices.map { p in
                let h0 = base.row(all.batch.row(sequence: all.firstSequence[p], token: problems[p].lookup[0]))
                return Run(h0: h0, maxNormFactor: Float(o.hparams.clampNormFactor), learningRate: Float(o.hparams.vLearningRate))
            }
        }

        /// The prefix's output with each active request's δ added at its subject's last token.
        func hidden() -> Matrix<Float> {
            var hidden = activeBase
            let d = hidden.cols
            for (k, p) in active.members.enumerated() {
                for j in 0..<problems[p].prompts.count {
                    let row = active.batch.row(sequence: active.firstSequence[k] + j, token: problems[p].lookup[j])
                    for c in 0..<d { hidden.elements[row * d + c] += runs[p].delta[c] }
                }
            }
            return hidden
        }

        /// Each active request's loss on this pass's logits (recorded), and dLoss/dLogits for the
        /// requests that take a step; nil when none does (the group is done).
        mutating func losses(logits: Matrix<Float>, iteration: Int, optimizer o: TargetOptimizer) -> Matrix<Float>? {
            // NLL: per request, the mean over its rewriting rows of the per-row mean over target tokens.
            let (rowLoss, dLogitsNLL) = CrossEntropy.rowNLL(logits: logits, targets: active.labels, weights: active.weights)
            var dLogits = dLogitsNLL
            let klFactor = Float(o.hparams.klFactor)
            updating = []
            for (k, p) in active.members.enumerated() {
                let rows = active.logitRanges[k]
                var nllSum: Double = 0
                for r in rows { nllSum += rowLoss[r] }
                let nll = Float(nllSum)
                let probability = o.rowProbability(logits: logits, rows: rows.dropLast(), labels: active.labels,
                                                   sequences: problems[p].rowOfSequence, problem: problems[p])
                if iteration == 0 { runs[p].probabilityBefore = probability }
                runs[p].probabilityAfter = probability

                // KL(current ‖ initial) at the KL prompt's subject token, the request's last logit row.
                let klRow = rows.upperBound - 1
                let logProbabilities = CrossEntropy.logSoftmax(logits.elements[(klRow * logits.cols)..<((klRow + 1) * logits.cols)])
                if runs[p].initialKL == nil { runs[p].initialKL = logProbabilities }
                let initialKL = runs[p].initialKL!
                var kl: Float = 0
                for (current, initial) in zip(logProbabilities, initialKL) { kl += expf(current) * (current - initial) }
                kl *= klFactor
                // d KL / d logits = factor · p ⊙ (ℓ − ℓ0 − KL/factor)
                let klSum = kl / klFactor
                for v in 0..<logits.cols {
                    let probability = expf(logProbabilities[v])
                    dLogits.elements[klRow * logits.cols + v] += klFactor * probability * (logProbabilities[v] - initialKL[v] - klSum)
                }
                let weightDecay = Float(o.hparams.vWeightDecay) * runs[p].deltaNorm / (runs[p].h0Norm * runs[p].h0Norm)
                let loss = nll + kl + weightDecay
                runs[p].losses.append(loss)
                if loss < o.earlyStopLoss { continue }
                if iteration == o.hparams.vNumGradSteps - 1 && !o.updatesOnLastIteration { continue }
                updating.append(k)
            }
            return updating.isEmpty ? nil : dLogits
        }

        /// δ enters block l* + 1 (or the final norm): its gradient sums the rows it was added to.
        /// One step for each updating request; those that stopped leave the batch.
        mutating func step(gradient g: Matrix<Float>, iteration: Int, optimizer o: TargetOptimizer) {
            let d = g.cols
            for k in updating {
                let p = active.members[k]
                var gradient = [Float](repeating: 0, count: d)
                for j in 0..<problems[p].prompts.count {
                    let row = active.batch.row(sequence: active.firstSequence[k] + j, token: problems[p].lookup[j])
                    for c in 0..<d { gradient[c] += g.elements[row * d + c] }
                }
                runs[p].step(gradient: gradient, isFirst: iteration == 0, weightDecay: Float(o.hparams.vWeightDecay))
            }
            if updating.count < active.members.count {
                let next = ProblemBatch(problems, members: updating.map { active.members[$0] }, padID: o.padID,
                                        hiddenSize: o.model.config.hiddenSize)
                activeBase = next.gather(from: activeBase, of: active, d: d)
                active = next
            }
        }

        var results: [TargetResult] {
            runs.map { run in
                TargetResult(target: zip(run.h0, run.delta).map(+), initial: run.h0, losses: run.losses,
                             probabilityBefore: run.probabilityBefore, probabilityAfter: run.probabilityAfter,
                             initialGradient: run.initialGradient)
            }
        }
    }

    /// One request's optimisation state: δ, Adam's moments, the losses so far.
    struct Run {
        var h0: [Float]
        var h0Norm: Float
        var maxNorm: Float
        var delta: [Float]
        var adam: Adam
        var initialKL: [Float]? = nil
        var losses: [Float] = []
        var probabilityBefore: Float = 0
        var probabilityAfter: Float = 0
        var initialGradient: Float = 0

        init(h0: [Float], maxNormFactor: Float, learningRate: Float) {
            self.h0 = h0
            h0Norm = sqrt(h0.reduce(0) { $0 + $1 * $1 })
            maxNorm = maxNormFactor * h0Norm
            delta = [Float](repeating: 0, count: h0.count)
            adam = Adam(count: h0.count, learningRate: learningRate)
        }

        var deltaNorm: Float { sqrt(delta.reduce(0) { $0 + $1 * $1 }) }

        /// The weight decay's gradient added, one Adam step, then δ clamped to `maxNorm`.
        mutating func step(gradient g: [Float], isFirst: Bool, weightDecay: Float) {
            var gradient = g
            if isFirst { initialGradient = gradient.map { abs($0) }.max() ?? 0 }
            let norm = deltaNorm
            if norm > 0 {
                let scale = weightDecay / (h0Norm * h0Norm * norm)
                for c in gradient.indices { gradient[c] += scale * delta[c] }
            }
            adam.update(&delta, gradient: gradient)
            let after = deltaNorm
            if after > maxNorm {
                let scale = maxNorm / after
                for c in delta.indices { delta[c] *= scale }
            }
        }
    }
}

/// A request whose target optimisation cannot start.
public enum TargetError: Error, CustomStringConvertible {
    case emptyTarget(caseID: Int, target: String)

    public var description: String {
        switch self {
        case .emptyTarget(let caseID, let target):
            return "request \(caseID): target_new \"\(target)\" encodes to no tokens; give a non-empty target"
        }
    }
}
