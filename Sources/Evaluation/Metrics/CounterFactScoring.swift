import Transformer

/// The two mean NLLs of one prefix: `target_new` and `target_true` (official `*_prompts_probs` entries).
public struct PromptNLL: Sendable, Equatable, Codable {
    public var targetNew: Float
    public var targetTrue: Float

    public init(targetNew: Float, targetTrue: Float) {
        self.targetNew = targetNew
        self.targetTrue = targetTrue
    }

    enum CodingKeys: String, CodingKey { case targetNew = "target_new", targetTrue = "target_true" }
}

/// Which target a prefix's `*_correct` flag tests (official `which_correct`: 0 new, 1 true).
public enum CorrectTarget: Sendable, Equatable {
    /// Rewrite and paraphrase prompts: the edit should make the new object the argmax.
    case targetNew
    /// Neighbourhood prompts: the true object should stay the argmax.
    case targetTrue
}

/// Target ids and prefix lengths after the BOS adjustment of `test_batch_prediction`.
public struct TargetAlignment: Sendable, Equatable {
    /// Tokens before the target, per prefix, in the coordinates of the (shifted) logits.
    public var prefixLengths: [Int]
    public var targetNew: [Int]
    public var targetTrue: [Int]
    /// Leading logit positions dropped (1 with a BOS tokenizer, `logits[:, 1:, :]`).
    public var logitShift: Int

    public init(prefixLengths: [Int], targetNew: [Int], targetTrue: [Int], logitShift: Int) {
        self.prefixLengths = prefixLengths
        self.targetNew = targetNew
        self.targetTrue = targetTrue
        self.logitShift = logitShift
    }

    /// The official adjustment. With a BOS tokenizer (the official `'llama' in name` branch): drop the
    /// first id of both targets (`tok(" " + target)` starts with BOS), subtract 1 from every prefix length
    /// and drop logit position 0. Position `p_j = prefix + j − 1` of the shifted logits is then position
    /// `prefix + j − 1` of the unshifted ones with the BOS counted, i.e. the same token; the adjustment
    /// only matters for the targets and for Python's negative index when `p_j = −1`.
    /// - Parameters:
    ///   - prefixLengths: `len(tok(prefix))` with default special tokens.
    ///   - targetNew: `tok(" " + target_new)` with default special tokens; likewise `targetTrue`.
    public static func official(prefixLengths: [Int], targetNew: [Int], targetTrue: [Int], prependsBOS: Bool) -> TargetAlignment {
        guard prependsBOS else {
            return TargetAlignment(prefixLengths: prefixLengths, targetNew: targetNew, targetTrue: targetTrue, logitShift: 0)
        }
        return TargetAlignment(prefixLengths: prefixLengths.map { $0 - 1 }, targetNew: Array(targetNew.dropFirst()),
                               targetTrue: Array(targetTrue.dropFirst()), logitShift: 1)
    }

    /// The target scored in sequence `i` of the batch (even: new, odd: true).
    public func target(ofSequence i: Int) -> [Int] { i % 2 == 0 ? targetNew : targetTrue }

    /// The smallest padded length whose logits hold every position the scoring reads.
    public var requiredLength: Int {
        let longest = max(targetNew.count, targetTrue.count)
        return (prefixLengths.max() ?? 0) + longest + logitShift
    }
}

/// `test_batch_prediction` of `experiments/py/eval_utils_counterfact.py` on given logits.
public enum CounterFactScoring {
    /// Scores a record's batch: sequences `2i` and `2i + 1` are `f"{prefix_i} {target_new}"` and
    /// `f"{prefix_i} {target_true}"`.
    /// - Parameters:
    ///   - alignment: from `TargetAlignment.official`.
    ///   - correctTargets: per prefix, which target the accuracy flag tests.
    ///   - paddedLength: T, the positions of every sequence's logits (before the shift).
    ///   - logits: the `V` logits of sequence b at (unshifted) position t.
    /// - Returns: per prefix the two mean NLLs, and per prefix the accuracy flag of its correct side.
    /// - Complexity: O(P·(n_new + n_true)·V).
    public static func score(alignment: TargetAlignment, correctTargets: [CorrectTarget], paddedLength: Int,
                             logits: (_ sequence: Int, _ position: Int) -> ArraySlice<Float>) -> (nll: [PromptNLL], correct: [Bool]) {
        precondition(correctTargets.count == alignment.prefixLengths.count)
        let visible = paddedLength - alignment.logitShift
        var nll: [PromptNLL] = [], correct: [Bool] = []
        for (p, prefixLength) in alignment.prefixLengths.enumerated() {
            var pair: [TeacherForcedScore] = []
            for side in 0..<2 {
                let sequence = 2 * p + side
                pair.append(TeacherForcing.score(target: alignment.target(ofSequence: sequence), prefixLength: prefixLength,
                                                 length: visible) { logits(sequence, $0 + alignment.logitShift) })
            }
            nll.append(PromptNLL(targetNew: pair[0].meanNLL, targetTrue: pair[1].meanNLL))
            correct.append(correctTargets[p] == .targetNew ? pair[0].allArgmaxCorrect : pair[1].allArgmaxCorrect)
        }
        return (nll, correct)
    }
}
