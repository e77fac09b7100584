/// A record the model cannot be evaluated on; names the record and the text at fault.
public enum EvaluationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A sequence longer than the model's learned position table.
    case sequenceTooLong(caseID: Int, text: String, tokens: Int, limit: Int)
    /// A prompt that tokenizes to no tokens.
    case emptyPrompt(caseID: Int, prompt: String)
    /// A target that tokenizes to no tokens (after dropping the BOS).
    case emptyTarget(caseID: Int, target: String)

    public var description: String {
        switch self {
        case .sequenceTooLong(let caseID, let text, let tokens, let limit):
            return "case \(caseID): \"\(Self.abbreviated(text))\" is \(tokens) tokens, more than the model's \(limit) positions"
        case .emptyPrompt(let caseID, let prompt):
            return "case \(caseID): prompt \"\(prompt)\" tokenizes to no tokens"
        case .emptyTarget(let caseID, let target):
            return "case \(caseID): target \"\(target)\" tokenizes to no tokens"
        }
    }

    /// The text on one line, at most 80 characters.
    static func abbreviated(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count <= 80 ? line : String(line.prefix(79)) + "…"
    }
}
