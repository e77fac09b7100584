import Foundation
import Transformer

/// Scores of one target under teacher forcing: the target's tokens are in the input, and the logits
/// of the position before each target token are read.
public struct TeacherForcedScore: Sendable, Equatable {
    /// `(1/n) Σ_j −log_softmax(logits[p_j])[y_j]`, accumulated in float32 as the official numpy
    /// array does; NaN for an empty target (numpy's 0/0).
    public var meanNLL: Float
    /// Whether `argmax logits[p_j] == y_j` for every j (true for an empty target).
    public var allArgmaxCorrect: Bool

    public init(meanNLL: Float, allArgmaxCorrect: Bool) {
        self.meanNLL = meanNLL
        self.allArgmaxCorrect = allArgmaxCorrect
    }
}

/// Pure functions over per-position logits, shared by the CounterFact and zsRE metrics.
public enum TeacherForcing {
    /// The index of the largest logit; on ties the **first** maximal index, as `torch.argmax` returns.
    /// NaN logits never win (a documented difference: torch treats NaN as the maximum).
    /// - Complexity: O(V).
    public static func argmax(_ row: ArraySlice<Float>) -> Int {
        precondition(!row.isEmpty, "argmax of an empty row")
        var best = row.startIndex
        for i in row.indices where row[i] > row[best] { best = i }
        return best - row.startIndex
    }

    /// The logit position that predicts target token `j` after a prefix of `prefixLength` tokens:
    /// `prefixLength + j − 1`, with Python's negative indexing (−1 is the last of `length` positions).
    public static func predictingPosition(prefixLength: Int, tokenIndex j: Int, length: Int) -> Int {
        let p = prefixLength + j - 1
        precondition(p >= -length && p < length, "logit position \(p) outside a sequence of \(length)")
        return p < 0 ? p + length : p
    }

    /// Scores `target` read at positions `prefixLength + j − 1` of one sequence's logits.
    /// - Parameters:
    ///   - target: the target's token ids `y_0 … y_{n−1}`.
    ///   - prefixLength: tokens before the target (as the caller counts them).
    ///   - length: positions in `logits` (for negative indexing).
    ///   - logits: the `V` logits of position t.
    /// - Complexity: O(n·V).
    public static func score(target: [Int], prefixLength: Int, length: Int,
                             logits: (Int) -> ArraySlice<Float>) -> TeacherForcedScore {
        var total: Float = 0
        var correct = true
        for (j, token) in target.enumerated() {
            let row = logits(predictingPosition(prefixLength: prefixLength, tokenIndex: j, length: length))
            total += -CrossEntropy.logSoftmax(row)[token]
            if correct && argmax(row) != token { correct = false }
        }
        return TeacherForcedScore(meanNLL: total / Float(target.count), allArgmaxCorrect: correct)
    }
}
