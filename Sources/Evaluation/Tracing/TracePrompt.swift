import Foundation
import Transformer

/// A fact to trace: a prompt that names `subject`, and the object the model should say next.
public struct TracePrompt: Sendable, Equatable, Codable {
    /// The full prompt, e.g. "The mother tongue of Danielle Darrieux is".
    public var prompt: String
    /// A substring of `prompt`, e.g. "Danielle Darrieux".
    public var subject: String
    /// The true object, e.g. "French" (its first token, with a leading space, is scored).
    public var target: String
    /// The dataset record it came from, when it did.
    public var caseID: Int?

    public init(prompt: String, subject: String, target: String, caseID: Int? = nil) {
        self.prompt = prompt
        self.subject = subject
        self.target = target
        self.caseID = caseID
    }

    enum CodingKeys: String, CodingKey {
        case prompt, subject, target, caseID = "case_id"
    }
}

extension TracePrompt {
    /// A CounterFact record's requested prompt and its true object.
    public init(_ record: CounterFactRecord) {
        let r = record.requestedRewrite
        self.init(prompt: record.rewritePrompt, subject: r.subject, target: r.targetTrue.str, caseID: record.caseID)
    }

    /// A zsRE record's question and its first answer.
    public init(_ record: ZsRERecord, caseID: Int) {
        self.init(prompt: record.src, subject: record.subject, target: record.answers.first ?? "", caseID: caseID)
    }
}

/// The tokens of a prompt and where its subject lies among them.
public struct TokenizedTracePrompt: Sendable {
    public var ids: [Int]
    /// The tokens as text (each token's bytes, invalid UTF-8 shown as U+FFFD).
    public var tokens: [String]
    /// Token indices covering the subject: every token that overlaps its characters.
    public var subjectTokens: Range<Int>
    /// The first token of `" " + target`: the token whose probability is traced.
    public var targetToken: Int

    /// - Throws: `TraceError` when the subject is not in the prompt or the prompt or target is empty.
    public init(_ prompt: TracePrompt, tokenizer: Tokenizer) throws {
        ids = tokenizer.encode(prompt.prompt)
        guard !ids.isEmpty else { throw TraceError.emptyPrompt(prompt.caseID) }
        let target = prompt.target.hasPrefix(" ") ? prompt.target : " " + prompt.target
        guard let first = tokenizer.encode(target, addSpecialTokens: false).first, !prompt.target.isEmpty else {
            throw TraceError.emptyTarget(prompt.caseID)
        }
        targetToken = first
        let pieces = ids.map { tokenizer.bytes(of: $0) }
        tokens = pieces.map { String(decoding: $0, as: UTF8.self) }
        guard let range = Self.tokenRange(of: Array(prompt.subject.utf8), in: pieces) else {
            throw TraceError.subjectNotFound(subject: prompt.subject, prompt: prompt.prompt, caseID: prompt.caseID)
        }
        subjectTokens = range
    }

    /// The tokens overlapping the first occurrence of `needle` in the concatenated `pieces`
    /// (ROME's `find_token_range`, on bytes).
    static func tokenRange(of needle: [UInt8], in pieces: [[UInt8]]) -> Range<Int>? {
        guard !needle.isEmpty else { return nil }
        let haystack = pieces.flatMap { $0 }
        guard haystack.count >= needle.count else { return nil }
        var found: Int?
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { found = start; break }
        }
        guard let start = found else { return nil }
        let end = start + needle.count
        var offset = 0, first: Int?, last = 0
        for (index, piece) in pieces.enumerated() {
            let pieceEnd = offset + piece.count
            if pieceEnd > start && offset < end {
                if first == nil { first = index }
                last = index
            }
            offset = pieceEnd
        }
        return first.map { $0..<(last + 1) }
    }
}

/// Why a prompt cannot be traced, or a trace cannot run.
public enum TraceError: Error, CustomStringConvertible, Equatable {
    case subjectNotFound(subject: String, prompt: String, caseID: Int?)
    case emptyPrompt(Int?)
    case emptyTarget(Int?)
    case noPrompts(String)
    case invalidOption(String)

    public var description: String {
        func record(_ id: Int?) -> String { id.map { "record \($0): " } ?? "" }
        switch self {
        case .subjectNotFound(let subject, let prompt, let id):
            return "\(record(id))the subject \"\(subject)\" does not occur in the prompt \"\(prompt)\"; pass a --subject that is a substring of --prompt"
        case .emptyPrompt(let id): return "\(record(id))the prompt is empty"
        case .emptyTarget(let id): return "\(record(id))the target is empty; pass the true object with --target"
        case .noPrompts(let why): return why
        case .invalidOption(let why): return why
        }
    }
}
