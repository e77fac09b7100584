/// An edit job refused before any work, or a stage that failed; one line naming the input at fault.
public enum EditJobError: Error, CustomStringConvertible, Equatable {
    case layerOutOfRange(path: String, key: String, layer: Int, layerCount: Int)
    case moduleMismatch(path: String, key: String, found: String, expected: String)
    case missingStatistics(layer: Int, path: String)
    case corpusMismatch(path: String, reason: String)
    case invalidState(path: String, reason: String)
    case outputExists(path: String)
    case emptyTarget(request: Int, target: String)
    /// A request whose text is longer than the model's learned positions.
    case requestTooLong(request: Int, caseID: Int, what: String, tokens: Int, positions: Int)
    case outputFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .layerOutOfRange(let path, let key, let layer, let count):
            return "\(path): \(key) names layer \(layer), but the model has layers 0…\(count - 1)"
        case .moduleMismatch(let path, let key, let found, let expected):
            return "\(path): \(key) is \"\(found)\", but this model's module is \"\(expected)\""
        case .missingStatistics(let layer, let path):
            return "no statistics for layer \(layer) at \(path): pass --corpus FILE to compute them, or import the official ones with `alphaedit stats import`"
        case .corpusMismatch(let path, let reason): return "\(path): \(reason)"
        case .invalidState(let path, let reason): return "\(path): \(reason)"
        case .outputExists(let path):
            return "\(path) exists and is not empty; choose another --output-dir or pass --overwrite"
        case .emptyTarget(let request, let target):
            return "request \(request): target \"\(target)\" encodes to no tokens"
        case .outputFailed(let path, let reason): return "\(path): \(reason)"
        case .requestTooLong(let request, let caseID, let what, let tokens, let positions):
            return "request \(request) (case_id \(caseID)): \(what) is \(tokens) tokens, more than the model's \(positions) positions; shorten its prompt or target"
        }
    }
}
