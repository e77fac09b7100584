/// Why no plan was made. Every case says what is missing or which flag is at fault.
public enum PlacementError: Error, Equatable, CustomStringConvertible {
    /// `--placement` cannot be read or does not describe the model's blocks.
    case invalidPlacement(String, reason: String)
    /// No placement of the model fits the workers' budgets (or the given one does not).
    case doesNotFit(summary: String, shortfalls: [String])
    /// No workers to plan for.
    case noWorkers

    public var description: String {
        switch self {
        case .invalidPlacement(let text, let reason):
            return "--placement '\(text)': \(reason); give one inclusive block range per worker, in order, e.g. 0-7,8-15,16-23"
        case .doesNotFit(let summary, let shortfalls):
            return ([summary] + shortfalls.map { "  " + $0 }).joined(separator: "\n")
        case .noWorkers:
            return "no workers to place the model on"
        }
    }
}
