import Foundation
import Transformer

/// The prefixes the target optimisation and the keys are averaged over (spec §4.4):
/// `[["{}"], [five sampled texts + ". {}"]]`.
public struct ContextTemplates: Sendable, Equatable, Codable {
    /// Groups of templates, each with one `{}`; keys average within a group, then over groups.
    public var groups: [[String]]

    public init(groups: [[String]]) throws {
        guard !groups.isEmpty, groups.allSatisfy({ !$0.isEmpty }) else {
            throw ContextTemplateError.invalid("context templates must be a non-empty list of non-empty lists")
        }
        for template in groups.joined() where template.components(separatedBy: "{}").count != 2 {
            throw ContextTemplateError.invalid("context template \"\(template)\" must contain exactly one {}")
        }
        self.groups = groups
    }

    /// Every template, group 0 first.
    public var all: [String] { Array(groups.joined()) }

    /// Reads a JSON list of lists (the oracle's `context_templates` format), or an object with a
    /// `context_templates` key.
    public static func load(file: URL) throws -> ContextTemplates {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw ContextTemplateError.invalid("\(file.path): cannot be read (\((error as NSError).localizedDescription))")
        }
        return try parse(data: data, path: file.path)
    }

    /// Parses the bytes of a context-templates file (the format of `load(file:)`); `path` names
    /// the file in errors.
    public static func parse(data: Data, path: String = "context_templates.json") throws -> ContextTemplates {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw ContextTemplateError.invalid("\(path): not JSON; expected a list of lists of templates with one {} each")
        }
        let list = json.arrayValue ?? json.objectValue?["context_templates"]?.arrayValue
        guard let groups = list?.map({ $0.arrayValue?.compactMap(\.stringValue) ?? [] }) else {
            throw ContextTemplateError.invalid("\(path): expected a JSON list of lists of strings")
        }
        do { return try ContextTemplates(groups: groups) } catch let ContextTemplateError.invalid(reason) {
            throw ContextTemplateError.invalid("\(path): \(reason)")
        }
    }

    /// Samples the templates as the official `get_context_templates` does: for each of
    /// "The", "Therefore", "Because", "I", "You", top-5 sampling until the text is 10 tokens long
    /// (prompt included), decoded with special tokens, "\n\n" → " ", `<|endoftext|>` removed, braces
    /// replaced by spaces, ". {}" appended.
    public static func sample(model: any LanguageModel, tokenizer: Tokenizer, seed: UInt64,
                              seeds: [String] = ["The", "Therefore", "Because", "I", "You"],
                              totalLength: Int = 10, topK: Int = 5) throws -> ContextTemplates {
        var texts: [String] = []
        for (i, prompt) in seeds.enumerated() {
            let ids = tokenizer.encode(prompt)
            let new = try model.continuations(of: [ids], maxNewTokens: max(0, totalLength - ids.count),
                                              sampling: .topK(topK), seed: seed &+ UInt64(i))[0]
            var text = tokenizer.decode(ids + new).decomposedStringWithCompatibilityMapping
            text = text.replacingOccurrences(of: "\n\n", with: " ").replacingOccurrences(of: "<|endoftext|>", with: "")
            text = text.replacingOccurrences(of: "{", with: " ").replacingOccurrences(of: "}", with: " ")
            texts.append(text + ". {}")
        }
        return try! ContextTemplates(groups: [["{}"], texts])
    }
}

public enum ContextTemplateError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case .invalid(let reason) = self { return reason.escapingLineBreaks }; return "" }
}
