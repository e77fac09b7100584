import Foundation
import Testing
@testable import Cluster
import Transformer

/// A STAGE_PASS spec from a peer is checked against the model before any row is looked up: token
/// ids outside the vocabulary and positions outside the position table are `badPayload` errors
/// (they used to reach the embedding, which traps or reads out of bounds).
@Suite struct PassSpecTests {
    static let config: ModelConfig = try! ModelConfig.parse(data: Data("""
    {"model_type": "gpt2", "n_layer": 2, "n_embd": 8, "n_head": 2, "n_positions": 16, "vocab_size": 32}
    """.utf8))

    static func spec(ids: [Int], positions: [Int]? = nil) -> PassSpec {
        var spec = PassSpec(batch: TokenBatch([[1, 2, 3]]), firstBlock: 0)
        spec.ids = ids
        if let positions { spec.positions = positions }
        return spec
    }

    static func message(_ spec: PassSpec) -> String? {
        do { _ = try spec.tokenBatch(config: config); return nil } catch { return "\(error)" }
    }

    @Test func aWellFormedSpecGivesItsBatch() throws {
        let batch = try Self.spec(ids: [0, 31, 5]).tokenBatch(config: Self.config)
        #expect(batch.ids == [0, 31, 5])
        #expect(batch.positions == [0, 1, 2])
    }

    @Test func idsOutsideTheVocabularyAreRefused() {
        #expect(Self.message(Self.spec(ids: [0, 32, 5]))?.contains("token 1 has the id 32, outside the model's vocabulary of 32") == true)
        #expect(Self.message(Self.spec(ids: [-1, 2, 5]))?.contains("token 0 has the id -1") == true)
    }

    @Test func positionsOutsideTheTableAreRefused() {
        #expect(Self.message(Self.spec(ids: [1, 2, 3], positions: [0, 16, 2]))?.contains("position 16, outside the model's positions 0…15") == true)
        #expect(Self.message(Self.spec(ids: [1, 2, 3], positions: [0, -4, 2]))?.contains("position -4") == true)
    }

    @Test func captureAndLogitRowsOutsideTheBatchAreRefused() throws {
        func hooksMessage(_ spec: PassSpec) -> String? {
            do { _ = try spec.hooks(config: Self.config, stopAfterBlock: nil); return nil } catch { return "\(error)" }
        }
        var spec = PassSpec(batch: TokenBatch([[1, 2, 3]]), firstBlock: 0, hooks: Hooks(capture: [.mlpDownInput(0)], captureRows: [2, 0]))
        #expect(try spec.hooks(config: Self.config, stopAfterBlock: nil).captureRows == [2, 0])
        spec.captureRows = [1, 3]
        #expect(hooksMessage(spec)?.contains("capture row 3 outside the batch of 3 tokens") == true)
        spec.captureRows = nil
        spec.logitRows = [-1]
        #expect(hooksMessage(spec)?.contains("logit row -1") == true)
    }

    @Test func aPackedBatchTravelsWithItsSegmentsAndBadSegmentsAreRefused() throws {
        let packed = TokenBatch(packing: [[1, 2], [3], [4, 5, 6]], rowLength: 3)
        var spec = try PassSpec.decode(PassSpec(batch: packed, firstBlock: 0).json())
        // A stage needs the rows and who attends to whom, not where each sequence begins.
        var expected = packed
        expected.sequenceStarts = nil
        #expect(try spec.tokenBatch(config: Self.config) == expected)
        #expect(expected.segmentStarts == [0, 0, 0, 0, 0, 2])
        spec.segmentStarts = [0, 0, 0, 0, 0]
        #expect(Self.message(spec)?.contains("carries 5 segment starts") == true)
        spec.segmentStarts = [0, 0, 0, 0, 2, 0]   // row 1 index 1 starts at index 2, after itself
        #expect(Self.message(spec)?.contains("token 4 (index 1 of its row) has the segment start 2, outside 0…1") == true)
        spec.segmentStarts = [0, 0, -1, 0, 0, 0]
        #expect(Self.message(spec)?.contains("segment start -1") == true)
    }

    @Test func aBatchWhoseSizesOverflowIsRefused() {
        var spec = Self.spec(ids: [1, 2, 3])
        spec.batchSize = Int.max / 2
        spec.length = 4
        #expect(Self.message(spec)?.contains("carries 3 ids") == true)
    }
}
