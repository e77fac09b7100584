import Foundation
import Linalg
import Transformer

/// Which activation a trace restores.
public enum TraceKind: String, Sendable, Codable, CaseIterable {
    /// The block output (the whole residual stream after block l).
    case hidden
    /// The MLP outputs of a window of blocks around l.
    case mlp
    /// The attention outputs of a window of blocks around l.
    case attention

    public var title: String {
        switch self {
        case .hidden: return "single restored layer (block output)"
        case .mlp: return "restored MLP outputs"
        case .attention: return "restored attention outputs"
        }
    }

    func point(_ layer: Int) -> HookPoint {
        switch self {
        case .hidden: return .blockOutput(layer)
        case .mlp: return .mlpOutput(layer)
        case .attention: return .attentionOutput(layer)
        }
    }
}

extension Dictionary where Key == TraceKind {
    /// Keyed by the kinds' names, as trace.json stores them.
    var byName: [String: Value] { Dictionary<String, Value>(uniqueKeysWithValues: map { ($0.key.rawValue, $0.value) }) }

    /// From names; unknown names are dropped.
    init(byName: [String: Value]) {
        self.init(uniqueKeysWithValues: byName.compactMap { name, value in TraceKind(rawValue: name).map { ($0, value) } })
    }
}

/// The settings of a causal trace (ROME, Meng et al. 2022, section 2.1).
public struct CausalTraceOptions: Sendable, Codable, Equatable {
    /// Noisy runs averaged per restoration.
    public var samples = 10
    /// ν = this × σ, σ the standard deviation of the subjects' token embeddings (ROME: 3).
    public var noiseMultiplier: Float = 3
    /// An absolute ν instead of `noiseMultiplier` × σ.
    public var noiseStandardDeviation: Float?
    /// MLP and attention outputs are restored over this many blocks around each layer
    /// (ROME: 10; blocks `l − w/2 ..< l + ⌈w/2⌉`, clipped to the model).
    public var window = 10
    /// Seed of the noise; each prompt's noise starts from it afresh (as ROME's `RandomState(1)`).
    public var seed: UInt64 = 1
    public var kinds: [TraceKind] = TraceKind.allCases
    /// Token rows per forward pass of restorations (memory bound; results do not depend on it).
    public var rowsPerPass = 4096

    public init() {}

    enum CodingKeys: String, CodingKey {
        case samples, noiseMultiplier = "noise_multiplier", noiseStandardDeviation = "noise_std", window, seed, kinds
    }

    /// The blocks whose `kind` outputs are restored for the trace cell of `layer`.
    public func restoredLayers(_ kind: TraceKind, layer: Int, layerCount: Int) -> Range<Int> {
        guard kind != .hidden else { return layer..<(layer + 1) }
        let lower = max(0, layer - window / 2), upper = min(layerCount, layer + (window + 1) / 2)
        return lower..<max(upper, lower + 1)
    }
}

/// One activation row restored to its clean value.
public struct RestoredState: Sendable, Hashable {
    public var point: HookPoint
    public var token: Int
    public init(_ point: HookPoint, token: Int) {
        self.point = point
        self.token = token
    }
}

/// The trace of one prompt: the probability of the true object's first token with each state
/// restored, per token and layer.
public struct PromptTrace: Sendable, Codable {
    public var prompt: TracePrompt
    public var tokens: [String]
    /// Token indices `[start, end)` of the subject.
    public var subjectStart: Int
    public var subjectEnd: Int
    public var targetToken: Int
    /// The clean model's arg-max after the prompt.
    public var predictedToken: Int
    public var cleanProbability: Double
    /// Mean over the noisy runs, nothing restored.
    public var corruptedProbability: Double
    /// kind → `[token][layer]` mean probability with that state restored.
    public var restored: [TraceKind: [[Double]]]

    /// The clean model predicts the true object's first token.
    public var correct: Bool { predictedToken == targetToken }

    enum CodingKeys: String, CodingKey {
        case prompt, tokens, subjectStart = "subject_start", subjectEnd = "subject_end", targetToken = "target_token",
             predictedToken = "predicted_token", cleanProbability = "clean_probability",
             corruptedProbability = "corrupted_probability", restored
    }

    public init(prompt: TracePrompt, tokens: [String], subjectStart: Int, subjectEnd: Int, targetToken: Int,
                predictedToken: Int, cleanProbability: Double, corruptedProbability: Double, restored: [TraceKind: [[Double]]]) {
        self.prompt = prompt
        self.tokens = tokens
        self.subjectStart = subjectStart
        self.subjectEnd = subjectEnd
        self.targetToken = targetToken
        self.predictedToken = predictedToken
        self.cleanProbability = cleanProbability
        self.corruptedProbability = corruptedProbability
        self.restored = restored
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decode(TracePrompt.self, forKey: .prompt)
        tokens = try c.decode([String].self, forKey: .tokens)
        subjectStart = try c.decode(Int.self, forKey: .subjectStart)
        subjectEnd = try c.decode(Int.self, forKey: .subjectEnd)
        targetToken = try c.decode(Int.self, forKey: .targetToken)
        predictedToken = try c.decode(Int.self, forKey: .predictedToken)
        cleanProbability = try c.decode(Double.self, forKey: .cleanProbability)
        corruptedProbability = try c.decode(Double.self, forKey: .corruptedProbability)
        restored = [TraceKind: [[Double]]](byName: try c.decode([String: [[Double]]].self, forKey: .restored))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(subjectStart, forKey: .subjectStart)
        try c.encode(subjectEnd, forKey: .subjectEnd)
        try c.encode(targetToken, forKey: .targetToken)
        try c.encode(predictedToken, forKey: .predictedToken)
        try c.encode(cleanProbability, forKey: .cleanProbability)
        try c.encode(corruptedProbability, forKey: .corruptedProbability)
        try c.encode(restored.byName, forKey: .restored)
    }
}

/// Causal tracing: corrupt the subject's token embeddings with Gaussian noise, restore clean
/// states one at a time, and measure how much of the true object's probability each brings back.
public struct CausalTracer: Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let options: CausalTraceOptions
    /// ν, the standard deviation of the noise added to each subject embedding element.
    public let noise: Float

    /// - Parameter noise: ν; nil = `options.noiseStandardDeviation`, else `noiseMultiplier` × the
    ///   standard deviation of the token embeddings of `subjects`.
    public init(model: TransformerModel, tokenizer: Tokenizer, options: CausalTraceOptions, subjects: [String]) throws {
        guard options.samples >= 1 else { throw TraceError.invalidOption("--samples must be at least 1") }
        guard options.window >= 1 else { throw TraceError.invalidOption("--window must be at least 1") }
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        if let absolute = options.noiseStandardDeviation {
            noise = absolute
        } else {
            let ids = subjects.flatMap { tokenizer.encode($0, addSpecialTokens: false) }
            guard !ids.isEmpty else { throw TraceError.noPrompts("no subject tokens to measure the embedding spread on") }
            noise = options.noiseMultiplier * Self.embeddingStandardDeviation(model.weights.tokenEmbedding, ids: ids)
        }
    }

    /// The (n − 1)-normalised standard deviation of every element of the embedding rows of `ids`
    /// (ROME's `collect_embedding_std`).
    public static func embeddingStandardDeviation(_ table: Matrix<Float>, ids: [Int]) -> Float {
        var sum = 0.0, squares = 0.0, count = 0.0
        for id in ids where id >= 0 && id < table.rows {
            for c in 0..<table.cols {
                let x = Double(table.elements[id * table.cols + c])
                sum += x
                squares += x * x
                count += 1
            }
        }
        guard count > 1 else { return 0 }
        let mean = sum / count
        return Float(((squares - count * mean * mean) / (count - 1)).squareRoot())
    }

    /// The whole trace of one prompt: every (token, layer) cell of every kind in `options.kinds`.
    /// - Parameter progress: called with (cells done, cells in all).
    public func trace(_ prompt: TracePrompt, progress: (Int, Int) -> Void = { _, _ in }) throws -> PromptTrace {
        let run = try TraceRun(tracer: self, prompt: prompt)
        let layers = model.config.layerCount, tokens = run.tokenized.ids.count
        var restored: [TraceKind: [[Double]]] = [:]
        let total = options.kinds.count * layers
        var done = 0
        for kind in options.kinds {
            var table = [[Double]](repeating: [Double](repeating: 0, count: layers), count: tokens)
            for layer in 0..<layers {
                let window = options.restoredLayers(kind, layer: layer, layerCount: layers)
                let sets = (0..<tokens).map { t in window.map { RestoredState(kind.point($0), token: t) } }
                let probabilities = run.probabilities(restoring: sets)
                for t in 0..<tokens { table[t][layer] = probabilities[t] }
                done += 1
                progress(done, total)
            }
            restored[kind] = table
        }
        return PromptTrace(prompt: prompt, tokens: run.tokenized.tokens, subjectStart: run.tokenized.subjectTokens.lowerBound,
                           subjectEnd: run.tokenized.subjectTokens.upperBound, targetToken: run.tokenized.targetToken,
                           predictedToken: run.predictedToken, cleanProbability: run.cleanProbability,
                           corruptedProbability: run.corruptedProbability, restored: restored)
    }
}

/// The clean and corrupted runs of one prompt, from which any set of restorations is computed.
public struct TraceRun: Sendable {
    public let tracer: CausalTracer
    public let tokenized: TokenizedTracePrompt
    public let cleanProbability: Double
    public let corruptedProbability: Double
    public let predictedToken: Int
    /// Clean activations at every hook point a restoration can use, each `[T, d]`.
    let clean: [HookPoint: Matrix<Float>]
    /// The noisy embeddings `[S·T, d]` (sample-major) and the corrupted block outputs, each `[S·T, d]`.
    let noisyEmbeddings: Matrix<Float>
    let corruptedBlockOutputs: [Matrix<Float>]

    public init(tracer: CausalTracer, prompt: TracePrompt) throws {
        self.tracer = tracer
        let model = tracer.model
        tokenized = try TokenizedTracePrompt(prompt, tokenizer: tracer.tokenizer)
        let ids = tokenized.ids, T = ids.count, S = tracer.options.samples, d = model.config.hiddenSize
        let layers = model.config.layerCount

        // Clean run: every block, MLP and attention output.
        var capture: Set<HookPoint> = [.embeddings]
        for l in 0..<layers { capture.formUnion([.blockOutput(l), .mlpOutput(l), .attentionOutput(l)]) }
        let cleanRun = model.forward(TokenBatch([ids]), hooks: Hooks(capture: capture, logitRows: [T - 1])).result
        clean = cleanRun.captured
        let cleanLogits = cleanRun.logits!.row(0)
        cleanProbability = Self.probability(of: tokenized.targetToken, logits: cleanLogits)
        predictedToken = cleanLogits.indices.max { cleanLogits[$0] < cleanLogits[$1] } ?? 0

        // Corrupted run: S copies, noise on the subject's embeddings.
        let batch = TokenBatch(Array(repeating: ids, count: S))
        var embeddings = model.embed(batch)
        var generator = SplitMix64(seed: tracer.options.seed)
        for s in 0..<S {
            for t in tokenized.subjectTokens {
                let base = (s * T + t) * d
                for c in 0..<d { embeddings.elements[base + c] += tracer.noise * generator.nextGaussian() }
            }
        }
        noisyEmbeddings = embeddings
        let lastRows = (0..<S).map { $0 * T + T - 1 }
        let corrupted = model.forward(batch, hooks: Hooks(capture: Set((0..<layers).map { HookPoint.blockOutput($0) }), logitRows: lastRows),
                                      from: (0, embeddings)).result
        corruptedBlockOutputs = (0..<layers).map { corrupted.captured[.blockOutput($0)]! }
        let target = tokenized.targetToken
        corruptedProbability = (0..<S).map { Self.probability(of: target, logits: corrupted.logits!.row($0)) }.reduce(0, +) / Double(S)
    }

    /// For each set of restored states: the true object's probability after the prompt, averaged
    /// over the noisy runs, with those states set to their clean values. An empty set gives the
    /// corrupted probability.
    public func probabilities(restoring sets: [[RestoredState]]) -> [Double] {
        let model = tracer.model
        let T = tokenized.ids.count, S = tracer.options.samples, d = model.config.hiddenSize
        for set in sets {
            for state in set {
                precondition(state.token >= 0 && state.token < T, "restored token \(state.token) outside the prompt of \(T)")
                precondition(clean[state.point] != nil, "\(state.point) cannot be restored")
            }
        }
        // Start at the lowest block any restoration touches; the corrupted run is the same below it.
        let start = sets.joined().map { Self.firstBlock(of: $0.point) }.min() ?? model.config.layerCount
        let startHidden = start == 0 ? noisyEmbeddings : corruptedBlockOutputs[start - 1]
        let perPass = max(1, tracer.options.rowsPerPass / (S * T))
        var result: [Double] = []
        result.reserveCapacity(sets.count)
        var first = 0
        while first < sets.count {
            let group = Array(sets[first..<min(sets.count, first + perPass)])
            first += group.count
            let sequences = group.count * S
            // [G·S·T, d]: the corrupted start state, once per set.
            var hidden = Matrix<Float>(rows: sequences * T, cols: d)
            for g in 0..<group.count {
                hidden.elements.replaceSubrange((g * S * T * d)..<((g + 1) * S * T * d), with: startHidden.elements)
            }
            var replacements: [Replacement] = []
            for (g, set) in group.enumerated() {
                for state in set {
                    let vector = clean[state.point]!.row(state.token)
                    for s in 0..<S {
                        let row = (g * S + s) * T + state.token
                        if Self.isPartOfStart(state.point, start: start) {
                            hidden.elements.replaceSubrange((row * d)..<((row + 1) * d), with: vector)
                        } else {
                            replacements.append(Replacement(point: state.point, row: row, vector: vector))
                        }
                    }
                }
            }
            let batch = TokenBatch(Array(repeating: tokenized.ids, count: sequences))
            let lastRows = (0..<sequences).map { $0 * T + T - 1 }
            let logits = model.forward(batch, hooks: Hooks(replacements: replacements, logitRows: lastRows),
                                       from: (start, hidden)).result.logits!
            for g in 0..<group.count {
                var sum = 0.0
                for s in 0..<S { sum += Self.probability(of: tokenized.targetToken, logits: logits.row(g * S + s)) }
                result.append(sum / Double(S))
            }
        }
        return result
    }

    /// The block a restoration of `point` first changes (embeddings: 0).
    static func firstBlock(of point: HookPoint) -> Int {
        switch point {
        case .embeddings: return 0
        case .blockOutput(let l): return l + 1
        case .mlpOutput(let l), .attentionOutput(let l), .mlpDownInput(let l): return l
        case .finalNorm: return Int.max
        }
    }

    /// Whether `point` is the state the pass starts from (set in it directly rather than by a hook).
    static func isPartOfStart(_ point: HookPoint, start: Int) -> Bool {
        switch point {
        case .embeddings: return true
        case .blockOutput(let l): return l + 1 == start
        default: return false
        }
    }

    /// softmax(logits)[token], in double precision.
    static func probability(of token: Int, logits: [Float]) -> Double {
        let top = Double(logits.max() ?? 0)
        var sum = 0.0
        for x in logits { sum += Foundation.exp(Double(x) - top) }
        return Foundation.exp(Double(logits[token]) - top) / sum
    }
}
