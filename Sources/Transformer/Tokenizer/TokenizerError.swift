import Foundation

/// A tokenizer directory that cannot be used. Every case names the file and the fault in one line.
///
/// `field` is a JSON path inside the file, e.g. `model.vocab` or `pre_tokenizer.pretokenizers[0].behavior`.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case missingField(path: String, field: String)
    case invalidField(path: String, field: String, reason: String)
    case unsupported(path: String, field: String, value: String, supported: String)
    /// A merge (0-based index into `model.merges`) names a token that `model.vocab` lacks.
    case unknownMergeToken(path: String, merge: Int, token: String)
    /// A field names a token that is neither in `model.vocab` nor in `added_tokens`.
    case unknownToken(path: String, field: String, token: String)
    /// A token id (of `model.vocab` or `added_tokens`) the model has no embedding row for: the
    /// tokenizer belongs to another model.
    case idOutsideModel(path: String, token: String, id: Int, modelVocabulary: Int)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file (a tokenizer directory needs the tokenizer.json of a Hugging Face tokenizer)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .notJSON(let path, let reason):
            return "\(path): not valid JSON: \(reason)"
        case .missingField(let path, let field):
            return "\(path): required field \(field) is missing"
        case .invalidField(let path, let field, let reason):
            return "\(path): \(field) \(reason)"
        case .unsupported(let path, let field, let value, let supported):
            return "\(path): \(field) \(value) is not supported (supported: \(supported))"
        case .unknownMergeToken(let path, let merge, let token):
            return "\(path): model.merges[\(merge)] names the token \(quoted(token)), which is not in model.vocab"
        case .unknownToken(let path, let field, let token):
            return "\(path): \(field) names the token \(quoted(token)), which is neither in model.vocab nor in added_tokens"
        case .idOutsideModel(let path, let token, let id, let modelVocabulary):
            return "\(path): the token \(quoted(token)) has the id \(id), but the model has embeddings for ids 0…\(modelVocabulary - 1) (config.json vocab_size \(modelVocabulary)): this tokenizer is not the model's; use the tokenizer.json the model was trained with"
        }
    }
}

/// `"text"` with quotes and control characters escaped, for error messages.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += String(format: "\\u%04X", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// A fault found while decoding a JSON file, before the file's path is known; `TokenizerFiles` turns it
/// into a `TokenizerError`. `field` is the JSON path of the faulty value.
struct TokenizerJSONFault: Error {
    enum Kind {
        case unsupported(value: String, supported: String)
        case invalid(reason: String)
        case unknownToken(String)
    }
    let field: String
    let kind: Kind

    static func unsupported(_ codingPath: [any CodingKey], _ key: String?, value: String, supported: String) -> Self {
        TokenizerJSONFault(field: jsonPath(codingPath, key), kind: .unsupported(value: value, supported: supported))
    }

    static func invalid(_ codingPath: [any CodingKey], _ key: String?, _ reason: String) -> Self {
        TokenizerJSONFault(field: jsonPath(codingPath, key), kind: .invalid(reason: reason))
    }
}

/// `model.merges[3]` from a decoder's coding path (plus an optional last key).
func jsonPath(_ codingPath: [any CodingKey], _ key: String? = nil) -> String {
    var out = ""
    for element in codingPath {
        if let index = element.intValue {
            out += "[\(index)]"
        } else {
            out += out.isEmpty ? element.stringValue : ".\(element.stringValue)"
        }
    }
    if let key {
        out += out.isEmpty ? key : ".\(key)"
    }
    return out.isEmpty ? "(top level)" : out
}
