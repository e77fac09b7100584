import Foundation

/// Reads a JSON list of records, decoding each record on its own so that a bad record is reported by
/// its index and `case_id` rather than by a decoder path.
enum DatasetFile {
    static func read(_ file: URL) throws -> Data {
        do { return try Data(contentsOf: file) } catch {
            throw DatasetError.unreadable(path: file.path, reason: error.localizedDescription)
        }
    }

    /// Decodes `data` as `[T]`, then runs `validate` on every record.
    /// - Throws: `DatasetError`.
    static func decodeList<T: Decodable>(_ type: T.Type, data: Data, path: String,
                                         validate: (T, Int) throws -> Void = { _, _ in }) throws -> [T] {
        let attempts: [Attempt<T>]
        do {
            attempts = try JSONDecoder().decode([Attempt<T>].self, from: data)
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw DatasetError.notAList(path: path)
        } catch {
            throw DatasetError.notJSON(path: path, reason: describe(error))
        }
        guard !attempts.isEmpty else { throw DatasetError.empty(path: path) }
        var records: [T] = []
        records.reserveCapacity(attempts.count)
        for (index, attempt) in attempts.enumerated() {
            switch attempt.result {
            case .success(let record):
                do { try validate(record, index) } catch let reason as RecordFault {
                    throw DatasetError.invalidRecord(path: path, index: index, caseID: attempt.caseID, reason: reason.reason)
                }
                records.append(record)
            case .failure(let error):
                throw DatasetError.invalidRecord(path: path, index: index, caseID: attempt.caseID, reason: describe(error))
            }
        }
        return records
    }

    /// A decoding error in words: which key, and what was wrong with it.
    static func describe(_ error: any Error) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            // The first key is the record's index in the list, which the error names already.
            codingPath.drop { $0.intValue != nil && $0.stringValue.hasPrefix("Index") }.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing \"\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)\""
        case .typeMismatch(let type, let context):
            return "\"\(path(context.codingPath))\" is not \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\"\(path(context.codingPath))\" is null, expected \(Self.typeName(type))"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is [String].Type, is [Any].Type: return "a list"
        case is [String: Any].Type: return "an object"
        default: return "\(type)"
        }
    }
}

/// A record-level problem found after decoding; `DatasetFile` adds the file and record.
struct RecordFault: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One element of the list: the record, or why it failed, plus its `case_id` if that much decodes.
private struct Attempt<T: Decodable>: Decodable {
    let result: Result<T, any Error>
    let caseID: Int?

    private struct CaseIDKey: CodingKey {
        var stringValue: String { "case_id" }
        var intValue: Int? { nil }
        init() {}
        init?(stringValue: String) {}
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        result = Result { try T(from: decoder) }
        caseID = try? decoder.container(keyedBy: CaseIDKey.self).decode(Int.self, forKey: CaseIDKey())
    }
}
