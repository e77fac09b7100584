import Foundation
import Linalg
import Testing
@testable import Transformer

/// Several sequences in one row (``TokenBatch/init(packing:rowLength:padID:)``): each attends
/// only to itself, so every real token gets its activations and gradients in a padded batch.
@Suite struct PackedBatchTests {
    static let lengths = [7, 3, 12, 5, 1, 9, 4]

    static func sequences(vocabulary: Int) -> [[Int]] {
        lengths.enumerated().map { s, length in (0..<length).map { t in (s * 7919 + t * 104_729 + 11) % vocabulary } }
    }

    @Test func packingPlacesEachSequenceOnceLongestFirst() {
        let sequences = Self.sequences(vocabulary: 1000)
        let batch = TokenBatch(packing: sequences, rowLength: 12, padID: 999)
        // First fit, longest first, rows of 12: [12] [9 3] [7 5] [4 1].
        #expect(batch.batchSize == 4 && batch.length == 12 && batch.sequenceCount == sequences.count)
        #expect(batch.sequenceStarts == [24, 21, 0, 31, 40, 12, 36])
        var covered = [Bool](repeating: false, count: batch.tokenCount)
        for (s, sequence) in sequences.enumerated() {
            for (t, token) in sequence.enumerated() {
                let r = batch.row(sequence: s, token: t)
                #expect(!covered[r], "sequence \(s) token \(t) overlaps another")
                covered[r] = true
                #expect(batch.ids[r] == token && batch.mask[r] && batch.positions[r] == t)
                #expect(batch.segmentStarts![r] == batch.row(sequence: s, token: 0) % batch.length)
            }
        }
        #expect(covered == batch.mask, "only the sequences' tokens are real")
        // The tail of the last row (5 tokens used) is padding that starts its own segment.
        #expect(batch.segmentStarts![(3 * 12 + 5)...] == ArraySlice([Int](repeating: 5, count: 7)))
        // A longer row length holds more; a short one never cuts a sequence.
        #expect(TokenBatch(packing: sequences, rowLength: 100).batchSize == 1)
        #expect(TokenBatch(packing: sequences, rowLength: 1).length == 12)
        // A padded batch is one sequence per row.
        let padded = TokenBatch(sequences, padding: .right)
        #expect(padded.sequenceCount == 7 && padded.row(sequence: 2, token: 3) == padded.row(2, 3) && padded.segmentStarts == nil)
    }

    @Test func theCheapestRowLengthWeighsPaddingAgainstAttention() {
        let lengths = [22, 22, 22, 21, 10, 9, 5, 5, 4]
        let sequences = lengths.map { [Int](repeating: 1, count: $0) }
        func tokenRows(_ length: Int) -> Int { TokenBatch(packing: sequences, rowLength: length).tokenCount }
        // Attention free: no row length in range computes fewer token rows.
        let free = TokenBatch.cheapestRowLength(packing: lengths, maxRowLength: 128, attentionBalance: 1e12)
        #expect((22...128).allSatisfy { tokenRows(free) <= tokenRows($0) }, "row length \(free): \(tokenRows(free)) token rows")
        #expect(tokenRows(free) < tokenRows(22), "longer rows pack these lengths tighter")
        // Attention dominant: the shortest row (the longest sequence's).
        #expect(TokenBatch.cheapestRowLength(packing: lengths, maxRowLength: 128, attentionBalance: 1) == 22)
        // The range starts at the longest sequence, whatever the maximum.
        #expect(TokenBatch.cheapestRowLength(packing: lengths, maxRowLength: 8, attentionBalance: 1e12) == 22)
    }

    /// The real tokens' rows of `m`, sequence by sequence.
    static func realRows(_ m: Matrix<Float>, _ batch: TokenBatch, _ sequences: [[Int]]) -> Matrix<Float> {
        var elements: [Float] = []
        for (s, sequence) in sequences.enumerated() {
            for t in sequence.indices { elements += m.row(batch.row(sequence: s, token: t)) }
        }
        return Matrix(rows: elements.count / m.cols, cols: m.cols, elements: elements)
    }

    @Test(arguments: ["gpt2", "gptj", "llama", "qwen2"])
    func packedRowsGiveThePaddedActivationsAndGradients(folder: String) throws {
        let model = try ReferenceFixture(folder).model
        let sequences = Self.sequences(vocabulary: model.config.vocabularySize)
        let layer = 0
        var results: [(logits: Matrix<Float>, gradient: Matrix<Float>)] = []
        for batch in [TokenBatch(sequences, padding: .right), TokenBatch(packing: sequences, rowLength: 12)] {
            let (result, tape) = model.forward(batch, hooks: Hooks(), keepTape: true)
            // Loss: each sequence's last token predicts its first.
            var targets = [Int?](repeating: nil, count: batch.tokenCount)
            for (s, sequence) in sequences.enumerated() { targets[batch.row(sequence: s, token: sequence.count - 1)] = sequence[0] }
            let (_, dLogits) = CrossEntropy.meanNLL(logits: result.logits!, targets: targets)
            let gradient = model.backward(tape!, dLogits: dLogits, blockOutputs: [layer]).blockOutputGradients[layer]!
            results.append((Self.realRows(result.logits!, batch, sequences), Self.realRows(gradient, batch, sequences)))
        }
        let all = [Bool](repeating: true, count: results[0].logits.rows)
        let logitError = relativeMaxError(results[1].logits, results[0].logits, rows: all)
        let gradientError = relativeMaxError(results[1].gradient, results[0].gradient, rows: all)
        #expect(logitError < 1e-5, "\(folder): logits differ by \(logitError)")
        #expect(gradientError < 1e-5, "\(folder): block \(layer) output gradients differ by \(gradientError)")
    }
}
