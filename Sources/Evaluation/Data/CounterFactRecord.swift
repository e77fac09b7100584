import Editing
import Foundation

/// One CounterFact / MultiCounterFact record, as ROME published it (`counterfact.json`).
///
/// Keys mirror the file: `case_id`, `pararel_idx`, `requested_rewrite {prompt, subject,
/// target_new {str, id}, target_true {str, id}, relation_id}`, `paraphrase_prompts` (2),
/// `neighborhood_prompts` (10), `attribute_prompts`, `generation_prompts`.
public struct CounterFactRecord: Sendable, Equatable, Codable {
    /// An object of the fact: its surface string (no leading space in the file) and Wikidata id.
    public struct Target: Sendable, Equatable, Codable {
        public var str: String
        /// Wikidata id, e.g. `"Q150"`; the consistency metric groups reference texts by it.
        public var id: String?

        public init(str: String, id: String? = nil) {
            self.str = str
            self.id = id
        }
    }

    /// The edit: `prompt.format(subject)` should continue with `targetNew` instead of `targetTrue`.
    public struct Rewrite: Sendable, Equatable, Codable {
        /// The prompt with one `{}` where the subject goes.
        public var prompt: String
        public var subject: String
        public var targetNew: Target
        public var targetTrue: Target
        /// Wikidata property, e.g. `"P103"`.
        public var relationID: String?

        public init(prompt: String, subject: String, targetNew: Target, targetTrue: Target, relationID: String? = nil) {
            self.prompt = prompt
            self.subject = subject
            self.targetNew = targetNew
            self.targetTrue = targetTrue
            self.relationID = relationID
        }

        enum CodingKeys: String, CodingKey {
            case prompt, subject, targetNew = "target_new", targetTrue = "target_true", relationID = "relation_id"
        }
    }

    public var caseID: Int
    public var pararelIndex: Int?
    public var requestedRewrite: Rewrite
    /// Other phrasings of the rewrite prompt (each behind an unrelated sentence); should say `targetNew`.
    public var paraphrasePrompts: [String]
    /// Prompts about other subjects that truly have `targetTrue`; should keep saying it.
    public var neighborhoodPrompts: [String]
    /// Prompts about other subjects that truly have `targetNew` (absent = empty).
    public var attributePrompts: [String]
    /// Open prompts about the subject for the generation metrics (absent = empty).
    public var generationPrompts: [String]

    public init(caseID: Int, requestedRewrite: Rewrite, paraphrasePrompts: [String], neighborhoodPrompts: [String],
                attributePrompts: [String] = [], generationPrompts: [String] = [], pararelIndex: Int? = nil) {
        self.caseID = caseID
        self.pararelIndex = pararelIndex
        self.requestedRewrite = requestedRewrite
        self.paraphrasePrompts = paraphrasePrompts
        self.neighborhoodPrompts = neighborhoodPrompts
        self.attributePrompts = attributePrompts
        self.generationPrompts = generationPrompts
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", pararelIndex = "pararel_idx", requestedRewrite = "requested_rewrite"
        case paraphrasePrompts = "paraphrase_prompts", neighborhoodPrompts = "neighborhood_prompts"
        case attributePrompts = "attribute_prompts", generationPrompts = "generation_prompts"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        caseID = try c.decode(Int.self, forKey: .caseID)
        pararelIndex = try c.decodeIfPresent(Int.self, forKey: .pararelIndex)
        requestedRewrite = try c.decode(Rewrite.self, forKey: .requestedRewrite)
        paraphrasePrompts = try c.decode([String].self, forKey: .paraphrasePrompts)
        neighborhoodPrompts = try c.decode([String].self, forKey: .neighborhoodPrompts)
        attributePrompts = try c.decodeIfPresent([String].self, forKey: .attributePrompts) ?? []
        generationPrompts = try c.decodeIfPresent([String].self, forKey: .generationPrompts) ?? []
    }

    /// `prompt.format(subject)`. Python's `str.format` is replaced by substituting the one `{}`
    /// (the loader checks there is exactly one); CounterFact prompts contain no other braces.
    public var rewritePrompt: String {
        requestedRewrite.prompt.replacingOccurrences(of: "{}", with: requestedRewrite.subject)
    }

    /// The edit request of this record (targets get their leading space, as the editor expects).
    public var editRequest: EditRequest {
        let r = requestedRewrite
        return EditRequest(caseID: caseID, prompt: r.prompt, subject: r.subject,
                           targetNew: Self.withLeadingSpace(r.targetNew.str), targetTrue: Self.withLeadingSpace(r.targetTrue.str))
    }

    static func withLeadingSpace(_ s: String) -> String { s.hasPrefix(" ") ? s : " " + s }
}

// MARK: Loading

extension CounterFactRecord {
    /// Reads a CounterFact JSON file (a list of records).
    /// - Throws: `DatasetError` naming the file and, for a bad record, its index and `case_id`.
    /// - Complexity: O(file size).
    public static func load(file: URL) throws -> [CounterFactRecord] {
        try parse(data: DatasetFile.read(file), path: file.path)
    }

    /// Parses CounterFact records from JSON bytes; `path` only names the source in errors.
    public static func parse(data: Data, path: String = "counterfact.json") throws -> [CounterFactRecord] {
        try DatasetFile.decodeList(CounterFactRecord.self, data: data, path: path) { record, _ in
            let r = record.requestedRewrite
            let holes = r.prompt.components(separatedBy: "{}").count - 1
            guard holes == 1 else {
                throw RecordFault("requested_rewrite.prompt \"\(r.prompt)\" must contain exactly one {}, found \(holes)")
            }
            guard !r.subject.isEmpty else { throw RecordFault("requested_rewrite.subject is empty") }
            guard !r.targetNew.str.isEmpty, !r.targetTrue.str.isEmpty else {
                throw RecordFault("requested_rewrite.target_new.str and target_true.str must be non-empty")
            }
        }
    }
}
