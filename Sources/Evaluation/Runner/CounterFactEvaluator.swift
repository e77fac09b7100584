import Foundation

/// The generation part of the CounterFact evaluation: sampling settings and the reference texts.
public struct CounterFactGeneration: Sendable {
    public var settings: GenerationSettings
    public var reference: ReferenceCorpus

    public init(settings: GenerationSettings = GenerationSettings(), reference: ReferenceCorpus) {
        self.settings = settings
        self.reference = reference
    }
}

/// `compute_rewrite_quality_counterfact` (spec §10.2) for one model.
public struct CounterFactEvaluator: Sendable {
    public var model: any EvaluatedModel
    public var tokenizer: any EvaluationTokenizer
    /// nil skips the generation metrics (fluency, consistency), like `--skip_generation_tests`.
    public var generation: CounterFactGeneration?

    public init(model: any EvaluatedModel, tokenizer: any EvaluationTokenizer, generation: CounterFactGeneration? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.generation = generation
    }

    /// Evaluates one record: the NLLs and flags of its 1 + 2 + 10 prefixes in one right-padded batch
    /// of `f"{prefix} {target_new}"`, `f"{prefix} {target_true}"` strings, then (optionally) the
    /// generation metrics of its generation prompts.
    ///
    /// Tokenisation as the official code: `prefix_len = len(tok(prefix))`, targets `tok(" " + target)`,
    /// the model reads `tok(prefix + " " + target)`; target token j is read at `prefix_len + j − 1`.
    /// With a BOS tokenizer (`prependsBOS`, standing for the official `'llama' in name` test) the
    /// targets lose their first id, prefix lengths lose 1 and logit position 0 is dropped
    /// (`TargetAlignment.official`). When the full string tokenizes shorter than prefix + target the
    /// batch is padded further so every read position exists (the official code would index past the
    /// padded length and fail).
    /// - Throws: `EvaluationError` for a sequence the model cannot read.
    /// - Complexity: one forward pass of 2·(1 + P + N) sequences, plus generation.
    public func evaluate(_ record: CounterFactRecord) throws -> CounterFactRecordResult {
        let r = record.requestedRewrite
        let groups = [[record.rewritePrompt], record.paraphrasePrompts, record.neighborhoodPrompts]
        let prefixes = groups.flatMap { $0 }
        let correctTargets = groups[0].map { _ in CorrectTarget.targetNew } + groups[1].map { _ in .targetNew }
            + groups[2].map { _ in .targetTrue }

        var sequences: [[Int]] = [], texts: [String] = []
        for prefix in prefixes {
            for target in [r.targetNew.str, r.targetTrue.str] {
                texts.append("\(prefix) \(target)")
                sequences.append(tokenizer.tokenIDs(for: texts.last!))
            }
        }
        let prefixLengths = prefixes.map { tokenizer.tokenIDs(for: $0).count }
        let alignment = TargetAlignment.official(
            prefixLengths: prefixLengths, targetNew: tokenizer.tokenIDs(for: " " + r.targetNew.str),
            targetTrue: tokenizer.tokenIDs(for: " " + r.targetTrue.str), prependsBOS: tokenizer.prependsBOS)
        if alignment.targetNew.isEmpty { throw EvaluationError.emptyTarget(caseID: record.caseID, target: r.targetNew.str) }
        if alignment.targetTrue.isEmpty { throw EvaluationError.emptyTarget(caseID: record.caseID, target: r.targetTrue.str) }
        if let limit = model.positionLimit {
            for (text, sequence) in zip(texts, sequences) where sequence.count > limit {
                throw EvaluationError.sequenceTooLong(caseID: record.caseID, text: text, tokens: sequence.count, limit: limit)
            }
        }

        let logits = BatchLogits(model: model, sequences: sequences, padID: tokenizer.paddingID, length: alignment.requiredLength)
        let (nll, correct) = CounterFactScoring.score(alignment: alignment, correctTargets: correctTargets,
                                                      paddedLength: logits.batch.length, logits: logits.row)
        let cut = [0, groups[0].count, groups[0].count + groups[1].count, prefixes.count]
        var result = CounterFactRecordResult(
            caseID: record.caseID,
            rewritePromptsNLL: Array(nll[cut[0]..<cut[1]]), paraphrasePromptsNLL: Array(nll[cut[1]..<cut[2]]),
            neighborhoodPromptsNLL: Array(nll[cut[2]..<cut[3]]),
            rewritePromptsCorrect: Array(correct[cut[0]..<cut[1]]), paraphrasePromptsCorrect: Array(correct[cut[1]..<cut[2]]),
            neighborhoodPromptsCorrect: Array(correct[cut[2]..<cut[3]]))

        if let generation, !record.generationPrompts.isEmpty {
            let texts = try FastGeneration.generate(
                model: model, tokenizer: tokenizer, prompts: record.generationPrompts, settings: generation.settings,
                seed: generation.settings.seed(for: record.caseID), caseID: record.caseID)
            result.generation = GenerationScores(
                ngramEntropy: NGramEntropy.meanEntropy(texts),
                referenceScore: generation.reference.referenceScore(generated: texts, for: record), texts: texts)
        }
        return result
    }

    /// Evaluates records in order, reporting `.progress` after each.
    /// - Parameter skipTooLong: leave out (and list) the records with a sequence longer than the model's
    ///   position table instead of failing; the official code has no such option (it would fail).
    /// - Returns: the results, and the `case_id`s of the records left out.
    public func evaluate(_ records: [CounterFactRecord], skipTooLong: Bool = false,
                         events: EvaluationEventHandler? = nil) throws -> (results: [CounterFactRecordResult], skipped: [Int]) {
        var results: [CounterFactRecordResult] = [], skipped: [Int] = []
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
