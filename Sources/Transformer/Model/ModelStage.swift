import Foundation
import Linalg

/// The weights of a run of consecutive decoder blocks, for a process that holds only part of a
/// model (layer-sharded placement): blocks `blocks`, plus the token and position embeddings when
/// it holds block 0, plus the final norm and LM head (and, with tied embeddings, the token
/// embedding the head reads) when it holds the last block. Every other tensor of `weights` is
/// empty (0 × 0) and is never read from the checkpoint.
public struct ModelStage: Sendable {
    public let config: ModelConfig
    public let blocks: Range<Int>
    public var weights: ModelWeights
    /// The parameters this stage holds, as bound from the checkpoint.
    public let bindings: [ParameterBinding]

    public var holdsEmbedding: Bool { blocks.lowerBound == 0 }
    public var holdsHead: Bool { blocks.upperBound == config.layerCount }

    /// Reads only the stage's tensors (the index's `weight_map` and each shard's header tell
    /// where they are; the files are memory-mapped, so other tensors' bytes are never touched).
    /// - Throws: `ModelLoadError` naming the tensor, or `ModelLoadError.badStage` for a range
    ///   outside the model.
    public static func load(config: ModelConfig, checkpoint: Checkpoint, blocks: Range<Int>, directoryName: String) throws -> ModelStage {
        guard !blocks.isEmpty, blocks.lowerBound >= 0, blocks.upperBound <= config.layerCount else {
            throw ModelLoadError.badStage(directory: directoryName, blocks: "\(blocks.lowerBound)..<\(blocks.upperBound)", layerCount: config.layerCount)
        }
        let family = config.modelType.family
        let all = family.bindings(config)
        let first = blocks.lowerBound == 0, last = blocks.upperBound == config.layerCount
        let held = all.filter { binding in
            if let block = binding.block { return blocks.contains(block) }
            if binding.path == \ModelWeights.tokenEmbedding { return first || (last && config.tiesWordEmbeddings) }
            if binding.name.contains("wpe") { return first }
            return last   // final norm, LM head
        }
        var weights = skeleton(config, vocabulary: first || last, positions: first)
            .emptied(keeping: blocks, embedding: first || (last && config.tiesWordEmbeddings), positions: first, head: last)
        try TransformerModel.bind(held, of: family, from: checkpoint, into: &weights, directoryName: directoryName)
        return ModelStage(config: config, blocks: blocks, weights: weights, bindings: held)
    }

    /// Only the down projections (weight and bias) of `layers`: what the coordinator of a
    /// layer-sharded edit needs (it applies the deltas to them and writes them out; every pass
    /// runs on the workers). ``blocks`` is empty: the result runs no block.
    /// - Throws: `ModelLoadError` naming the tensor, or `ModelLoadError.badStage` for a layer
    ///   outside the model.
    public static func load(config: ModelConfig, checkpoint: Checkpoint, downProjectionsOf layers: [Int],
                            directoryName: String) throws -> ModelStage {
        if let bad = layers.first(where: { $0 < 0 || $0 >= config.layerCount }) {
            throw ModelLoadError.badStage(directory: directoryName, blocks: "\(bad)", layerCount: config.layerCount)
        }
        let family = config.modelType.family
        let wanted = Set(layers.flatMap { l -> [AnyKeyPath] in [\ModelWeights.blocks[l].mlp.down.weight, \ModelWeights.blocks[l].mlp.down.bias!] })
        let held = family.bindings(config).filter { wanted.contains($0.path as AnyKeyPath) }
        let shapes = skeleton(config, vocabulary: false, positions: false)
        var weights = shapes.emptied(keeping: 0..<0, embedding: false, positions: false, head: false)
        for l in layers { weights.blocks[l].mlp.down = shapes.blocks[l].mlp.down }
        try TransformerModel.bind(held, of: family, from: checkpoint, into: &weights, directoryName: directoryName)
        return ModelStage(config: config, blocks: 0..<0, weights: weights, bindings: held)
    }

    /// A stage holding no weights (an idle worker of a layer-sharded plan).
    public static func none(config: ModelConfig) -> ModelStage {
        ModelStage(config: config, blocks: 0..<0, weights: skeleton(config, vocabulary: false, positions: false)
                    .emptied(keeping: 0..<0, embedding: false, positions: false, head: false), bindings: [])
    }

    /// The family's zero weights, with the vocabulary-sized tensors (token embedding, untied LM
    /// head) and the learned positions of 0 rows unless asked for: a stage that holds neither
    /// never touches their bytes (for a 128k × 8192 vocabulary, 4 GB) on its way to dropping them.
    /// The decoder blocks share one block's zeros until bound (copy on write).
    static func skeleton(_ config: ModelConfig, vocabulary: Bool, positions: Bool) -> ModelWeights {
        var shapes = config
        if !vocabulary { shapes.vocabularySize = 0 }
        if !positions { shapes.maxPositions = 0 }
        return config.modelType.family.skeleton(shapes)
    }

    /// The stage's weights as a model that runs only its blocks (``TransformerModel/runBlocks(_:batch:blocks:hooks:keepTape:captured:)``,
    /// and the embeddings or head when it holds them).
    public var model: TransformerModel { TransformerModel(config: config, weights: weights, bindings: bindings) }
}

extension ParameterBinding {
    /// The decoder block of this parameter (`….h.3.…`, `….layers.3.…`), nil for the embeddings,
    /// the final norm and the head.
    public var block: Int? {
        for marker in [".h.", ".layers."] {
            guard let range = name.range(of: marker) else { continue }
            let digits = name[range.upperBound...].prefix { $0.isNumber }
            if let block = Int(digits) { return block }
        }
        return nil
    }
}

extension ModelWeights {
    /// The same weights with every tensor the stage does not hold replaced by an empty matrix.
    func emptied(keeping blocks: Range<Int>, embedding: Bool, positions: Bool, head: Bool) -> ModelWeights {
        let empty = Matrix<Float>(rows: 0, cols: 0)
        func strip(_ linear: Linear) -> Linear {
            var l = linear
            l.weight = empty
            l.bias = l.bias.map { _ in empty }
            return l
        }
        func strip(_ norm: NormWeights) -> NormWeights { NormWeights(weight: empty, bias: norm.bias.map { _ in empty }) }
        var copy = self
        if !embedding { copy.tokenEmbedding = empty }
        if !positions { copy.positionEmbedding = copy.positionEmbedding.map { _ in empty } }
        if !head {
            copy.finalNorm = strip(copy.finalNorm)
            copy.lmHead = copy.lmHead.map(strip)
        }
        for i in copy.blocks.indices where !blocks.contains(i) {
            var b = copy.blocks[i]
            b.norm1 = strip(b.norm1)
            b.norm2 = b.norm2.map(strip)
            b.attention = AttentionWeights(fusedQKV: b.attention.fusedQKV.map(strip), query: b.attention.query.map(strip),
                                           key: b.attention.key.map(strip), value: b.attention.value.map(strip),
                                           output: strip(b.attention.output))
            b.mlp = MLPWeights(up: strip(b.mlp.up), gate: b.mlp.gate.map(strip), down: strip(b.mlp.down))
            copy.blocks[i] = b
        }
        return copy
    }
}
