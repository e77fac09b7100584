import Transformer

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
