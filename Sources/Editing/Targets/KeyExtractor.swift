import Foundation
import Linalg
import Transformer

/// Reads activations at the subject's last token of templated prompts (spec §4.3, §6).
public struct KeyExtractor: Sendable {
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    public let factToken: FactToken
    /// Sentences per forward pass (the official code uses 128).
    public var chunkSize = 128

    public init(model: any LanguageModel, tokenizer: Tokenizer, factToken: FactToken) {
        self.model = model
        self.tokenizer = tokenizer
        self.factToken = factToken
    }

    /// The activation at `point` for each (template, subject) pair, at the subject's last token.
    /// - Returns: `[pairs, width]`.
    public func activations(templates: [String], subjects: [String], at point: HookPoint) throws -> Matrix<Float> {
        precondition(templates.count == subjects.count)
        let positions = SubjectPosition(tokenizer: tokenizer, factToken: factToken)
        var rows: [[Float]] = []
        rows.reserveCapacity(templates.count)
        var start = 0
        while start < templates.count {
            let end = min(start + chunkSize, templates.count)
            let sequences = (start..<end).map { tokenizer.encode(fill(templates[$0], with: subjects[$0])) }
            let indices = (start..<end).map { positions.index(template: templates[$0], subject: subjects[$0]) }
            // Packed several to a row (as the target optimisation's prompts), not padded to the longest.
            let batch = TokenBatch(packing: sequences, hiddenSize: model.config.hiddenSize,
                                   padID: tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0)
            // Only the subject rows come back (`[R, width]`; across hosts, not the whole batch).
            let subjectRows = indices.enumerated().map { batch.row(sequence: $0.offset, token: $0.element) }
            let result = try model.run(batch, hooks: Hooks(capture: [point], stopAfterBlock: point.layerIndex, captureRows: subjectRows))
            let captured = result.captured[point]!
            for i in subjectRows.indices { rows.append(captured.row(i)) }
            start = end
        }
        let width = rows.first?.count ?? 0
        return Matrix(rows: rows.count, cols: width, elements: Array(rows.joined()))
    }

    /// compute_ks: the key of each request at `layer`, the mean over template groups of the mean
    /// within each group of the down projection's input at the subject's last token.
    /// - Returns: K `[d0, N]` (one column per request).
    public func keys(requests: [EditRequest], layer: Int, templates: ContextTemplates) throws -> Matrix<Float> {
        var sentences: [String] = [], subjects: [String] = []
        for request in requests {
            for template in templates.all {
                sentences.append(fill(template, with: request.prompt))
                subjects.append(request.subject)
            }
        }
        let all = try activations(templates: sentences, subjects: subjects, at: .mlpDownInput(layer))
        let width = all.cols, perRequest = templates.all.count
        var keys = Matrix<Float>(rows: width, cols: requests.count, repeating: 0)
        for r in 0..<requests.count {
            var offset = r * perRequest
            let groupWeight = 1 / Float(templates.groups.count)
            for group in templates.groups {
                let weight = groupWeight / Float(group.count)
                for _ in group {
                    for c in 0..<width { keys.elements[c * requests.count + r] += weight * all.elements[offset * width + c] }
                    offset += 1
                }
            }
        }
        return keys
    }

    /// The output of block `layer` at the subject's last token of each bare prompt: `[d1, N]`.
    public func blockOutputs(requests: [EditRequest], layer: Int) throws -> Matrix<Float> {
        try activations(templates: requests.map(\.prompt), subjects: requests.map(\.subject), at: .blockOutput(layer)).transposed()
    }
}

extension HookPoint {
    /// The block to stop after to read this point (nil: run the whole model).
    var layerIndex: Int? {
        switch self {
        case .blockOutput(let l), .mlpDownInput(let l), .mlpOutput(let l), .attentionOutput(let l): return l
        case .embeddings: return 0
        case .finalNorm: return nil
        }
    }
}
