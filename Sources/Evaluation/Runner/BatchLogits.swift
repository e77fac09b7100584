import Linalg
import Transformer

/// A right-padded batch and the model's logits for it, read by (sequence, position).
struct BatchLogits {
    let batch: TokenBatch
    let flat: [Float]
    let vocabulary: Int

    /// Pads `sequences` on the right with `padID` to `length` (at least the longest) and runs the model.
    init(model: any EvaluatedModel, sequences: [[Int]], padID: Int, length: Int = 0) {
        let t = max(length, sequences.map(\.count).max() ?? 0)
        var ids: [Int] = [], mask: [Bool] = []
        ids.reserveCapacity(sequences.count * t)
        mask.reserveCapacity(sequences.count * t)
        for sequence in sequences {
            ids += sequence + [Int](repeating: padID, count: t - sequence.count)
            mask += [Bool](repeating: true, count: sequence.count) + [Bool](repeating: false, count: t - sequence.count)
        }
        batch = TokenBatch(batchSize: sequences.count, length: t, ids: ids, mask: mask)
        let logits = model.logits(batch)
        precondition(logits.rows == batch.tokenCount, "the model returned \(logits.rows) logit rows for \(batch.tokenCount) tokens")
        flat = logits.elements
        vocabulary = logits.cols
    }

    /// The `V` logits of sequence b at position t.
    func row(_ b: Int, _ t: Int) -> ArraySlice<Float> {
        let start = batch.row(b, t) * vocabulary
        return flat[start..<(start + vocabulary)]
    }
}
