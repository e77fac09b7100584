import Linalg

/// A place inside the model whose activations can be read or changed.
public enum HookPoint: Hashable, Sendable, CustomStringConvertible {
    /// Input of block 0 (token + position embeddings).
    case embeddings
    /// Output of block l: the residual stream after it (HF `transformer.h.{l}` / `model.layers.{l}`).
    case blockOutput(Int)
    /// Input of the MLP down projection of block l: the AlphaEdit key (`c_proj` / `fc_out` / `down_proj` input).
    case mlpDownInput(Int)
    /// Output of the MLP of block l, bias included, before the residual add.
    case mlpOutput(Int)
    /// Output of the attention of block l (after its output projection, bias included), before the
    /// residual add.
    case attentionOutput(Int)
    /// Output of the final norm.
    case finalNorm

    public var description: String {
        switch self {
        case .embeddings: return "embeddings"
        case .blockOutput(let l): return "block \(l) output"
        case .mlpDownInput(let l): return "block \(l) MLP down-projection input"
        case .mlpOutput(let l): return "block \(l) MLP output"
        case .attentionOutput(let l): return "block \(l) attention output"
        case .finalNorm: return "final norm output"
        }
    }

    /// The block the point belongs to, if any.
    var layer: Int? {
        switch self {
        case .blockOutput(let l), .mlpDownInput(let l), .mlpOutput(let l), .attentionOutput(let l): return l
        case .embeddings, .finalNorm: return nil
        }
    }
}

/// A vector added to an activation at one token (the δ of AlphaEdit's target optimisation).
public struct Addition: Sendable {
    /// `.blockOutput(l)` or `.mlpOutput(l)`.
    public var point: HookPoint
    /// Flat token row `b·T + t` of the batch.
    public var row: Int
    /// `[d]`, the hidden width.
    public var vector: [Float]

    public init(point: HookPoint, row: Int, vector: [Float]) {
        precondition({ if case .blockOutput = point { return true }; if case .mlpOutput = point { return true }; return false }(),
                     "additions go to block or MLP outputs")
        self.point = point
        self.row = row
        self.vector = vector
    }
}

/// A row of an activation overwritten with a given vector (causal tracing's restoration of a clean
/// state into a corrupted run). Later blocks see the new value.
public struct Replacement: Sendable {
    /// `.embeddings`, `.blockOutput(l)`, `.mlpOutput(l)` or `.attentionOutput(l)`.
    public var point: HookPoint
    /// Flat token row `b·T + t` of the batch.
    public var row: Int
    /// `[d]`, the hidden width.
    public var vector: [Float]

    public init(point: HookPoint, row: Int, vector: [Float]) {
        precondition({
            switch point {
            case .embeddings, .blockOutput, .mlpOutput, .attentionOutput: return true
            case .mlpDownInput, .finalNorm: return false
            }
        }(), "replacements go to the embeddings or to block, MLP or attention outputs")
        self.point = point
        self.row = row
        self.vector = vector
    }
}

/// What a forward pass reads and changes besides computing logits.
public struct Hooks: Sendable {
    /// Activations to return, each `[B·T, width]` (or `[R, width]` for `captureRows`).
    public var capture: Set<HookPoint>
    /// Vectors added to activations; later blocks see the sum.
    public var additions: [Addition]
    /// Rows overwritten (after any additions at the same point); later blocks see the new rows.
    public var replacements: [Replacement]
    /// Stop after this block (no logits): for statistics passes that only need early keys.
    public var stopAfterBlock: Int?
    /// Project only these flat token rows onto the vocabulary: the logits are then `[R, V]` in this
    /// order (and `backward` takes dLogits of that shape). nil projects every row.
    public var logitRows: [Int]?
    /// Keep only these flat token rows of every captured activation, in this order (the subject
    /// rows a key pass reads: a layer-sharded stage then returns `[R, width]`, not the whole
    /// batch). nil keeps every row.
    public var captureRows: [Int]?

    public init(capture: Set<HookPoint> = [], additions: [Addition] = [], replacements: [Replacement] = [],
                stopAfterBlock: Int? = nil, logitRows: [Int]? = nil, captureRows: [Int]? = nil) {
        self.capture = capture
        self.additions = additions
        self.replacements = replacements
        self.stopAfterBlock = stopAfterBlock
        self.logitRows = logitRows
        self.captureRows = captureRows
    }

    /// What a capture keeps of `activation` `[B·T, width]`: the `captureRows`, or all of it.
    func kept(_ activation: Matrix<Float>) -> Matrix<Float> {
        captureRows.map { TransformerModel.gather(activation, rows: $0) } ?? activation
    }

    func additions(at point: HookPoint) -> [Addition] {
        additions.filter { $0.point == point }
    }

    func replacements(at point: HookPoint) -> [Replacement] {
        replacements.filter { $0.point == point }
    }

    /// What block l reads and changes inside it.
    func block(_ l: Int) -> BlockHooks {
        BlockHooks(mlpAdditions: additions(at: .mlpOutput(l)), mlpReplacements: replacements(at: .mlpOutput(l)),
                   attentionReplacements: replacements(at: .attentionOutput(l)),
                   captureMLPOutput: capture.contains(.mlpOutput(l)), captureAttentionOutput: capture.contains(.attentionOutput(l)))
    }
}

/// Resolves Hugging Face module names (the templates of the official hparams files, e.g.
/// `transformer.h.{}.mlp.c_proj`) to hook points.
public struct ModuleNames: Sendable {
    public let config: ModelConfig

    public init(config: ModelConfig) { self.config = config }

    /// `transformer.h` or `model.layers`.
    public var blockPrefix: String {
        switch config.modelType {
        case .gpt2, .gptj: return "transformer.h"
        case .llama, .mistral, .qwen2: return "model.layers"
        }
    }

    /// The rewrite (MLP down projection) module name of layer l.
    public func downProjection(_ l: Int) -> String {
        switch config.modelType {
        case .gpt2: return "transformer.h.\(l).mlp.c_proj"
        case .gptj: return "transformer.h.\(l).mlp.fc_out"
        case .llama, .mistral, .qwen2: return "model.layers.\(l).mlp.down_proj"
        }
    }

    public var finalNormName: String { config.modelType == .gpt2 || config.modelType == .gptj ? "transformer.ln_f" : "model.norm" }

    /// Which activation is the input (`input: true`) or output of the named module.
    /// - Returns: nil when the name is not a module alphaedit can hook.
    public func hookPoint(module name: String, input: Bool) -> HookPoint? {
        if name == finalNormName { return input ? .blockOutput(config.layerCount - 1) : .finalNorm }
        let prefix = blockPrefix + "."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = parts.first, let layer = Int(first), layer >= 0, layer < config.layerCount else { return nil }
        let suffix = parts.dropFirst().joined(separator: ".")
        let down = downProjection(layer).dropFirst(prefix.count + String(layer).count + 1)
        switch suffix {
        case "":
            if input { return layer == 0 ? .embeddings : .blockOutput(layer - 1) }
            return .blockOutput(layer)
        case "mlp":
            return input ? nil : .mlpOutput(layer)
        case String(down):
            return input ? .mlpDownInput(layer) : .mlpOutput(layer)
        default:
            return nil
        }
    }

    /// Expands a template with `{}` for the layer, e.g. `transformer.h.{}.mlp.c_proj`.
    public static func format(_ template: String, layer: Int) -> String {
        template.replacingOccurrences(of: "{}", with: String(layer))
    }
}
