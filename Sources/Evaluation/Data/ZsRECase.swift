/// A zsRE record converted as `dsets/zsre.py::MENDQADataset` does, ready for the metrics.
///
/// The conversion needs the tokenizer: the neighbourhood prompts are built token by token from
/// `tok(" " + loc_ans)`.
public struct ZsRECase: Sendable, Equatable, Codable {
    /// The record's index in the file (`dsets/zsre.py` numbers records so).
    public var caseID: Int
    /// `src.replace(subject, "{}")`.
    public var prompt: String
    public var subject: String
    /// `answers[0]`, as written in the file (no leading space).
    public var targetNew: String
    /// `[rephrase]`.
    public var paraphrasePrompts: [String]
    /// One query per token of `tok(" " + loc_ans)`.
    public var neighborhoodPrompts: [ZsREQuery]

    public init(caseID: Int, prompt: String, subject: String, targetNew: String,
                paraphrasePrompts: [String], neighborhoodPrompts: [ZsREQuery]) {
        self.caseID = caseID
        self.prompt = prompt
        self.subject = subject
        self.targetNew = targetNew
        self.paraphrasePrompts = paraphrasePrompts
        self.neighborhoodPrompts = neighborhoodPrompts
    }

    /// `prompt.format(subject)`, as a substitution of `{}`.
    public var rewritePrompt: String { prompt.replacingOccurrences(of: "{}", with: subject) }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", prompt, subject, targetNew = "target_new"
        case paraphrasePrompts = "paraphrase_prompts", neighborhoodPrompts = "neighborhood_prompts"
    }
}

extension ZsRERecord {
    /// The evaluation record of `dsets/zsre.py` (`target_true` `"<|endoftext|>"` is unused and left out).
    /// - Parameter caseID: the record's index in the file.
    /// - Complexity: one encode of `" " + loc_ans` and one decode per token.
    public func evaluationCase(caseID: Int, tokenizer: any EvaluationTokenizer) -> ZsRECase {
        ZsRECase(caseID: caseID, prompt: promptTemplate, subject: subject, targetNew: targetNew,
                 paraphrasePrompts: [rephrase],
                 neighborhoodPrompts: ZsREScoring.neighborhoodQueries(loc: loc, answer: locAnswer, tokenizer: tokenizer))
    }
}
