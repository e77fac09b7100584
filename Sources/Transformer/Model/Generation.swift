import Foundation
import Linalg

/// Keys and values of every block for the tokens seen so far, `[B, capacity, KV·hd]` per block.
struct KVCache {
    let batchSize: Int
    let capacity: Int
    let width: Int
    var keys: [[Float]]
    var values: [[Float]]
    /// `[B·capacity]`: which cached positions are real tokens.
    var mask: [Bool]
    /// Next position id of each sequence.
    var nextPosition: [Int]
    /// Cached tokens per sequence (padding included).
    var length = 0

    /// - Parameter blocks: the blocks whose keys and values are kept (a pipeline stage's); nil for all.
    init(layers: Int, blocks: Range<Int>? = nil, batchSize: Int, capacity: Int, width: Int) {
        self.batchSize = batchSize
        self.capacity = capacity
        self.width = width
        let kept = blocks ?? 0..<layers
        keys = (0..<layers).map { kept.contains($0) ? [Float](repeating: 0, count: batchSize * capacity * width) : [] }
        values = keys
        mask = [Bool](repeating: false, count: batchSize * capacity)
        nextPosition = [Int](repeating: 0, count: batchSize)
    }

    /// Copies the new keys and values of block `layer` into place after the cached ones: rows
    /// `[B·t]` of the fused projection `qkv` (leading dimension `ld`), keys at column
    /// `keyColumn`, values at `valueColumn`, each `width` wide.
    mutating func append(layer: Int, qkv: [Float], keyColumn: Int, valueColumn: Int, ld: Int, count t: Int) {
        precondition(qkv.count >= batchSize * t * ld && length + t <= capacity)
        qkv.withUnsafeBufferPointer { src in
            keys[layer].withUnsafeMutableBufferPointer { k in
                values[layer].withUnsafeMutableBufferPointer { v in
                    for b in 0..<batchSize {
                        for i in 0..<t {
                            let row = src.baseAddress! + (b * t + i) * ld, dst = (b * capacity + length + i) * width
                            (k.baseAddress! + dst).update(from: row + keyColumn, count: width)
                            (v.baseAddress! + dst).update(from: row + valueColumn, count: width)
                        }
                    }
                }
            }
        }
    }
}

/// How the next token is chosen.
public enum Sampling: Sendable, Equatable {
    /// The most likely token.
    case greedy
    /// Sample from the k most likely tokens, renormalised (the official `generate_fast` uses k = 5).
    case topK(Int)
}

extension TransformerModel {
    /// Continues each prompt by `maxNewTokens` tokens with a KV cache.
    ///
    /// Prompts of different lengths are left-padded; every real token keeps positions 0, 1, ….
    /// - Parameters:
    ///   - stopTokens: a sequence that emits one of these stops (the token is kept).
    ///   - seed: the sampling seed (`.topK`); the same seed gives the same text.
    /// - Returns: the new tokens of each prompt.
    /// - Complexity: one forward pass over the prompts, then one single-token pass per new token.
    public func generate(prompts: [[Int]], maxNewTokens: Int, sampling: Sampling = .greedy,
                         seed: UInt64 = 0, stopTokens: Set<Int> = []) -> [[Int]] {
        precondition(prompts.allSatisfy { !$0.isEmpty }, "every prompt needs at least one token")
        let batch = TokenBatch(prompts, padding: .left)
        let capacity = batch.length + maxNewTokens
        if positionLimitApplies {
            let longest = prompts.map(\.count).max()! + maxNewTokens
            precondition(longest <= config.maxPositions,
                         "prompt plus new tokens (\(longest)) exceed the model's \(config.maxPositions) positions")
        }
        var stage = StageGenerator(config: config, blocks: 0..<config.layerCount, batchSize: batch.batchSize, capacity: capacity)
        return Self.generate(batch: batch, maxNewTokens: maxNewTokens, sampling: sampling, seed: seed, stopTokens: stopTokens) { step in
            stage.step(model: self, batch: step, input: nil)
        }
    }

    /// The sampling loop of ``generate(prompts:maxNewTokens:sampling:seed:stopTokens:)`` around
    /// `step`, which runs new tokens `[B, t]` through the model (here or along a pipeline) and
    /// returns the logits of each sequence's last one `[B, V]`.
    public static func generate(batch: TokenBatch, maxNewTokens: Int, sampling: Sampling, seed: UInt64, stopTokens: Set<Int>,
                                step: (TokenBatch) throws -> Matrix<Float>) rethrows -> [[Int]] {
        var generator = SplitMix64(seed: seed)
        var outputs = [[Int]](repeating: [], count: batch.batchSize)
        var finished = [Bool](repeating: false, count: batch.batchSize)
        // The next position of each sequence: one past its last real token's.
        var positions = [Int](repeating: 0, count: batch.batchSize)
        for b in 0..<batch.batchSize {
            for t in 0..<batch.length where batch.mask[b * batch.length + t] {
                positions[b] = batch.positions[b * batch.length + t] + 1
            }
        }

        var logits = try step(batch)
        for _ in 0..<maxNewTokens {
            var next = [Int](repeating: 0, count: batch.batchSize)
            for b in 0..<batch.batchSize {
                next[b] = choose(logits.row(b), sampling: sampling, generator: &generator)
                if !finished[b] {
                    outputs[b].append(next[b])
                    if stopTokens.contains(next[b]) { finished[b] = true }
                }
            }
            if finished.allSatisfy({ $0 }) || outputs.allSatisfy({ $0.count == maxNewTokens }) { break }
            let stepBatch = TokenBatch(batchSize: batch.batchSize, length: 1, ids: next,
                                       mask: [Bool](repeating: true, count: batch.batchSize), positions: positions)
            for b in positions.indices { positions[b] += 1 }
            logits = try step(stepBatch)
        }
        return outputs
    }

    private var positionLimitApplies: Bool { config.positionEncoding == .learned }

    private static func choose(_ logits: [Float], sampling: Sampling, generator: inout SplitMix64) -> Int {
        switch sampling {
        case .greedy:
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return best
        case .topK(let k):
            let top = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
                .prefix(max(1, k))
            let maximum = logits[top.first!]
            let weights = top.map { Double(expf(logits[$0] - maximum)) }
            var u = generator.nextUniform() * weights.reduce(0, +)
            for (index, weight) in zip(top, weights) {
                u -= weight
                if u < 0 { return index }
            }
            return top.last!
        }
    }
}

/// One pipeline stage's part of a generation: the KV cache of its blocks. A stage that holds
/// block 0 embeds the new tokens, one that holds the last block projects the last token of each
/// sequence onto the vocabulary; ``TransformerModel/generate(prompts:maxNewTokens:sampling:seed:stopTokens:)``
/// is one stage holding every block.
public struct StageGenerator: Sendable {
    var cache: KVCache
    public let blocks: Range<Int>

    public init(config: ModelConfig, blocks: Range<Int>, batchSize: Int, capacity: Int) {
        self.blocks = blocks
        cache = KVCache(layers: config.layerCount, blocks: blocks, batchSize: batchSize, capacity: capacity,
                        width: config.keyValueHeadCount * config.headDimension)
    }

    /// Whether a step of `batch` fits the cache.
    public func fits(_ batch: TokenBatch) -> Bool { batch.batchSize == cache.batchSize && cache.length + batch.length <= cache.capacity }

    /// Runs the new tokens of `batch` (`[B, t]`) through the stage's blocks, appending to its cache.
    /// - Parameter input: the previous stage's output `[B·t, d]`; nil on the stage holding block 0.
    /// - Returns: the output of the stage's last block `[B·t, d]`, or, on the stage holding the last
    ///   block, the logits of each sequence's last new token `[B, V]`.
    public mutating func step(model: TransformerModel, batch: TokenBatch, input: Matrix<Float>?) -> Matrix<Float> {
        let config = model.config
        let t = batch.length, past = cache.length
        precondition(past + t <= cache.capacity, "generation past the cache's \(cache.capacity) positions")
        for b in 0..<batch.batchSize {
            for i in 0..<t { cache.mask[b * cache.capacity + past + i] = batch.mask[b * t + i] }
            let last = (0..<t).last { batch.mask[b * t + $0] }.map { batch.positions[b * t + $0] }
            if let last { cache.nextPosition[b] = last + 1 }
        }
        let runner = model.block
        var hidden = input ?? model.embed(batch)
        var workspace = BlockWorkspace()
        var next = Matrix<Float>.empty
        for l in blocks {
            let w = model.weights.blocks[l]
            _ = runner.normalization.forward(hidden, w.norm1, into: &workspace.norm1Output)
            runner.projectQKV(workspace.norm1Output, w.attention, positions: batch.positions, into: &workspace.qkv)
            var geometry = runner.geometry(batch)
            geometry.keyLength = past + t
            geometry.queryOffset = past
            geometry.keyRowsPerSequence = cache.capacity
            cache.append(layer: l, qkv: workspace.qkv, keyColumn: geometry.keyColumn, valueColumn: geometry.valueColumn,
                         ld: geometry.fusedWidth, count: t)
            var noProbabilities: [Float]? = nil
            ScaledDotProductAttention.forward(
                q: StridedMatrix(array: workspace.qkv, offset: 0, ld: geometry.fusedWidth),
                k: StridedMatrix(array: cache.keys[l], offset: 0, ld: cache.width),
                v: StridedMatrix(array: cache.values[l], offset: 0, ld: cache.width),
                keyMask: cache.mask, geometry: geometry, into: &workspace.attended, probabilities: &noProbabilities)
            _ = runner.residualAndMLP(hidden, w, hooks: .none, workspace: &workspace, output: &next)
            swap(&hidden, &next)
        }
        cache.length += t
        guard blocks.upperBound == config.layerCount else { return hidden }
        // Only the last row of each sequence is projected onto the vocabulary.
        var last = Matrix<Float>(rows: batch.batchSize, cols: config.hiddenSize, repeating: 0)
        for b in 0..<batch.batchSize {
            let src = (b * t + t - 1) * config.hiddenSize
            for c in 0..<config.hiddenSize { last.elements[b * config.hiddenSize + c] = hidden.elements[src + c] }
        }
        let (normalized, _) = Normalization(kind: config.normalization).forward(last, model.weights.finalNorm)
        return model.project(normalized)
    }
}
