/// An hparams file alphaedit cannot use; one line naming the file and the key.
public enum HyperParameterError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case unknownKey(path: String, key: String)
    case missingKey(path: String, key: String, algorithm: String)
    case invalidValue(path: String, key: String, reason: String)

    public var description: String { message.escapingLineBreaks }

    private var message: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .notJSON(let path, let reason): return "\(path): not a JSON object: \(reason)"
        case .unknownKey(let path, let key):
            return "\(path): unknown key \"\(key)\" (keys are those of the official hparams/AlphaEdit/*.json or configs/*.json files)"
        case .missingKey(let path, let key, let algorithm):
            return "\(path): key \"\(key)\" is missing (\(algorithm) needs it)"
        case .invalidValue(let path, let key, let reason): return "\(path): key \"\(key)\" \(reason)"
        }
    }
}

extension String {
    /// The text with control characters and line or paragraph separators escaped (`\n`,
    /// `\u{2028}`), so that an error message quoting text from a file stays one line.
    var escapingLineBreaks: String {
        guard unicodeScalars.contains(where: \.breaksLine) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            guard scalar.breaksLine else { out.append(scalar); continue }
            switch scalar {
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default: out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            }
        }
        return String(out)
    }
}

extension Unicode.Scalar {
    fileprivate var breaksLine: Bool {
        switch properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
