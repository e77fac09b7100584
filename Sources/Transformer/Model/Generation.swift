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

    init(layers: Int, batchSize: Int, capacity: Int, width: Int) {
        self.batchSize = batchSize
        self.capacity = capacity
        self.width = width
        keys = Array(repeating: [Float](repeating: 0, count: batchSize * capacity * width), count: layers)
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
        var cache = KVCache(layers: config.layerCount, batchSize: batch.batchSize, capacity: capacity,
                            width: config.keyValueHeadCount * config.headDimension)
        var generator = SplitMix64(seed: seed)
        var outputs = [[Int]](repeating: [], count: batch.batchSize)
        var finished = [Bool](repeating: false, count: batch.batchSize)

        var logits = step(batch, cache: &cache)
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
            let positions = cache.nextPosition
            let stepBatch = TokenBatch(batchSize: batch.batchSize, length: 1, ids: next,
                                       mask: [Bool](repeating: true, count: batch.batchSize), positions: positions)
            logits = step(stepBatch, cache: &cache)
        }
        return outputs
    }

    private var positionLimitApplies: Bool { config.positionEncoding == .learned }

    /// Runs the new tokens of `batch` (`[B, t]`) through every block, appending to `cache`.
    /// - Returns: the logits of the last new token of each sequence `[B, V]`.
    func step(_ batch: TokenBatch, cache: inout KVCache) -> Matrix<Float> {
        let t = batch.length, past = cache.length
        for b in 0..<batch.batchSize {
            for i in 0..<t { cache.mask[b * cache.capacity + past + i] = batch.mask[b * t + i] }
            let last = (0..<t).last { batch.mask[b * t + $0] }.map { batch.positions[b * t + $0] }
            if let last { cache.nextPosition[b] = last + 1 }
        }
        let runner = block
        var hidden = embed(batch)
        var workspace = BlockWorkspace()
        var next = Matrix<Float>.empty
        for l in 0..<config.layerCount {
            let w = weights.blocks[l]
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
        // Only the last row of each sequence is projected onto the vocabulary.
        var last = Matrix<Float>(rows: batch.batchSize, cols: config.hiddenSize, repeating: 0)
        for b in 0..<batch.batchSize {
            let src = (b * t + t - 1) * config.hiddenSize
            for c in 0..<config.hiddenSize { last.elements[b * config.hiddenSize + c] = hidden.elements[src + c] }
        }
        let (normalized, _) = Normalization(kind: config.normalization).forward(last, weights.finalNorm)
        return project(normalized)
    }

    private func choose(_ logits: [Float], sampling: Sampling, generator: inout SplitMix64) -> Int {
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
