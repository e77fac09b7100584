import Foundation

/// The post-processor: what `encode` adds around the encoded sequence(s) when asked for special tokens.
///
/// `ByteLevel` only trims offsets, so it changes no ids. `TemplateProcessing` lays out special tokens
/// and the sequences A (and B) as its `single` (or `pair`) template says; a `Sequence` applies its
/// processors in order. Without special tokens (or without a template) a pair is A followed by B.
struct PostProcessor: Sendable {
    enum Piece: Sendable, Equatable {
        case special([Int])
        case first
        case second
    }

    struct Template: Sendable {
        let single: [Piece]
        let pair: [Piece]
    }

    /// The templates in the order they apply (none: ids pass through).
    let templates: [Template]

    init(json: PostProcessorJSON?) {
        var templates: [Template] = []
        func add(_ node: PostProcessorJSON) {
            switch node {
            case .byteLevel:
                break
            case .template(let single, let pair, let specialTokens):
                func pieces(_ json: [TemplatePieceJSON]) -> [Piece] {
                    json.map { piece in
                        switch piece {
                        case .special(let name): return .special(specialTokens[name] ?? [])
                        case .sequence(let isSecond): return isSecond ? .second : .first
                        }
                    }
                }
                templates.append(Template(single: pieces(single), pair: pieces(pair)))
            case .sequence(let nodes):
                nodes.forEach(add)
            }
        }
        if let json { add(json) }
        self.templates = templates
    }

    /// The ids of one sequence `a`, or of the pair `a`, `b`.
    func process(_ a: [Int], _ b: [Int]?, addSpecialTokens: Bool) -> [Int] {
        guard addSpecialTokens, !templates.isEmpty else {
            return b.map { a + $0 } ?? a
        }
        var a = a
        var b = b
        for template in templates {
            if let second = b {
                // After a pair template the two sequences are one, as in `tokenizers`.
                a = layout(template.pair, a, second)
                b = nil
            } else {
                a = layout(template.single, a, [])
            }
        }
        return a
    }

    private func layout(_ pieces: [Piece], _ a: [Int], _ b: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(a.count + b.count + pieces.count)
        for piece in pieces {
            switch piece {
            case .special(let ids): out.append(contentsOf: ids)
            case .first: out.append(contentsOf: a)
            case .second: out.append(contentsOf: b)
            }
        }
        return out
    }

    /// The ids the single template puts before the sequence (e.g. `[bos]`).
    var singlePrefix: [Int] {
        var out: [Int] = []
        for template in templates {
            var prefix: [Int] = []
            for piece in template.single {
                guard case .special(let ids) = piece else { break }
                prefix.append(contentsOf: ids)
            }
            out = prefix + out
        }
        return out
    }
}
