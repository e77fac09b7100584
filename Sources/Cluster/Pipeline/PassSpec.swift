import Foundation
import Linalg
import Transformer

/// The token batch and hooks of a pass through a layer-sharded pipeline, as STAGE_PASS carries
/// them (`spec_json`). Every stage of the pass reads the same spec.
struct PassSpec: Codable, Sendable {
    struct Vector: Codable, Sendable {
        var point: String
        var row: Int
        var vector: [Float]
    }

    var batchSize: Int
    var length: Int
    var ids: [Int]
    var mask: [Bool]
    var positions: [Int]
    /// A packed batch's ``TokenBatch/segmentStarts``; absent for a padded one.
    var segmentStarts: [Int]?
    /// The block the pass entered the pipeline at (its backward pass ends there).
    var firstBlock: Int
    var capture: [String] = []
    var logitRows: [Int]?
    var captureRows: [Int]?
    var additions: [Vector] = []
    var replacements: [Vector] = []

    init(batch: TokenBatch, firstBlock: Int, hooks: Hooks = Hooks()) {
        batchSize = batch.batchSize
        length = batch.length
        ids = batch.ids
        mask = batch.mask
        positions = batch.positions
        segmentStarts = batch.segmentStarts
        self.firstBlock = firstBlock
        capture = hooks.capture.map(\.wireName).sorted()
        logitRows = hooks.logitRows
        captureRows = hooks.captureRows
        additions = hooks.additions.map { Vector(point: $0.point.wireName, row: $0.row, vector: $0.vector) }
        replacements = hooks.replacements.map { Vector(point: $0.point.wireName, row: $0.row, vector: $0.vector) }
    }

    /// The batch, checked against itself and the model (a malformed spec is an error, never a
    /// trap): every id has an embedding row, every position is one the model can encode.
    func tokenBatch(config: ModelConfig) throws -> TokenBatch {
        let (count, overflow) = batchSize.multipliedReportingOverflow(by: length)
        guard batchSize >= 0, length >= 0, !overflow, ids.count == count, mask.count == count, positions.count == count else {
            throw ClusterError.badPayload("STAGE_PASS batch of \(batchSize)×\(length) carries \(ids.count) ids, \(mask.count) mask entries and \(positions.count) positions")
        }
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw ClusterError.badPayload("STAGE_PASS token \(bad) has the id \(ids[bad]), outside the model's vocabulary of \(config.vocabularySize)")
        }
        let positionLimit = config.positionEncoding == .learned ? config.maxPositions : Int(Int32.max)
        if let bad = positions.firstIndex(where: { $0 < 0 || $0 >= positionLimit }) {
            throw ClusterError.badPayload("STAGE_PASS token \(bad) has the position \(positions[bad]), outside the model's positions 0…\(positionLimit - 1)")
        }
        var batch = TokenBatch(batchSize: batchSize, length: length, ids: ids, mask: mask, positions: positions)
        if let segmentStarts {
            guard segmentStarts.count == count else {
                throw ClusterError.badPayload("STAGE_PASS batch of \(batchSize)×\(length) carries \(segmentStarts.count) segment starts")
            }
            // A token's sequence starts at or before it, within its row.
            if let bad = segmentStarts.indices.first(where: { segmentStarts[$0] < 0 || segmentStarts[$0] > $0 % length }) {
                throw ClusterError.badPayload("STAGE_PASS token \(bad) (index \(bad % length) of its row) has the segment start \(segmentStarts[bad]), outside 0…\(bad % length)")
            }
            batch.segmentStarts = segmentStarts
        }
        return batch
    }

    /// The hooks, checked against the model.
    func hooks(config: ModelConfig, stopAfterBlock: Int?) throws -> Hooks {
        let count = batchSize * length
        func point(_ name: String) throws -> HookPoint {
            guard let p = HookPoint(wireName: name, layerCount: config.layerCount) else {
                throw ClusterError.badPayload("STAGE_PASS names hook point \"\(name)\", which a \(config.layerCount)-block model does not have")
            }
            return p
        }
        func vector(_ v: Vector) throws -> (HookPoint, Int, [Float]) {
            guard v.row >= 0, v.row < count, v.vector.count == config.hiddenSize else {
                throw ClusterError.badPayload("STAGE_PASS vector at \(v.point) row \(v.row) of width \(v.vector.count) does not fit a batch of \(count) tokens of width \(config.hiddenSize)")
            }
            return (try point(v.point), v.row, v.vector)
        }
        if let rows = logitRows, let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw ClusterError.badPayload("STAGE_PASS logit row \(bad) outside the batch of \(count) tokens")
        }
        if let rows = captureRows, let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw ClusterError.badPayload("STAGE_PASS capture row \(bad) outside the batch of \(count) tokens")
        }
        var additionList: [Addition] = []
        for a in additions {
            let (p, row, v) = try vector(a)
            switch p {
            case .blockOutput, .mlpOutput: additionList.append(Addition(point: p, row: row, vector: v))
            default: throw ClusterError.badPayload("STAGE_PASS adds a vector at \(p), which takes none")
            }
        }
        var replacementList: [Replacement] = []
        for r in replacements {
            let (p, row, v) = try vector(r)
            switch p {
            case .embeddings, .blockOutput, .mlpOutput, .attentionOutput: replacementList.append(Replacement(point: p, row: row, vector: v))
            default: throw ClusterError.badPayload("STAGE_PASS replaces a row at \(p), which takes none")
            }
        }
        return Hooks(capture: Set(try capture.map(point)), additions: additionList, replacements: replacementList,
                     stopAfterBlock: stopAfterBlock, logitRows: logitRows, captureRows: captureRows)
    }

    func json() throws -> String { String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }

    static func decode(_ json: String) throws -> PassSpec {
        do { return try JSONDecoder().decode(PassSpec.self, from: Data(json.utf8)) } catch {
            throw ClusterError.badPayload("STAGE_PASS spec is not valid: \(error)")
        }
    }
}

extension HookPoint {
    /// The MLP's hidden activation (width d0, the intermediate size), not a residual-stream vector.
    var isMLPDownInput: Bool {
        if case .mlpDownInput = self { return true }
        return false
    }

    /// `embeddings`, `final_norm`, `block_output.3`, `mlp_down_input.3`, `mlp_output.3`, `attention_output.3`.
    var wireName: String {
        switch self {
        case .embeddings: return "embeddings"
        case .finalNorm: return "final_norm"
        case .blockOutput(let l): return "block_output.\(l)"
        case .mlpDownInput(let l): return "mlp_down_input.\(l)"
        case .mlpOutput(let l): return "mlp_output.\(l)"
        case .attentionOutput(let l): return "attention_output.\(l)"
        }
    }

    init?(wireName: String, layerCount: Int) {
        switch wireName {
        case "embeddings": self = .embeddings
        case "final_norm": self = .finalNorm
        default:
            let parts = wireName.split(separator: ".")
            guard parts.count == 2, let l = Int(parts[1]), l >= 0, l < layerCount else { return nil }
            switch parts[0] {
            case "block_output": self = .blockOutput(l)
            case "mlp_down_input": self = .mlpDownInput(l)
            case "mlp_output": self = .mlpOutput(l)
            case "attention_output": self = .attentionOutput(l)
            default: return nil
            }
        }
    }
}

extension Message {
    /// The activations captured so far in a pass: tensors `captured.<point>`.
    func captured(layerCount: Int) throws -> [HookPoint: Matrix<Float>] {
        var result: [HookPoint: Matrix<Float>] = [:]
        for tensor in tensors where tensor.name.hasPrefix("captured.") {
            let name = String(tensor.name.dropFirst("captured.".count))
            guard let point = HookPoint(wireName: name, layerCount: layerCount) else {
                throw ClusterError.badPayload("tensor \(tensor.name) names no hook point of the model")
            }
            result[point] = try tensor.floatMatrix()
        }
        return result
    }

    func hasTensor(_ name: String) -> Bool { tensors.contains { $0.name == name } }
}

extension Dictionary where Key == HookPoint, Value == Matrix<Float> {
    /// As tensors `captured.<point>`, in a fixed order.
    var wireTensors: [WireTensor] {
        sorted { $0.key.wireName < $1.key.wireName }.map { WireTensor(name: "captured.\($0.key.wireName)", matrix: $0.value) }
    }
}
