import Foundation
import Linalg
import Transformer

/// Runs a corpus through the model and accumulates the second moment of the MLP keys of the
/// edit layers (spec §2): each sample tokenised on its own (special tokens as the tokenizer adds
/// them, truncated to the model's context), every real token counted, padding excluded.
public struct StatisticsCollector: Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let layers: [Int]
    /// Tokens per forward pass (the official 3 × context length).
    public var batchTokens: Int
    /// Samples sorted by length together before they are cut into forward passes. The official
    /// code sorts each DataLoader batch of 100; a wider window gives passes of samples of nearly
    /// equal length, so less of each pass is padding (on short samples about half of a window of
    /// 100 is). The second moment is the same sum over the same tokens: only the float32 rounding
    /// inside a pass differs.
    public var windowSize = 1000

    public init(model: TransformerModel, tokenizer: Tokenizer, layers: [Int]) {
        self.model = model
        self.tokenizer = tokenizer
        self.layers = layers
        self.batchTokens = 3 * Self.maxLength(model.config)
    }

    /// The truncation length of the official `layer_stats`: n_positions / max_position_embeddings,
    /// 4096 for Mistral (or its sliding window) and Qwen2.
    public static func maxLength(_ config: ModelConfig) -> Int {
        switch config.modelType {
        case .mistral: return config.slidingWindow ?? 4096
        case .qwen2: return min(config.maxPositions, 4096)
        default: return config.maxPositions
        }
    }

    /// Accumulates samples `order[start..<end]` of `corpus` into `statistics` (one per layer).
    /// `statistics` must be symmetric on entry (as every `LayerStatistics` is); it is on return.
    /// - Parameter progress: called after each forward pass with (samples done, tokens done).
    public func accumulate(corpus: Corpus, order: [Int], range: Range<Int>, into statistics: inout [LayerStatistics],
                           progress: (Int, Int) -> Void = { _, _ in }) {
        forEachKeys(corpus: corpus, order: order, range: range, progress: progress) { layer, keys in
            Self.addUpper(keys, layer: layer, into: &statistics)
        }
        for i in statistics.indices {
            statistics[i].samples += range.count
            statistics[i].sum.mirrorUpperTriangle()   // the passes added to the upper triangles only
        }
    }

    /// Runs the forward passes over samples `order[range]`, window by window, and hands `body`
    /// each edit layer's keys of each pass (`[real tokens, d0]`, see ``keys(of:_:)``).
    /// - Parameter progress: called after each forward pass with (samples done, tokens done).
    func forEachKeys(corpus: Corpus, order: [Int], range: Range<Int>, progress: (Int, Int) -> Void,
                     _ body: (_ layer: Int, _ keys: Matrix<Float>) -> Void) {
        var start = range.lowerBound
        var tokens = 0
        while start < range.upperBound {
            let end = min(start + windowSize, range.upperBound)
            let passes = self.passes(corpus: corpus, samples: order[start..<end])
            var done = 0
            for (i, sequences) in passes.enumerated() {
                keys(of: sequences, body)
                tokens += sequences.reduce(0) { $0 + $1.count }
                done += sequences.count
                if i < passes.count - 1 { progress(start - range.lowerBound + done, tokens) }
            }
            start = end
            progress(start - range.lowerBound, tokens)
        }
    }

    /// The forward passes over one window of samples, in the order they run: each sample
    /// tokenised and truncated, the window sorted longest first (as the official
    /// length_collation), empty samples dropped, cut into passes of at most `batchTokens` tokens.
    public func passes(corpus: Corpus, samples: ArraySlice<Int>) -> [[[Int]]] {
        let maxLength = Self.maxLength(model.config)
        var sequences = samples.map { Array(tokenizer.encode(corpus.samples[$0]).prefix(maxLength)) }
        sequences.sort { $0.count > $1.count }
        if let firstEmpty = sequences.firstIndex(where: { $0.isEmpty }) { sequences.removeSubrange(firstEmpty...) }
        var passes: [[[Int]]] = []
        var batchStart = 0
        while batchStart < sequences.count {
            let width = sequences[batchStart].count
            let count = max(1, min(sequences.count - batchStart, batchTokens / max(width, 1)))
            passes.append(Array(sequences[batchStart..<(batchStart + count)]))
            batchStart += count
        }
        return passes
    }

    /// The padded batch of one forward pass.
    public func batch(_ sequences: [[Int]]) -> TokenBatch {
        TokenBatch(sequences, padding: .right, padID: tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0)
    }

    /// One padded forward pass up to the highest layer; the keys of real tokens are accumulated
    /// into the upper triangles (the caller mirrors them).
    func add(_ sequences: [[Int]], into statistics: inout [LayerStatistics]) {
        keys(of: sequences) { layer, keys in Self.addUpper(keys, layer: layer, into: &statistics) }
    }

    /// Adds one pass's keys of `layer` to the upper triangles of that layer's statistics.
    private static func addUpper(_ keys: Matrix<Float>, layer: Int, into statistics: inout [LayerStatistics]) {
        for i in statistics.indices where statistics[i].layer == layer {
            statistics[i].accumulate(keys: keys, mirror: false)
        }
    }

    /// One padded forward pass up to the highest edit layer, handing `body` each edit layer's
    /// keys of the real tokens (`[real tokens, d0]`), lowest layer first.
    ///
    /// The pass runs the same blocks in the same order as one `forward` up to the highest layer,
    /// but in ranges that end at each edit layer: `body` gets a layer's keys as soon as the pass
    /// reaches it, so one layer's keys are held at a time rather than every layer's.
    func keys(of sequences: [[Int]], _ body: (_ layer: Int, _ keys: Matrix<Float>) -> Void) {
        let batch = batch(sequences)
        let real = batch.mask.indices.filter { batch.mask[$0] }
        let rows = real.count == batch.tokenCount ? nil : real
        var unused: [HookPoint: Matrix<Float>] = [:]
        var hidden = model.embed(batch, hooks: Hooks(), captured: &unused)
        var nextBlock = 0
        for layer in Set(layers).sorted() {
            var captured: [HookPoint: Matrix<Float>] = [:]
            (hidden, _) = model.runBlocks(hidden, batch: batch, blocks: nextBlock..<(layer + 1),
                                          hooks: Hooks(capture: [.mlpDownInput(layer)], captureRows: rows),
                                          keepTape: false, captured: &captured)
            nextBlock = layer + 1
            body(layer, captured[.mlpDownInput(layer)]!)
        }
    }

    /// Adds the keys of the batch's real tokens, `captured[.mlpDownInput(layer)]` `[B·T, d0]`, to
    /// the statistics of each layer (one per layer, in `statistics` order).
    /// With `mirror` false only their upper triangles are updated: a caller adding many batches
    /// mirrors once at the end (`sum.mirrorUpperTriangle()`).
    public static func accumulate(batch: TokenBatch, captured: [HookPoint: Matrix<Float>], into statistics: inout [LayerStatistics],
                                  mirror: Bool) {
        let real = batch.mask.enumerated().filter(\.element).map(\.offset)
        for i in statistics.indices {
            let all = captured[.mlpDownInput(statistics[i].layer)]!
            let keys: Matrix<Float>
            if real.count == all.rows {
                keys = all
            } else {
                var packed = Matrix<Float>(rows: real.count, cols: all.cols, repeating: 0)
                for (r, row) in real.enumerated() {
                    for c in 0..<all.cols { packed.elements[r * all.cols + c] = all.elements[row * all.cols + c] }
                }
                keys = packed
            }
            statistics[i].accumulate(keys: keys, mirror: mirror)
        }
    }
}
