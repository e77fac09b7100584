import Foundation
import Testing
@testable import Evaluation

@Suite struct CounterFactScoringTests {
    @Test func officialAlignmentWithoutBOSChangesNothing() {
        let a = TargetAlignment.official(prefixLengths: [3, 5], targetNew: [7, 8], targetTrue: [9], prependsBOS: false)
        #expect(a == TargetAlignment(prefixLengths: [3, 5], targetNew: [7, 8], targetTrue: [9], logitShift: 0))
        #expect(a.requiredLength == 7)
    }

    @Test func officialAlignmentWithBOSDropsItEverywhere() {
        let a = TargetAlignment.official(prefixLengths: [4, 6], targetNew: [1, 7, 8], targetTrue: [1, 9], prependsBOS: true)
        #expect(a == TargetAlignment(prefixLengths: [3, 5], targetNew: [7, 8], targetTrue: [9], logitShift: 1))
        #expect(a.requiredLength == 5 + 2 + 1)
    }

    /// One prefix, V = 4, padded length 6. Sequence 0 = [BOS, p, p, p, n0, n1], sequence 1 = [BOS, p, p, p, t0, pad].
    /// With BOS, prefix_len = 4 → 3 after the adjustment; reads at shifted positions 2, 3 = original 3, 4.
    @Test func bosOffsetReadsTheSameTokensAsCountingTheBOS() {
        let logits: [[[Float]]] = [
            [[0, 0, 0, 0], [0, 0, 0, 0], [9, 0, 0, 0], [0, 0, logf(3), 0], [0, 0, 0, logf(2)], [0, 0, 0, 0]],
            [[0, 0, 0, 0], [0, 0, 0, 0], [9, 0, 0, 0], [0, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        ]
        let bos = TargetAlignment.official(prefixLengths: [4], targetNew: [1, 2, 3], targetTrue: [1, 1], prependsBOS: true)
        let (nll, correct) = CounterFactScoring.score(alignment: bos, correctTargets: [.targetNew], paddedLength: 6) { logits[$0][$1][...] }
        // new: token 2 at position 3 (softmax 3/6), token 3 at position 4 (2/5).
        let expectedNew = Float((log(2.0) + log(5.0 / 2.0)) / 2)
        // true: token 1 at position 3 (e^5 / (e^5 + 3)).
        let expectedTrue = Float(log((exp(5.0) + 3) / exp(5.0)))
        #expect(abs(nll[0].targetNew - expectedNew) < 1e-6)
        #expect(abs(nll[0].targetTrue - expectedTrue) < 1e-6)
        #expect(correct == [true])
        // Without the adjustment, a GPT-2 style layout with the BOS counted in the prefix reads the same rows.
        let plain = TargetAlignment(prefixLengths: [4], targetNew: [2, 3], targetTrue: [1], logitShift: 0)
        let (same, _) = CounterFactScoring.score(alignment: plain, correctTargets: [.targetNew], paddedLength: 6) { logits[$0][$1][...] }
        #expect(same == nll)
    }

    @Test func flagsTestTheNewTargetOrTheTrueTarget() {
        // Position 1 of both sequences favours token 2 (= target_true), so only a .targetTrue flag is set.
        let row: [Float] = [0, 0, 4]
        let logits = [[row, row], [row, row], [row, row], [row, row]]
        let alignment = TargetAlignment(prefixLengths: [2, 2], targetNew: [1], targetTrue: [2], logitShift: 0)
        let (nll, correct) = CounterFactScoring.score(alignment: alignment, correctTargets: [.targetNew, .targetTrue], paddedLength: 2) {
            logits[$0][$1][...]
        }
        #expect(correct == [false, true])
        #expect(nll[0] == nll[1])
        #expect(nll[0].targetTrue < nll[0].targetNew)
    }
}
