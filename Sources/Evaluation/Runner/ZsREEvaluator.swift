import Foundation

/// `compute_rewrite_quality_zsre` (spec §10.4) for one model.
public struct ZsREEvaluator: Sendable {
    public var model: any EvaluatedModel
    public var tokenizer: any EvaluationTokenizer
    /// Queries per forward pass (the official code runs each list as one batch; only rounding differs).
    public var batchSize: Int

    public init(model: any EvaluatedModel, tokenizer: any EvaluationTokenizer, batchSize: Int = 64) {
        precondition(batchSize > 0)
        self.model = model
        self.tokenizer = tokenizer
        self.batchSize = batchSize
    }

    /// Evaluates one converted record: the teacher-forced token queries of the rewrite prompt and the
    /// paraphrase (`ZsREScoring.teacherForcedQueries`) and the neighbourhood queries, each scored by the
    /// argmax at the last real position of its right-padded row.
    /// - Throws: `EvaluationError` for a sequence the model cannot read.
    public func evaluate(_ record: ZsRECase) throws -> ZsRERecordResult {
        let prompts = [record.rewritePrompt] + record.paraphrasePrompts
        let queries = ZsREScoring.teacherForcedQueries(prompts: prompts, target: record.targetNew, tokenizer: tokenizer)
        if queries.isEmpty { throw EvaluationError.emptyTarget(caseID: record.caseID, target: record.targetNew) }
        let flags = try accuracy(queries, caseID: record.caseID)
        let perPrompt = queries.count / prompts.count
        return ZsRERecordResult(
            caseID: record.caseID, rewritePromptsCorrect: Array(flags[..<perPrompt]),
            paraphrasePromptsCorrect: Array(flags[perPrompt...]),
            neighborhoodPromptsCorrect: try accuracy(record.neighborhoodPrompts, caseID: record.caseID))
    }

    /// `test_batch_prediction_acc`: per query, whether the top-1 token after its prompt is the expected id.
    public func accuracy(_ queries: [ZsREQuery], caseID: Int) throws -> [Bool] {
        var flags: [Bool] = []
        var start = 0
        while start < queries.count {
            let chunk = queries[start..<min(start + batchSize, queries.count)]
            let sequences = chunk.map { tokenizer.tokenIDs(for: $0.prompt) }
            for (query, sequence) in zip(chunk, sequences) {
                if sequence.isEmpty { throw EvaluationError.emptyPrompt(caseID: caseID, prompt: query.prompt) }
                if let limit = model.positionLimit, sequence.count > limit {
                    throw EvaluationError.sequenceTooLong(caseID: caseID, text: query.prompt, tokens: sequence.count, limit: limit)
                }
            }
            let logits = BatchLogits(model: model, sequences: sequences, padID: tokenizer.paddingID)
            for (b, query) in chunk.enumerated() {
                let last = logits.row(b, sequences[b].count - 1)
                flags.append(ZsREScoring.isCorrect(lastLogits: last, expectedID: ZsREScoring.expectedID(query.expected, tokenizer: tokenizer)))
            }
            start += chunk.count
        }
        return flags
    }

    /// Evaluates records in order, reporting `.progress` after each.
    /// - Parameter skipTooLong: leave out (and list) the records with a sequence longer than the model's
    ///   position table instead of failing; the official code has no such option (it would fail).
    /// - Returns: the results, and the `case_id`s of the records left out.
    public func evaluate(_ records: [ZsRECase], skipTooLong: Bool = false,
                         events: EvaluationEventHandler? = nil) throws -> (results: [ZsRERecordResult], skipped: [Int]) {
        var results: [ZsRERecordResult] = [], skipped: [Int] = []
        for (k, record) in records.enumerated() {
            do {
                results.append(try evaluate(record))
            } catch let error as EvaluationError {
                guard skipTooLong, case .sequenceTooLong = error else { throw error }
                skipped.append(record.caseID)
                events?(.note("skipped: \(error)"))
            }
            events?(.progress(done: k + 1, total: records.count, detail: "case \(record.caseID)"))
        }
        return (results, skipped)
    }
}
