import Foundation

/// The pre-tokenizer: how text between added tokens is cut into words before BPE.
///
/// Built from tokenizer.json's `pre_tokenizer` — `ByteLevel` (optionally with the GPT-2 regex and a
/// prefix space) or `Sequence[Split(regex, Isolated), ..., ByteLevel(use_regex: false)]` — as a list of
/// steps applied in order, each to every piece the previous steps produced. The byte-level mapping itself
/// is implicit: words are handed to BPE as UTF-8 bytes, and BPE looks up the byte symbols.
struct PreTokenizer: Sendable {
    enum Step: Sendable {
        /// ByteLevel(add_prefix_space): prepend a space to a piece that does not start with one.
        case prefixSpace
        /// The GPT-2 regex (ByteLevel with use_regex, or a Split with the same pattern).
        case gpt2
        /// The Llama-3 regex (`maxDigits` 3) or Qwen2's (`maxDigits` 1).
        case llama3(maxDigits: Int)
        /// Any other Split pattern.
        case regex(RegexSplitter)
    }

    let steps: [Step]

    /// The steps of `json`, whose last step must be ByteLevel; throws a fault naming the field.
    init(json: PreTokenizerJSON?) throws {
        guard let json else {
            throw TokenizerJSONFault.unsupported(
                [], "pre_tokenizer", value: "null", supported: "ByteLevel, Sequence[Split..., ByteLevel]")
        }
        var steps: [Step] = []
        var endsWithByteLevel = false
        func add(_ node: PreTokenizerJSON, _ field: String) throws {
            switch node {
            case .byteLevel(let addPrefixSpace, let useRegex):
                if addPrefixSpace { steps.append(.prefixSpace) }
                if useRegex { steps.append(.gpt2) }
                endsWithByteLevel = true
            case .split(let pattern, let isRegex, let patternField):
                if endsWithByteLevel {
                    throw TokenizerJSONFault.unsupported(
                        [], field, value: "Split after ByteLevel", supported: "Split steps before one final ByteLevel")
                }
                steps.append(try Self.splitStep(pattern: pattern, isRegex: isRegex, field: patternField))
            case .sequence(let nodes):
                for (index, child) in nodes.enumerated() {
                    try add(child, field + ".pretokenizers[\(index)]")
                }
            }
        }
        try add(json, "pre_tokenizer")
        guard endsWithByteLevel else {
            throw TokenizerJSONFault.invalid(
                [], "pre_tokenizer", "has no ByteLevel step (only byte-level BPE is supported)")
        }
        self.steps = steps
    }

    private static func splitStep(pattern: String, isRegex: Bool, field: String) throws -> Step {
        if isRegex {
            switch pattern {
            case gpt2Pattern: return .gpt2
            case llama3Pattern: return .llama3(maxDigits: 3)
            case qwen2Pattern: return .llama3(maxDigits: 1)
            default: break
            }
        }
        do {
            return .regex(try RegexSplitter(pattern: pattern, isRegex: isRegex))
        } catch {
            throw TokenizerJSONFault.invalid(
                [], field, "\(quoted(pattern)) is not a regex NSRegularExpression accepts: \(error.localizedDescription)")
        }
    }

    /// Calls `body` with each word of `text` (UTF-8), in order; words are never empty.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if steps.count == 1, case .gpt2 = steps[0] {
            splitGPT2(text) { start, end in body(UnsafeBufferPointer(rebasing: text[start..<end])) }
        } else {
            apply(0, text, body)
        }
    }

    private func apply(_ k: Int, _ piece: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if piece.isEmpty { return }
        if k == steps.count {
            body(piece)
            return
        }
        let next = { (start: Int, end: Int) in
            self.apply(k + 1, UnsafeBufferPointer(rebasing: piece[start..<end]), body)
        }
        switch steps[k] {
        case .prefixSpace:
            if piece[0] == 0x20 {
                apply(k + 1, piece, body)
            } else {
                var spaced: [UInt8] = [0x20]
                spaced.append(contentsOf: piece)
                spaced.withUnsafeBufferPointer { apply(k + 1, $0, body) }
            }
        case .gpt2:
            splitGPT2(piece, next)
        case .llama3(let maxDigits):
            splitLlama3(piece, maxDigits: maxDigits, next)
        case .regex(let splitter):
            splitter.split(piece, next)
        }
    }
}
