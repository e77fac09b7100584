import Foundation
import Transformer

/// One fact to write into the model: "prompt.format(subject)" should continue with `targetNew`.
public struct EditRequest: Sendable, Equatable, Codable {
    /// `case_id` of the record, or its index in the file.
    public var caseID: Int
    /// The prompt with exactly one `{}` where the subject goes, e.g. `"{} works for"`.
    public var prompt: String
    public var subject: String
    /// The new object, with a leading space (added if missing, as the official code does).
    public var targetNew: String
    /// The object the model knows now, if the record says (CounterFact's `target_true`).
    public var targetTrue: String?

    public init(caseID: Int, prompt: String, subject: String, targetNew: String, targetTrue: String? = nil) {
        self.caseID = caseID
        self.prompt = prompt
        self.subject = subject
        self.targetNew = targetNew
        self.targetTrue = targetTrue
    }

    /// The prompt with the subject filled in.
    public var filledPrompt: String { prompt.replacingOccurrences(of: "{}", with: subject) }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", prompt, subject, targetNew = "target_new", targetTrue = "target_true"
    }
}

/// A request file alphaedit cannot use, naming the file and the request.
public enum RequestError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case empty(path: String)
    case invalid(path: String, index: Int, reason: String)

    public var description: String { message.escapingLineBreaks }

    private var message: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .notJSON(let path, let reason): return "\(path): not JSON: \(reason)"
        case .empty(let path): return "\(path): the request list is empty; give at least one edit"
        case .invalid(let path, let index, let reason): return "\(path): request \(index): \(reason)"
        }
    }
}

extension EditRequest {
    /// Reads a JSON list (or `{"requests": [...]}`) of CounterFact records, ZsRE records, or plain
    /// `{prompt, subject, target_new}` objects, validated before any work.
    public static func load(file: URL) throws -> [EditRequest] {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw RequestError.unreadable(path: file.path, reason: error.localizedDescription)
        }
        return try parse(data: data, path: file.path)
    }

    public static func parse(data: Data, path: String = "requests.json") throws -> [EditRequest] {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw RequestError.notJSON(path: path, reason: "\(error)")
        }
        let items: [JSONValue]
        if let list = json.arrayValue {
            items = list
        } else if let object = json.objectValue, let list = object["requests"]?.arrayValue {
            items = list
        } else {
            throw RequestError.notJSON(path: path, reason: "expected a list of requests or {\"requests\": [...]}")
        }
        guard !items.isEmpty else { throw RequestError.empty(path: path) }
        return try items.enumerated().map { index, item in
            guard let object = item.objectValue else {
                throw RequestError.invalid(path: path, index: index, reason: "is \(item.typeName), not an object")
            }
            return try parse(record: object, index: index, path: path)
        }
    }

    /// One record in any of the three shapes.
    static func parse(record: [String: JSONValue], index: Int, path: String) throws -> EditRequest {
        func fail(_ reason: String) -> RequestError { .invalid(path: path, index: index, reason: reason) }
        let caseID = record["case_id"]?.intValue ?? index
        if let rewrite = record["requested_rewrite"]?.objectValue {  // CounterFact
            return try make(caseID: caseID, prompt: rewrite["prompt"], subject: rewrite["subject"],
                            targetNew: rewrite["target_new"], targetTrue: rewrite["target_true"], fail: fail)
        }
        if record["src"] != nil, let answers = record["answers"]?.arrayValue {  // ZsRE (MEND format)
            guard let src = record["src"]?.stringValue, let subject = record["subject"]?.stringValue else {
                throw fail("a ZsRE record needs \"src\" and \"subject\" strings")
            }
            guard let answer = answers.first?.stringValue else { throw fail("\"answers\" must list at least one string") }
            guard src.contains(subject) else {
                throw fail("subject \"\(subject)\" does not occur in its prompt \"\(src)\"")
            }
            return try make(caseID: caseID, prompt: .string(src.replacingOccurrences(of: subject, with: "{}")),
                            subject: .string(subject), targetNew: .string(answer), targetTrue: nil, fail: fail)
        }
        return try make(caseID: caseID, prompt: record["prompt"], subject: record["subject"],
                        targetNew: record["target_new"], targetTrue: record["target_true"], fail: fail)
    }

    private static func make(caseID: Int, prompt: JSONValue?, subject: JSONValue?, targetNew: JSONValue?, targetTrue: JSONValue?,
                             fail: (String) -> RequestError) throws -> EditRequest {
        guard let prompt = prompt?.stringValue else { throw fail("\"prompt\" must be a string") }
        guard let subject = subject?.stringValue, !subject.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw fail("\"subject\" must be a non-empty string")
        }
        let holes = prompt.components(separatedBy: "{}").count - 1
        var template = prompt
        if holes == 0 {
            guard prompt.contains(subject) else {
                throw fail("subject \"\(subject)\" does not occur in its prompt \"\(prompt)\" (write {} where it goes)")
            }
            template = prompt.replacingOccurrences(of: subject, with: "{}")
            guard template.components(separatedBy: "{}").count == 2 else {
                throw fail("subject \"\(subject)\" occurs more than once in \"\(prompt)\"; write {} where it goes")
            }
        } else if holes > 1 {
            throw fail("prompt \"\(prompt)\" must contain exactly one {}, found \(holes)")
        }
        guard let newTarget = target(targetNew), !newTarget.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw fail("\"target_new\" must be a non-empty string or {\"str\": ...}")
        }
        return EditRequest(caseID: caseID, prompt: template, subject: subject,
                           targetNew: withLeadingSpace(newTarget), targetTrue: target(targetTrue).map(withLeadingSpace))
    }

    private static func target(_ value: JSONValue?) -> String? {
        if let s = value?.stringValue { return s }
        return value?.objectValue?["str"]?.stringValue
    }

    private static func withLeadingSpace(_ s: String) -> String { s.hasPrefix(" ") ? s : " " + s }
}
