import Foundation

extension Tokenizer {
    /// Loads the tokenizer of a Hugging Face model directory: `tokenizer.json` (required), then
    /// `tokenizer_config.json` and `special_tokens_map.json` when present (for `bos_token`, `eos_token`,
    /// `pad_token`, `unk_token`, `clean_up_tokenization_spaces`; the map overrides the config, as in
    /// transformers).
    /// - Throws: `TokenizerError`, whose description names the file and the field at fault.
    public convenience init(directory: URL) throws {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let json = try TokenizerFiles.decode(TokenizerJSON.self, at: tokenizerURL)
        var config = TokenizerConfigJSON()
        var configPath = tokenizerURL.path
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            config = try TokenizerFiles.decode(TokenizerConfigJSON.self, at: configURL)
            configPath = configURL.path
        }
        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        if FileManager.default.fileExists(atPath: mapURL.path) {
            let map = try TokenizerFiles.decode(TokenizerConfigJSON.self, at: mapURL)
            config = config.overridden(by: map)
            configPath = mapURL.path
        }
        try self.init(json: json, config: config, path: tokenizerURL.path, configPath: configPath)
    }

    /// A tokenizer from the bytes of a `tokenizer.json` and, optionally, of a
    /// `tokenizer_config.json` (or `special_tokens_map.json`), e.g. received over a network.
    /// - Parameters:
    ///   - path: how errors name the tokenizer.json; `configPath` how they name the config.
    /// - Throws: `TokenizerError`, as `init(directory:)`.
    public convenience init(json: Data, path: String = "tokenizer.json",
                            config: Data? = nil, configPath: String = "tokenizer_config.json") throws {
        let decoded = try TokenizerFiles.decode(TokenizerJSON.self, data: json, path: path)
        let configJSON = try config.map { try TokenizerFiles.decode(TokenizerConfigJSON.self, data: $0, path: configPath) }
        try self.init(json: decoded, config: configJSON ?? TokenizerConfigJSON(), path: path,
                      configPath: config == nil ? path : configPath)
    }
}

/// Reading the tokenizer's JSON files, with every failure turned into a one-line `TokenizerError`.
enum TokenizerFiles {
    static func decode<T: Decodable>(_ type: T.Type, at url: URL) throws -> T {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError.missingFile(path: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try decode(type, data: data, path: path)
    }

    /// Decodes JSON bytes; `path` names them in errors.
    static func decode<T: Decodable>(_ type: T.Type, data: Data, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let fault as TokenizerJSONFault {
            throw fault.error(path: path)
        } catch let error as DecodingError {
            throw tokenizerError(error, path: path)
        }
    }

    static func tokenizerError(_ error: DecodingError, path: String) -> TokenizerError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            var reason = context.debugDescription
            if let underlying = context.underlyingError {
                reason += " (\(oneLine(String(describing: underlying))))"
            }
            return .notJSON(path: path, reason: reason)
        case .dataCorrupted(let context):
            return .invalidField(path: path, field: jsonPath(context.codingPath), reason: context.debugDescription)
        case .keyNotFound(let key, let context):
            return .missingField(path: path, field: jsonPath(context.codingPath, key.stringValue))
        case .typeMismatch(let type, let context):
            return .invalidField(
                path: path, field: jsonPath(context.codingPath), reason: "is not \(describe(type))")
        case .valueNotFound(let type, let context):
            return .invalidField(
                path: path, field: jsonPath(context.codingPath), reason: "is null, expected \(describe(type))")
        @unknown default:
            return .notJSON(path: path, reason: oneLine(String(describing: error)))
        }
    }

    /// "an object", "an array"... for a Swift type that JSONDecoder expected.
    private static func describe(_ type: Any.Type) -> String {
        let name = String(describing: type)
        if name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer") { return "an object" }
        if name.hasPrefix("Array") || name.hasPrefix("UnkeyedDecodingContainer") { return "an array" }
        switch name {
        case "String": return "a string"
        case "Bool": return "a boolean"
        case "Int", "Int32", "Int64", "UInt32": return "an integer"
        case "Double", "Float": return "a number"
        default: return "a \(name)"
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

extension TokenizerJSONFault {
    /// This fault as the error of the file at `path`.
    func error(path: String) -> TokenizerError {
        switch kind {
        case .unsupported(let value, let supported):
            return .unsupported(path: path, field: field, value: value, supported: supported)
        case .invalid(let reason):
            return .invalidField(path: path, field: field, reason: reason)
        case .unknownToken(let token):
            return .unknownToken(path: path, field: field, token: token)
        }
    }
}
