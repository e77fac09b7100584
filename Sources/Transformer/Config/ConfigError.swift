import Foundation

/// A `config.json` that cannot be used. Every case names the file and the fault in one line.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case unsupportedModelType(path: String, found: String)
    case missingField(path: String, field: String)
    case invalidField(path: String, field: String, reason: String)

    public var description: String { message.escapingLineBreaks }

    private var message: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file (a model directory needs the config.json of a Hugging Face checkpoint)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .notJSON(let path, let reason):
            return "\(path): not a JSON object: \(reason)"
        case .unsupportedModelType(let path, let found):
            return "\(path): model_type \"\(found)\" is not supported (supported: \(ModelType.supportedList))"
        case .missingField(let path, let field):
            return "\(path): required field \"\(field)\" is missing"
        case .invalidField(let path, let field, let reason):
            return "\(path): field \"\(field)\" \(reason)"
        }
    }
}
