import Foundation

// The parts of a Hugging Face `tokenizer.json` that this tokenizer reads, mirrored as `Decodable` types
// keyed like the file. Tagged unions (`{"type": "ByteLevel", ...}`) decode their `type` first and throw a
// `TokenizerJSONFault` naming the field for a type this package does not implement. `truncation`,
// `padding` and unknown keys are ignored.

/// `tokenizer.json`.
struct TokenizerJSON: Decodable {
    var addedTokens: [AddedTokenJSON]
    var normalizer: NormalizerJSON?
    var preTokenizer: PreTokenizerJSON?
    var postProcessor: PostProcessorJSON?
    var decoder: DecoderJSON?
    var model: BPEModelJSON

    enum CodingKeys: String, CodingKey {
        case addedTokens = "added_tokens"
        case normalizer
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
        case decoder
        case model
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        addedTokens = try c.decodeIfPresent([AddedTokenJSON].self, forKey: .addedTokens) ?? []
        normalizer = try c.decodeIfPresent(NormalizerJSON.self, forKey: .normalizer)
        preTokenizer = try c.decodeIfPresent(PreTokenizerJSON.self, forKey: .preTokenizer)
        postProcessor = try c.decodeIfPresent(PostProcessorJSON.self, forKey: .postProcessor)
        self.decoder = try c.decodeIfPresent(DecoderJSON.self, forKey: .decoder)
        model = try c.decode(BPEModelJSON.self, forKey: .model)
    }
}

/// One entry of `added_tokens`.
struct AddedTokenJSON: Decodable {
    var id: Int
    var content: String
    var singleWord: Bool
    var lstrip: Bool
    var rstrip: Bool
    var normalized: Bool
    var special: Bool

    enum CodingKeys: String, CodingKey {
        case id, content, lstrip, rstrip, normalized, special
        case singleWord = "single_word"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        content = try c.decode(String.self, forKey: .content)
        special = try c.decodeIfPresent(Bool.self, forKey: .special) ?? false
        singleWord = try c.decodeIfPresent(Bool.self, forKey: .singleWord) ?? false
        lstrip = try c.decodeIfPresent(Bool.self, forKey: .lstrip) ?? false
        rstrip = try c.decodeIfPresent(Bool.self, forKey: .rstrip) ?? false
        normalized = try c.decodeIfPresent(Bool.self, forKey: .normalized) ?? !special
        if id < 0 { throw TokenizerJSONFault.invalid(decoder.codingPath, "id", "is negative (\(id))") }
        if content.isEmpty { throw TokenizerJSONFault.invalid(decoder.codingPath, "content", "is empty") }
    }
}

/// Keys shared by the tagged unions.
private struct TypeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    static let type = TypeKey(stringValue: "type")
}

private func decodeType(_ decoder: any Decoder) throws -> (KeyedDecodingContainer<TypeKey>, String) {
    let c = try decoder.container(keyedBy: TypeKey.self)
    return (c, try c.decode(String.self, forKey: .type))
}

// MARK: normalizer

/// `normalizer`: Unicode normalization forms, alone or in a `Sequence`.
enum NormalizerJSON: Decodable {
    case form(NormalizationForm)
    case sequence([NormalizerJSON])

    init(from decoder: any Decoder) throws {
        let (c, type) = try decodeType(decoder)
        switch type {
        case "NFC": self = .form(.nfc)
        case "NFD": self = .form(.nfd)
        case "NFKC": self = .form(.nfkc)
        case "NFKD": self = .form(.nfkd)
        case "Sequence":
            self = .sequence(try c.decode([NormalizerJSON].self, forKey: TypeKey(stringValue: "normalizers")))
        default:
            throw TokenizerJSONFault.unsupported(
                decoder.codingPath, "type", value: quoted(type), supported: "null, NFC, NFD, NFKC, NFKD, Sequence")
        }
    }

    /// The forms in the order they apply.
    var forms: [NormalizationForm] {
        switch self {
        case .form(let form): return [form]
        case .sequence(let steps): return steps.flatMap(\.forms)
        }
    }
}

// MARK: pre-tokenizer

/// `pre_tokenizer`: `ByteLevel`, `Split` with a regex, or a `Sequence` of them.
indirect enum PreTokenizerJSON: Decodable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `Split` with behavior `Isolated` and `invert` false; `pattern` is a regex (a `String` pattern is
    /// turned into an escaped regex). `field` is the JSON path of the pattern, for error messages.
    case split(pattern: String, isRegex: Bool, field: String)
    case sequence([PreTokenizerJSON])

    init(from decoder: any Decoder) throws {
        let (c, type) = try decodeType(decoder)
        switch type {
        case "ByteLevel":
            let addPrefixSpace = try c.decode(Bool.self, forKey: TypeKey(stringValue: "add_prefix_space"))
            let useRegex = try c.decodeIfPresent(Bool.self, forKey: TypeKey(stringValue: "use_regex")) ?? true
            self = .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: useRegex)
        case "Split":
            let behavior = try c.decode(String.self, forKey: TypeKey(stringValue: "behavior"))
            guard behavior == "Isolated" else {
                throw TokenizerJSONFault.unsupported(
                    decoder.codingPath, "behavior", value: quoted(behavior), supported: "Isolated")
            }
            if try c.decodeIfPresent(Bool.self, forKey: TypeKey(stringValue: "invert")) ?? false {
                throw TokenizerJSONFault.unsupported(decoder.codingPath, "invert", value: "true", supported: "false")
            }
            let patternKey = TypeKey(stringValue: "pattern")
            let pattern = try c.decode([String: String].self, forKey: patternKey)
            let field = jsonPath(decoder.codingPath, "pattern")
            if let regex = pattern["Regex"] {
                self = .split(pattern: regex, isRegex: true, field: field + ".Regex")
            } else if let string = pattern["String"] {
                self = .split(pattern: string, isRegex: false, field: field + ".String")
            } else {
                throw TokenizerJSONFault.invalid(decoder.codingPath, "pattern", "has neither a Regex nor a String key")
            }
        case "Sequence":
            self = .sequence(try c.decode([PreTokenizerJSON].self, forKey: TypeKey(stringValue: "pretokenizers")))
        default:
            throw TokenizerJSONFault.unsupported(
                decoder.codingPath, "type", value: quoted(type), supported: "ByteLevel, Split, Sequence")
        }
    }
}

// MARK: model

/// `model`: a byte-level BPE. `merges` are either `"a b"` strings (older files) or `["a", "b"]` pairs.
struct BPEModelJSON: Decodable {
    var vocab: [String: Int]
    var merges: [(String, String)]
    var unkToken: String?
    var fuseUnk: Bool
    var ignoreMerges: Bool

    enum CodingKeys: String, CodingKey {
        case type, vocab, merges, dropout
        case unkToken = "unk_token"
        case fuseUnk = "fuse_unk"
        case ignoreMerges = "ignore_merges"
        case byteFallback = "byte_fallback"
        case continuingSubwordPrefix = "continuing_subword_prefix"
        case endOfWordSuffix = "end_of_word_suffix"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let path = decoder.codingPath
        // `type` may be absent in older files, whose models are BPE when they have merges.
        if let type = try c.decodeIfPresent(String.self, forKey: .type), type != "BPE" {
            throw TokenizerJSONFault.unsupported(path, "type", value: quoted(type), supported: "BPE")
        }
        if let dropout = try c.decodeIfPresent(Double.self, forKey: .dropout), dropout != 0 {
            throw TokenizerJSONFault.unsupported(path, "dropout", value: "\(dropout)", supported: "null, 0")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .byteFallback) ?? false {
            throw TokenizerJSONFault.unsupported(path, "byte_fallback", value: "true", supported: "false")
        }
        for key in [CodingKeys.continuingSubwordPrefix, .endOfWordSuffix] {
            if let affix = try c.decodeIfPresent(String.self, forKey: key), !affix.isEmpty {
                throw TokenizerJSONFault.unsupported(path, key.rawValue, value: quoted(affix), supported: "null")
            }
        }
        vocab = try c.decode([String: Int].self, forKey: .vocab)
        if let (token, id) = vocab.first(where: { $0.value < 0 }) {
            throw TokenizerJSONFault.invalid(path, "vocab", "gives the token \(quoted(token)) the negative id \(id)")
        }
        unkToken = try c.decodeIfPresent(String.self, forKey: .unkToken)
        fuseUnk = try c.decodeIfPresent(Bool.self, forKey: .fuseUnk) ?? false
        ignoreMerges = try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges) ?? false

        if let lines = try? c.decode([String].self, forKey: .merges) {
            merges = try lines.enumerated().map { index, line in
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerJSONFault.invalid(
                        path, "merges[\(index)]", "\(quoted(line)) is not two tokens separated by one space")
                }
                return (String(parts[0]), String(parts[1]))
            }
        } else {
            let pairs = try c.decode([[String]].self, forKey: .merges)
            merges = try pairs.enumerated().map { index, pair in
                guard pair.count == 2 else {
                    throw TokenizerJSONFault.invalid(path, "merges[\(index)]", "has \(pair.count) tokens, not 2")
                }
                return (pair[0], pair[1])
            }
        }
    }
}

// MARK: post-processor

/// `post_processor`: `ByteLevel` (changes only offsets), `TemplateProcessing`, or a `Sequence`.
indirect enum PostProcessorJSON: Decodable {
    case byteLevel
    case template(single: [TemplatePieceJSON], pair: [TemplatePieceJSON], specialTokens: [String: [Int]])
    case sequence([PostProcessorJSON])

    init(from decoder: any Decoder) throws {
        let (c, type) = try decodeType(decoder)
        switch type {
        case "ByteLevel":
            self = .byteLevel
        case "TemplateProcessing":
            let single = try c.decode([TemplatePieceJSON].self, forKey: TypeKey(stringValue: "single"))
            let pair = try c.decode([TemplatePieceJSON].self, forKey: TypeKey(stringValue: "pair"))
            let specials = try c.decodeIfPresent(
                [String: TemplateSpecialTokenJSON].self, forKey: TypeKey(stringValue: "special_tokens")) ?? [:]
            for (key, template) in [("single", single), ("pair", pair)] {
                for (index, piece) in template.enumerated() {
                    if case .special(let name) = piece, specials[name] == nil {
                        throw TokenizerJSONFault.invalid(
                            decoder.codingPath, "special_tokens", "lacks \(quoted(name)), used by \(key)[\(index)]")
                    }
                }
            }
            self = .template(single: single, pair: pair, specialTokens: specials.mapValues(\.ids))
        case "Sequence":
            self = .sequence(try c.decode([PostProcessorJSON].self, forKey: TypeKey(stringValue: "processors")))
        default:
            throw TokenizerJSONFault.unsupported(
                decoder.codingPath, "type", value: quoted(type),
                supported: "null, ByteLevel, TemplateProcessing, Sequence")
        }
    }
}

extension PostProcessorJSON {
    /// The special tokens the templates of `node` insert, with their ids, sorted by name.
    static func usedSpecialTokens(_ node: PostProcessorJSON?) -> [(name: String, ids: [Int])] {
        var used: [String: [Int]] = [:]
        func visit(_ node: PostProcessorJSON) {
            switch node {
            case .byteLevel: break
            case .template(let single, let pair, let specialTokens):
                for case .special(let name) in single + pair { used[name] = specialTokens[name] ?? [] }
            case .sequence(let nodes): nodes.forEach(visit)
            }
        }
        node.map(visit)
        return used.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// One piece of a template: `{"SpecialToken": {"id": "<s>", "type_id": 0}}` or
/// `{"Sequence": {"id": "A", "type_id": 0}}`.
enum TemplatePieceJSON: Decodable {
    case special(String)
    case sequence(isSecond: Bool)

    private struct Inner: Decodable { var id: String }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        if let special = try c.decodeIfPresent(Inner.self, forKey: TypeKey(stringValue: "SpecialToken")) {
            self = .special(special.id)
        } else if let sequence = try c.decodeIfPresent(Inner.self, forKey: TypeKey(stringValue: "Sequence")) {
            switch sequence.id {
            case "A": self = .sequence(isSecond: false)
            case "B": self = .sequence(isSecond: true)
            default:
                throw TokenizerJSONFault.unsupported(
                    decoder.codingPath, "Sequence.id", value: quoted(sequence.id), supported: "A, B")
            }
        } else {
            throw TokenizerJSONFault.invalid(decoder.codingPath, nil, "is neither a SpecialToken nor a Sequence")
        }
    }
}

/// One entry of a template's `special_tokens`.
struct TemplateSpecialTokenJSON: Decodable {
    var ids: [Int]
}

// MARK: decoder

/// `decoder`: only `ByteLevel` (bytes back from the byte-level alphabet).
struct DecoderJSON: Decodable {
    init(from decoder: any Decoder) throws {
        let (_, type) = try decodeType(decoder)
        guard type == "ByteLevel" else {
            throw TokenizerJSONFault.unsupported(decoder.codingPath, "type", value: quoted(type), supported: "ByteLevel")
        }
    }
}
