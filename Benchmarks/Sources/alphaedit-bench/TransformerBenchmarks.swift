// The transformer benchmark's model, batch, analytic FLOP count and memory accounting.

import Foundation
import Linalg
import Transformer

/// The GPT-2-shaped model and batch the transformer benchmark runs.
struct TransformerBenchShape: Codable {
    var layers: Int
    var width: Int
    var heads: Int
    var vocabulary: Int
    var positions: Int
    /// Sequences per batch (B).
    var batch: Int
    /// Tokens per sequence (T).
    var length: Int

    var tokens: Int { batch * length }

    /// A GPT-2 config.json for this shape (GPT-2 medium: 24 layers, width 1024, 16 heads).
    func configJSON() -> Data {
        let json = """
            {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": \(layers), "n_embd": \(width),
             "n_head": \(heads), "n_positions": \(positions), "n_ctx": \(positions), "vocab_size": \(vocabulary),
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "tie_word_embeddings": true}
            """
        return Data(json.utf8)
    }

    /// B sequences of T token ids drawn uniformly from the vocabulary (seeded), no padding.
    func tokenBatch(seed: UInt64) -> TokenBatch {
        var state = seed
        var sequences: [[Int]] = []
        for _ in 0..<batch {
            sequences.append((0..<length).map { _ in
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Int((z ^ (z >> 31)) % UInt64(vocabulary))
            })
        }
        return TokenBatch(sequences)
    }
}

// MARK: - FLOPs

/// The model's matrix-product FLOPs for one batch, counted analytically from the shapes.
struct TransformerFlopCount: Codable {
    var method = """
        Matrix products only, 2 flops per multiply-add; element-wise work (norms, GELU, softmax, \
        residual adds, embedding gathers, the loss) is not counted. Per token and layer: QKV \
        projection 2·d·3d, attention scores Q·Kᵀ 2·T·d and weighted values P·V 2·T·d (the full T×T \
        products as executed, causal half included), output projection 2·d², MLP 2·2·d·f (f = 4d); \
        per token: the tied LM head 2·d·V. Backward with parameter gradients does two products per \
        forward product (input gradient and weight gradient; for attention dP, dV, dQ, dK), so \
        backward = 2 × forward and forward+backward = 3 × forward.
        """
    var qkvProjectionPerTokenLayer: Double
    var attentionPerTokenLayer: Double
    var outputProjectionPerTokenLayer: Double
    var mlpPerTokenLayer: Double
    var lmHeadPerToken: Double
    var forward: Double
    var backward: Double
    var forwardBackward: Double

    init(config: ModelConfig, batch: Int, length: Int) {
        let d = Double(config.hiddenSize), f = Double(config.intermediateSize), t = Double(length)
        let qWidth = Double(config.headCount * config.headDimension)
        let kvWidth = Double(config.keyValueHeadCount * config.headDimension)
        let gated = config.modelType.isGatedMLP
        qkvProjectionPerTokenLayer = 2 * d * (qWidth + 2 * kvWidth)
        attentionPerTokenLayer = 2 * t * qWidth + 2 * t * qWidth
        outputProjectionPerTokenLayer = 2 * qWidth * d
        mlpPerTokenLayer = 2 * d * f * (gated ? 3 : 2)
        lmHeadPerToken = 2 * d * Double(config.vocabularySize)
        let perToken = Double(config.layerCount)
            * (qkvProjectionPerTokenLayer + attentionPerTokenLayer + outputProjectionPerTokenLayer + mlpPerTokenLayer)
            + lmHeadPerToken
        forward = perToken * Double(batch * length)
        backward = 2 * forward
        forwardBackward = forward + backward
    }
}

extension ModelType {
    /// Whether the family's MLP has a gate projection (the Llama family).
    var isGatedMLP: Bool {
        switch self {
        case .gpt2, .gptj: false
        default: true
        }
    }
}

// MARK: - Memory

/// One counted buffer of the memory budget.
struct MemoryTerm: Codable {
    var name: String
    /// e.g. `"24 × [1024, 4096]"`.
    var shape: String
    var bytes: Int
}

/// The peak resident set of one phase against float32 weights plus the counted activations.
struct MemoryBudget: Codable {
    /// VmHWM over the phase (reset with /proc/self/clear_refs before it).
    var peakResidentBytes: Int
    /// VmRSS when the phase started (model loaded, previous phase released).
    var residentBytesAtStart: Int
    /// Whether VmHWM could be reset before the phase; if not, the peak covers the whole process.
    var peakWasReset: Bool
    /// float32 bytes of every parameter.
    var weightBytes: Int
    var activationTerms: [MemoryTerm]
    var activationBytes: Int
    /// peak / (weights + activations).
    var ratio: Double
    var goal = 1.2
    var met: Bool

    init(peak: Int, atStart: Int, wasReset: Bool, weightBytes: Int, terms: [MemoryTerm]) {
        peakResidentBytes = peak
        residentBytesAtStart = atStart
        peakWasReset = wasReset
        self.weightBytes = weightBytes
        activationTerms = terms
        activationBytes = terms.reduce(0) { $0 + $1.bytes }
        ratio = Double(peak) / Double(weightBytes + activationBytes)
        met = ratio <= goal
    }
}

/// What the memory budget counts as activations, from the shapes (float32, 4 bytes each).
enum ActivationAccounting {
    /// The intermediates one block's backward pass reads (what a tape keeps per block): the
    /// block input, norm1 output, q, k, v, the attended heads, the residual after attention
    /// and norm2 output (8 × [N, d]), the MLP pre-activation and key (2 × [N, f]) and the
    /// attention probabilities [B, H, T, T].
    static func blockElements(_ config: ModelConfig, _ s: TransformerBenchShape) -> Int {
        let n = s.tokens, d = config.hiddenSize, f = config.intermediateSize
        return 8 * n * d + 2 * n * f + s.batch * config.headCount * s.length * s.length
    }

    private static func blockShape(_ config: ModelConfig, _ s: TransformerBenchShape) -> String {
        let n = s.tokens, d = config.hiddenSize, f = config.intermediateSize
        return "8 × [\(n), \(d)] + 2 × [\(n), \(f)] + [\(s.batch), \(config.headCount), \(s.length), \(s.length)]"
    }

    /// Forward without a tape: the logits, the hidden state, and one block's intermediates
    /// (the block being computed).
    static func forward(_ config: ModelConfig, _ s: TransformerBenchShape) -> [MemoryTerm] {
        let n = s.tokens, d = config.hiddenSize, v = config.vocabularySize
        return [
            MemoryTerm(name: "logits", shape: "[\(n), \(v)]", bytes: 4 * n * v),
            MemoryTerm(name: "hidden state", shape: "[\(n), \(d)]", bytes: 4 * n * d),
            MemoryTerm(name: "one block's intermediates", shape: blockShape(config, s), bytes: 4 * blockElements(config, s)),
        ]
    }

    /// Forward with a tape, loss, backward with parameter gradients: the gradient accumulator
    /// (one float per parameter), every block's tape, the final norm's input and output, the
    /// logits and their gradient, and one block's gradients of its intermediates (the block
    /// being back-propagated).
    static func forwardBackward(_ config: ModelConfig, _ s: TransformerBenchShape, parameterBytes: Int) -> [MemoryTerm] {
        let n = s.tokens, d = config.hiddenSize, v = config.vocabularySize, l = config.layerCount
        return [
            MemoryTerm(name: "parameter gradients", shape: "one float per parameter", bytes: parameterBytes),
            MemoryTerm(name: "tape of every block", shape: "\(l) × (\(blockShape(config, s)))", bytes: 4 * l * blockElements(config, s)),
            MemoryTerm(name: "final norm input and output", shape: "2 × [\(n), \(d)]", bytes: 4 * 2 * n * d),
            MemoryTerm(name: "logits", shape: "[\(n), \(v)]", bytes: 4 * n * v),
            MemoryTerm(name: "logit gradients", shape: "[\(n), \(v)]", bytes: 4 * n * v),
            MemoryTerm(name: "one block's intermediate gradients", shape: blockShape(config, s), bytes: 4 * blockElements(config, s)),
        ]
    }
}

extension ModelWeights {
    /// Every parameter's float32 bytes.
    var floatBytes: Int {
        var count = tokenEmbedding.elements.count + (positionEmbedding?.elements.count ?? 0)
            + finalNorm.weight.elements.count + (finalNorm.bias?.elements.count ?? 0)
        func add(_ linear: Linear?) {
            guard let linear else { return }
            count += linear.weight.elements.count + (linear.bias?.elements.count ?? 0)
        }
        add(lmHead)
        for block in blocks {
            count += block.norm1.weight.elements.count + (block.norm1.bias?.elements.count ?? 0)
            if let norm2 = block.norm2 { count += norm2.weight.elements.count + (norm2.bias?.elements.count ?? 0) }
            add(block.attention.fusedQKV); add(block.attention.query); add(block.attention.key)
            add(block.attention.value); add(block.attention.output)
            add(block.mlp.up); add(block.mlp.gate); add(block.mlp.down)
        }
        return 4 * count
    }
}
