import Foundation

/// A `config.json` that cannot be used. Every case names the file and the fault in one line.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case unsupportedModelType(path: String, found: String)
    case missingField(path: String, field: String)
    case invalidField(path: String, field: String, reason: String)

    public var description: String { Self.oneLine(message) }

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

    /// `text` with control characters and line or paragraph separators escaped, so that a
    /// message quoting a value from the file stays one line.
    static func oneLine(_ text: String) -> String {
        func breaks(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
        guard text.unicodeScalars.contains(where: breaks) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard breaks(scalar) else { out.append(scalar); continue }
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
