import Foundation

/// The generation metrics of one CounterFact record (official `test_generation` output).
public struct GenerationScores: Sendable, Equatable, Codable {
    /// Mean over the texts of the weighted n-gram entropy (`NGramEntropy.meanEntropy`), in bits.
    public var ngramEntropy: Double
    /// TF-IDF cosine similarity of the joined texts with the joined reference texts (approximate
    /// reference corpus: see `ReferenceCorpus`).
    public var referenceScore: Double
    /// The generated texts, prompt included, as `generate_fast` returns them.
    public var texts: [String]

    public init(ngramEntropy: Double, referenceScore: Double, texts: [String]) {
        self.ngramEntropy = ngramEntropy
        self.referenceScore = referenceScore
        self.texts = texts
    }

    enum CodingKeys: String, CodingKey { case ngramEntropy = "ngram_entropy", referenceScore = "reference_score", texts = "text" }
}

/// Everything `compute_rewrite_quality_counterfact` records for one case (keys as in the official
/// case files' `post` object).
public struct CounterFactRecordResult: Sendable, Equatable, Codable {
    public var caseID: Int
    /// One entry: the rewrite prompt.
    public var rewritePromptsNLL: [PromptNLL]
    public var paraphrasePromptsNLL: [PromptNLL]
    public var neighborhoodPromptsNLL: [PromptNLL]
    /// Teacher-forced argmax of every `target_new` token.
    public var rewritePromptsCorrect: [Bool]
    public var paraphrasePromptsCorrect: [Bool]
    /// Teacher-forced argmax of every `target_true` token.
    public var neighborhoodPromptsCorrect: [Bool]
    /// nil when generation was skipped.
    public var generation: GenerationScores?

    public init(caseID: Int, rewritePromptsNLL: [PromptNLL], paraphrasePromptsNLL: [PromptNLL], neighborhoodPromptsNLL: [PromptNLL],
                rewritePromptsCorrect: [Bool], paraphrasePromptsCorrect: [Bool], neighborhoodPromptsCorrect: [Bool],
                generation: GenerationScores? = nil) {
        self.caseID = caseID
        self.rewritePromptsNLL = rewritePromptsNLL
        self.paraphrasePromptsNLL = paraphrasePromptsNLL
        self.neighborhoodPromptsNLL = neighborhoodPromptsNLL
        self.rewritePromptsCorrect = rewritePromptsCorrect
        self.paraphrasePromptsCorrect = paraphrasePromptsCorrect
        self.neighborhoodPromptsCorrect = neighborhoodPromptsCorrect
        self.generation = generation
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id"
        case rewritePromptsNLL = "rewrite_prompts_probs", paraphrasePromptsNLL = "paraphrase_prompts_probs"
        case neighborhoodPromptsNLL = "neighborhood_prompts_probs"
        case rewritePromptsCorrect = "rewrite_prompts_correct", paraphrasePromptsCorrect = "paraphrase_prompts_correct"
        case neighborhoodPromptsCorrect = "neighborhood_prompts_correct"
        case generation
    }
}

/// The CounterFact summary metrics, keyed as alphaedit's JSON output; the official `summarize.py`
/// name of each is in its doc comment.
public enum CounterFactMetric: String, CaseIterable, Sendable, Codable {
    /// `rewrite_success`, Efficacy: mean over rewrite prompts of [NLL_true > NLL_new].
    case efficacyScore = "efficacy_score"
    /// `paraphrase_success`, Generalization.
    case paraphraseScore = "paraphrase_score"
    /// `neighborhood_success`, Specificity: mean of [NLL_true < NLL_new].
    case neighborhoodScore = "neighborhood_score"
    /// `rewrite_diff`: mean of exp(−NLL_new) − exp(−NLL_true).
    case efficacyMagnitude = "efficacy_magnitude"
    /// `paraphrase_diff`.
    case paraphraseMagnitude = "paraphrase_magnitude"
    /// `neighborhood_diff`: mean of exp(−NLL_true) − exp(−NLL_new).
    case neighborhoodMagnitude = "neighborhood_magnitude"
    /// `rewrite_acc`: mean of the rewrite `*_correct` flags.
    case rewriteAccuracy = "rewrite_acc"
    /// `paraphrase_acc`.
    case paraphraseAccuracy = "paraphrase_acc"
    /// `neighborhood_acc`.
    case neighborhoodAccuracy = "neighborhood_acc"
    /// `ngram_entropy`, Fluency.
    case fluency
    /// `reference_score`, Consistency (approximate reference corpus).
    case consistency
}

extension CounterFactRecordResult {
    /// This record's value of every metric it has (the generation metrics only with generation):
    /// the within-record means of `summarize.py`, before the ×100. An empty prompt list gives NaN,
    /// as `np.mean([])`.
    public var metrics: [CounterFactMetric: Double] {
        var m: [CounterFactMetric: Double] = [
            .efficacyScore: Self.mean(rewritePromptsNLL) { $0.targetTrue > $0.targetNew ? 1 : 0 },
            .paraphraseScore: Self.mean(paraphrasePromptsNLL) { $0.targetTrue > $0.targetNew ? 1 : 0 },
            .neighborhoodScore: Self.mean(neighborhoodPromptsNLL) { $0.targetTrue < $0.targetNew ? 1 : 0 },
            .efficacyMagnitude: Self.mean(rewritePromptsNLL, Self.newMinusTrue),
            .paraphraseMagnitude: Self.mean(paraphrasePromptsNLL, Self.newMinusTrue),
            .neighborhoodMagnitude: Self.mean(neighborhoodPromptsNLL) { -Self.newMinusTrue($0) },
            .rewriteAccuracy: Self.mean(rewritePromptsCorrect) { $0 ? 1 : 0 },
            .paraphraseAccuracy: Self.mean(paraphrasePromptsCorrect) { $0 ? 1 : 0 },
            .neighborhoodAccuracy: Self.mean(neighborhoodPromptsCorrect) { $0 ? 1 : 0 },
        ]
        if let generation {
            m[.fluency] = generation.ngramEntropy
            m[.consistency] = generation.referenceScore
        }
        return m
    }

    /// `exp(−NLL_new) − exp(−NLL_true)` in double precision (numpy's `np.exp` of the stored floats):
    /// the difference of the per-token geometric-mean probabilities.
    public static func newMinusTrue(_ pair: PromptNLL) -> Double {
        Foundation.exp(-Double(pair.targetNew)) - Foundation.exp(-Double(pair.targetTrue))
    }

    static func mean<T>(_ values: [T], _ f: (T) -> Double) -> Double {
        values.isEmpty ? .nan : values.reduce(0) { $0 + f($1) } / Double(values.count)
    }
}

/// Everything `compute_rewrite_quality_zsre` records for one case.
public struct ZsRERecordResult: Sendable, Equatable, Codable {
    public var caseID: Int
    /// One flag per target token.
    public var rewritePromptsCorrect: [Bool]
    /// One flag per target token (one paraphrase).
    public var paraphrasePromptsCorrect: [Bool]
    /// One flag per token of `tok(" " + loc_ans)`.
    public var neighborhoodPromptsCorrect: [Bool]

    public init(caseID: Int, rewritePromptsCorrect: [Bool], paraphrasePromptsCorrect: [Bool], neighborhoodPromptsCorrect: [Bool]) {
        self.caseID = caseID
        self.rewritePromptsCorrect = rewritePromptsCorrect
        self.paraphrasePromptsCorrect = paraphrasePromptsCorrect
        self.neighborhoodPromptsCorrect = neighborhoodPromptsCorrect
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", rewritePromptsCorrect = "rewrite_prompts_correct"
        case paraphrasePromptsCorrect = "paraphrase_prompts_correct", neighborhoodPromptsCorrect = "neighborhood_prompts_correct"
    }
}

/// The zsRE summary metrics (teacher-forced top-1 token accuracy, spec §10.4).
public enum ZsREMetric: String, CaseIterable, Sendable, Codable {
    /// Efficacy.
    case rewriteAccuracy = "rewrite_acc"
    /// Generalization.
    case paraphraseAccuracy = "paraphrase_acc"
    /// Specificity.
    case neighborhoodAccuracy = "neighborhood_acc"
}

extension ZsRERecordResult {
    /// The per-record token accuracies (NaN for an empty list, as `np.mean([])`).
    public var metrics: [ZsREMetric: Double] {
        [
            .rewriteAccuracy: CounterFactRecordResult.mean(rewritePromptsCorrect) { $0 ? 1 : 0 },
            .paraphraseAccuracy: CounterFactRecordResult.mean(paraphrasePromptsCorrect) { $0 ? 1 : 0 },
            .neighborhoodAccuracy: CounterFactRecordResult.mean(neighborhoodPromptsCorrect) { $0 ? 1 : 0 },
        ]
    }
}
