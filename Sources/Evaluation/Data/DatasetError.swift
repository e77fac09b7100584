import Foundation

/// A dataset file the evaluation cannot use; every case names the file, and record-level cases
/// name the record by its position in the file (and its `case_id` when it has one).
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    /// The top level is not a JSON list of records.
    case notAList(path: String)
    case empty(path: String)
    case invalidRecord(path: String, index: Int, caseID: Int?, reason: String)
    /// A `--records` selection outside the file.
    case selectionOutOfRange(path: String, selection: String, count: Int)
    /// A `--records` selection of no record inside the file (`0`, `5:5`).
    case emptySelection(path: String, selection: String, count: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .notJSON(let path, let reason): return "\(path): not JSON: \(reason)"
        case .notAList(let path): return "\(path): expected a JSON list of records at the top level"
        case .empty(let path): return "\(path): the file holds no records"
        case .invalidRecord(let path, let index, let caseID, let reason):
            let name = caseID.map { "record \(index) (case_id \($0))" } ?? "record \(index)"
            return "\(path): \(name): \(reason)"
        case .selectionOutOfRange(let path, let selection, let count):
            return "\(path): records \(selection) are outside the file's \(count) records"
        case .emptySelection(let path, let selection, let count):
            return "\(path): --records \(selection) selects no record (give N ≥ 1 or START:END with END > START; the file has \(count) records)"
        }
    }
}
