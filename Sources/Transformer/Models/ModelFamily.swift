import Linalg

/// How one family lays out its parameters: the zero-filled weight tree and the checkpoint name of
/// every tensor in it. A new family is one file conforming to this plus one line in `family(for:)`.
protocol ModelFamily {
    /// Weights of the right shapes, all zero.
    static func skeleton(_ config: ModelConfig) -> ModelWeights
    /// Every checkpoint tensor, in the order the family's checkpoints list them.
    static func bindings(_ config: ModelConfig) -> [ParameterBinding]
    /// Maps a checkpoint's tensor name to the canonical one (e.g. GPT-2 files without the
    /// `transformer.` prefix), or nil for buffers that are not parameters.
    static func canonicalName(_ name: String) -> String?
}

extension ModelType {
    var family: any ModelFamily.Type {
        switch self {
        case .gpt2: return GPT2.self
        case .gptj: return GPTJ.self
        case .llama, .mistral, .qwen2: return Llama.self
        }
    }
}

/// Zero-filled building blocks for skeletons.
enum Zeros {
    static func matrix(_ rows: Int, _ cols: Int) -> Matrix<Float> { Matrix(rows: rows, cols: cols, repeating: 0) }
    static func vector(_ n: Int) -> Matrix<Float> { matrix(1, n) }

    /// A layer mapping `inFeatures` → `outFeatures` in `layout`.
    static func linear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool, layout: WeightLayout) -> Linear {
        let weight = layout == .outIn ? matrix(outFeatures, inFeatures) : matrix(inFeatures, outFeatures)
        return Linear(weight: weight, bias: bias ? vector(outFeatures) : nil, layout: layout)
    }

    static func norm(_ d: Int, bias: Bool) -> NormWeights {
        NormWeights(weight: vector(d), bias: bias ? vector(d) : nil)
    }
}

/// Shorthand for declaring bindings.
struct BindingList {
    var items: [ParameterBinding] = []

    mutating func add(_ name: String, _ shape: [Int], _ path: WritableKeyPath<ModelWeights, Matrix<Float>> & Sendable) {
        items.append(ParameterBinding(name: name, shape: shape, path: path))
    }
}

extension ModelType {
    /// The canonical tensor name of a name as a checkpoint stores it (e.g. GPT-2 files without the
    /// `transformer.` prefix), or nil for buffers that are not parameters.
    public func canonicalTensorName(_ name: String) -> String? { family.canonicalName(name) }
}
