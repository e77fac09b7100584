import Foundation

/// Typed reads from a parsed JSON object, each failure a `ConfigError` naming the file and the field.
struct JSONObject {
    let path: String
    let fields: [String: JSONValue]

    init(path: String, fields: [String: JSONValue]) {
        self.path = path
        self.fields = fields
    }

    /// Parses `data` as a JSON object.
    init(path: String, data: Data) throws {
        let parsed: JSONValue
        do {
            parsed = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw ConfigError.notJSON(path: path, reason: underlying ?? context.debugDescription)
        } catch {
            throw ConfigError.notJSON(path: path, reason: "\(error)")
        }
        guard case .object(let object) = parsed else {
            throw ConfigError.notJSON(path: path, reason: "the top level is not an object")
        }
        self.init(path: path, fields: object)
    }

    func has(_ key: String) -> Bool {
        guard let value = fields[key] else { return false }
        return value != .null
    }

    func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else { throw ConfigError.missingField(path: path, field: key) }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard case .string(let value) = fields[key] else {
            throw ConfigError.invalidField(path: path, field: key, reason: "must be a string")
        }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw ConfigError.missingField(path: path, field: key) }
        return value
    }

    func positiveInt(_ key: String) throws -> Int {
        let value = try int(key)
        guard value > 0 else { throw ConfigError.invalidField(path: path, field: key, reason: "must be positive, found \(value)") }
        return value
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard case .number(let number) = fields[key], let value = Int(exactly: number) else {
            throw ConfigError.invalidField(path: path, field: key, reason: "must be an integer")
        }
        return value
    }

    func double(_ key: String) throws -> Double {
        guard let value = try optionalDouble(key) else { throw ConfigError.missingField(path: path, field: key) }
        return value
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        guard case .number(let number) = fields[key] else {
            throw ConfigError.invalidField(path: path, field: key, reason: "must be a number")
        }
        return number
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard case .bool(let value) = fields[key] else {
            throw ConfigError.invalidField(path: path, field: key, reason: "must be true or false")
        }
        return value
    }

    func optionalObject(_ key: String) throws -> JSONObject? {
        guard has(key) else { return nil }
        guard case .object(let value) = fields[key] else {
            throw ConfigError.invalidField(path: path, field: key, reason: "must be an object")
        }
        return JSONObject(path: path, fields: value)
    }

    /// An integer or a list of integers (`eos_token_id` may be either).
    func optionalIntList(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        if case .array(let items) = fields[key] {
            return try items.map { item in
                guard case .number(let number) = item, let value = Int(exactly: number) else {
                    throw ConfigError.invalidField(path: path, field: key, reason: "must be an integer or a list of integers")
                }
                return value
            }
        }
        return try optionalInt(key).map { [$0] }
    }
}
