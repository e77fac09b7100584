import Foundation

/// Which records of a dataset file to evaluate: the first N, or the half-open range START:END of
/// positions in the file (Python slice notation, as `--records 100:200`).
public struct RecordSelection: Sendable, Equatable, CustomStringConvertible {
    public var start: Int
    /// nil = to the end of the file.
    public var end: Int?

    public init(start: Int = 0, end: Int? = nil) {
        precondition(start >= 0 && (end ?? start) >= start)
        self.start = start
        self.end = end
    }

    /// Every record.
    public static let all = RecordSelection()

    /// Parses `N` (the first N records) or `START:END` (either side may be empty: `:50`, `100:`).
    /// - Returns: nil for anything else, negative numbers, or END < START.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        func number(_ s: Substring) -> Int?? {
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return .some(nil) }
            guard let n = Int(trimmed), n >= 0 else { return nil }
            return .some(n)
        }
        switch parts.count {
        case 1:
            guard let n = number(parts[0]), let count = n else { return nil }
            self.init(start: 0, end: count)
        case 2:
            guard let a = number(parts[0]), let b = number(parts[1]) else { return nil }
            let start = a ?? 0
            if let b, b < start { return nil }
            self.init(start: start, end: b)
        default:
            return nil
        }
    }

    /// The positions selected in a file of `count` records.
    /// - Throws: `DatasetError.emptySelection` for an empty selection inside the file,
    ///   `DatasetError.selectionOutOfRange` when START or END is past the end of the file.
    public func range(count: Int, path: String) throws -> Range<Int> {
        let end = self.end ?? count
        if self.end == start && start <= count { throw DatasetError.emptySelection(path: path, selection: description, count: count) }
        guard start < end, end <= count else {
            throw DatasetError.selectionOutOfRange(path: path, selection: description, count: count)
        }
        return start..<end
    }

    public var description: String { "\(start):\(end.map(String.init) ?? "")" }
}
