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

    /// Copies the new rows `[B·t, width]` of block `layer` into place after the cached ones.
    mutating func append(layer: Int, keys newKeys: [Float], values newValues: [Float], count t: Int) {
        for b in 0..<batchSize {
            for i in 0..<t {
                let src = (b * t + i) * width, dst = (b * capacity + length + i) * width
                for c in 0..<width {
                    keys[layer][dst + c] = newKeys[src + c]
                    values[layer][dst + c] = newValues[src + c]
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
        for l in 0..<config.layerCount {
            let w = weights.blocks[l]
            let (h1, _) = runner.normalization.forward(hidden, w.norm1)
            let (q, k, v) = runner.projectQKV(h1, w.attention, positions: batch.positions)
            cache.append(layer: l, keys: k, values: v, count: t)
            var geometry = runner.geometry(batch)
            geometry.keyLength = past + t
            geometry.queryOffset = past
            geometry.keyRowsPerSequence = cache.capacity
            let (attended, _) = ScaledDotProductAttention.forward(
                q: q, k: cache.keys[l], v: cache.values[l], keyMask: cache.mask, geometry: geometry,
                keepProbabilities: false)
            let attentionOutput = w.attention.output.forward(attended)
            if config.parallelResidual {
                hidden = hidden + attentionOutput + runner.mlpForward(h1, w.mlp).output
            } else {
                let middle = hidden + attentionOutput
                let (h2, _) = runner.normalization.forward(middle, w.norm2!)
                hidden = middle + runner.mlpForward(h2, w.mlp).output
            }
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
