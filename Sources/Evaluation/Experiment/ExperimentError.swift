/// An experiment refused before any work.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    /// A report.json that cannot be read back: path and reason.
    case unreadableReport(path: String, reason: String)
    /// A journal that cannot be resumed from: path and reason.
    case journal(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidArgument(let reason): return reason
        case .unreadableReport(let path, let reason):
            return "\(path): not a report.json written by `alphaedit experiment` (\(reason)); run the experiment to make one"
        case .journal(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
