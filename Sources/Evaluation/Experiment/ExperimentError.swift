/// An experiment refused before any work.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidArgument(let reason): return reason
        }
    }
}
