import Transformer

/// Where the subject's last token sits in a prompt (spec §4.2).
public struct SubjectPosition: Sendable {
    public let tokenizer: Tokenizer
    public let factToken: FactToken

    public init(tokenizer: Tokenizer, factToken: FactToken) {
        self.tokenizer = tokenizer
        self.factToken = factToken
    }

    /// The token index in `template.format(subject)` (as the model sees it, special tokens
    /// included) of the subject's last token: `len(encode(prefix + subject)) − 1`, computed on the
    /// prefix and the subject exactly as the official code does, even where the full sentence
    /// tokenises differently at the subject/suffix boundary.
    /// - Parameter template: a string with exactly one `{}`.
    public func index(template: String, subject: String) -> Int {
        let parts = template.components(separatedBy: "{}")
        precondition(parts.count == 2, "template \"\(template)\" must contain exactly one {}")
        let prefix = parts[0], suffix = parts[1]
        let promptLength = tokenizer.encode(prefix + subject).count
        switch factToken {
        case .subjectLast:
            return promptLength - 1
        case .subjectFirstAfterLast:
            let inputLength = tokenizer.encode(prefix + subject + suffix).count
            return inputLength > promptLength ? promptLength : promptLength - 1
        }
    }
}

/// Python's `str.format` with one positional argument, as the official code applies it to templates.
func fill(_ template: String, with value: String) -> String {
    guard let range = template.range(of: "{}") else { return template }
    return template.replacingCharacters(in: range, with: value)
}
