import Foundation
import Testing
@testable import Evaluation

@Suite struct TeacherForcingTests {
    @Test func argmaxTakesTheFirstOfTiedMaxima() {
        #expect(TeacherForcing.argmax([1, 3, 3, 2][...]) == 1)
        #expect(TeacherForcing.argmax([0, 0, 0][...]) == 0)
        #expect(TeacherForcing.argmax([-1, -5, 7][...]) == 2)
        // A slice of a flat buffer: the index is relative to the row.
        let flat: [Float] = [9, 9, 9, 0, 4, 4]
        #expect(TeacherForcing.argmax(flat[3..<6]) == 1)
    }

    @Test func positionsFollowPythonIndexing() {
        #expect(TeacherForcing.predictingPosition(prefixLength: 3, tokenIndex: 0, length: 6) == 2)
        #expect(TeacherForcing.predictingPosition(prefixLength: 3, tokenIndex: 2, length: 6) == 4)
        // prefix_len + j − 1 = −1 reads the last position, as logits[i, -1] does.
        #expect(TeacherForcing.predictingPosition(prefixLength: 0, tokenIndex: 0, length: 6) == 5)
    }

    /// Rows (V = 3): position 1 `[0, 0, 0]` (uniform), position 2 `[ln 2, 0, 0]` (softmax 1/2, 1/4, 1/4).
    static let rows: [[Float]] = [[5, 5, 5], [0, 0, 0], [logf(2), 0, 0], [1, 2, 3]]

    @Test func multiTokenTargetNLLIsTheMeanOverTokens() {
        // Target [2, 0] after 2 prefix tokens: −log(1/3) at position 1, −log(1/2) at position 2.
        let score = TeacherForcing.score(target: [2, 0], prefixLength: 2, length: 4) { Self.rows[$0][...] }
        #expect(abs(score.meanNLL - Float((log(3.0) + log(2.0)) / 2)) < 1e-6)
        // Position 1 is a three-way tie: torch.argmax picks 0, not 2.
        #expect(!score.allArgmaxCorrect)
        let hit = TeacherForcing.score(target: [0, 0], prefixLength: 2, length: 4) { Self.rows[$0][...] }
        #expect(hit.allArgmaxCorrect)
        #expect(abs(hit.meanNLL - Float((log(3.0) + log(2.0)) / 2)) < 1e-6)
        let last = TeacherForcing.score(target: [2], prefixLength: 4, length: 4) { Self.rows[$0][...] }
        #expect(last.allArgmaxCorrect)
        #expect(abs(last.meanNLL - Float(log(exp(1.0) + exp(2.0) + exp(3.0)) - 3)) < 1e-6)
    }

    @Test func emptyTargetIsNaNAsNumpy() {
        let score = TeacherForcing.score(target: [], prefixLength: 1, length: 4) { Self.rows[$0][...] }
        #expect(score.meanNLL.isNaN && score.allArgmaxCorrect)
    }
}
