import Editing
import Foundation

/// One zsRE record in the MEND format (`zsre_mend_eval.json`, also EasyEdit's
/// `zsre_mend_eval_portability_gpt4.json`): a question `src` about `subject`, its answers, a
/// rephrased question and an unrelated Natural Questions pair (`loc`, `loc_ans`).
///
/// Fields the metrics do not read (`pred`, `alt`, `cond`, EasyEdit's `portability`) are kept when
/// present (`portability` is dropped) and otherwise ignored.
public struct ZsRERecord: Sendable, Equatable, Codable {
    public var subject: String
    /// The question, containing `subject`.
    public var src: String
    /// The first answer is the edit's new target.
    public var answers: [String]
    public var rephrase: String
    /// An unrelated question, starting with `"nq question: "`.
    public var loc: String
    /// Its answer.
    public var locAnswer: String
    public var pred: String?
    public var alt: String?
    public var cond: String?

    public init(subject: String, src: String, answers: [String], rephrase: String, loc: String, locAnswer: String,
                pred: String? = nil, alt: String? = nil, cond: String? = nil) {
        self.subject = subject
        self.src = src
        self.answers = answers
        self.rephrase = rephrase
        self.loc = loc
        self.locAnswer = locAnswer
        self.pred = pred
        self.alt = alt
        self.cond = cond
    }

    enum CodingKeys: String, CodingKey {
        case subject, src, answers, rephrase, loc, locAnswer = "loc_ans", pred, alt, cond
    }

    /// `src.replace(subject, "{}")`, as `dsets/zsre.py` builds the prompt (every occurrence).
    public var promptTemplate: String { src.replacingOccurrences(of: subject, with: "{}") }

    /// `answers[0]`: `dsets/zsre.py`'s `target_new` (not EasyEdit's `alt`).
    public var targetNew: String { answers[0] }

    /// The edit request of this record; `caseID` is its index in the file, as `dsets/zsre.py` numbers it.
    /// - Throws: `DatasetError.invalidRecord` when the subject does not occur in the question
    ///   (the official loader would silently edit a prompt without a subject).
    public func editRequest(caseID: Int, path: String = "zsre") throws -> EditRequest {
        guard src.contains(subject) else {
            throw DatasetError.invalidRecord(path: path, index: caseID, caseID: nil,
                                             reason: "subject \"\(subject)\" does not occur in src \"\(src)\"")
        }
        return EditRequest(caseID: caseID, prompt: promptTemplate, subject: subject,
                           targetNew: CounterFactRecord.withLeadingSpace(targetNew), targetTrue: nil)
    }
}

// MARK: Loading

extension ZsRERecord {
    /// Reads a zsRE MEND-format JSON file (a list of records).
    /// - Throws: `DatasetError` naming the file and, for a bad record, its index.
    /// - Complexity: O(file size).
    public static func load(file: URL) throws -> [ZsRERecord] {
        try parse(data: DatasetFile.read(file), path: file.path)
    }

    /// Parses zsRE records from JSON bytes; `path` only names the source in errors.
    /// Checks what `dsets/zsre.py` relies on: a non-empty `answers` list and `"nq question: "` in `loc`
    /// (the official loader asserts the latter).
    public static func parse(data: Data, path: String = "zsre.json") throws -> [ZsRERecord] {
        try DatasetFile.decodeList(ZsRERecord.self, data: data, path: path) { record, _ in
            guard !record.answers.isEmpty else { throw RecordFault("\"answers\" is empty") }
            guard record.loc.contains("nq question: ") else {
                throw RecordFault("\"loc\" lacks \"nq question: \" (\"\(record.loc)\")")
            }
            guard !record.subject.isEmpty else { throw RecordFault("\"subject\" is empty") }
        }
    }
}
