/// What a long job reports as it goes; the CLI draws these as progress bars or plain lines.
public enum EditEvent: Sendable {
    /// A stage begins, e.g. "statistics", "projectors", "batch 2/10".
    case stage(String)
    /// Progress within the stage: `done` of `total` units, with a short detail (rate, loss…).
    case progress(done: Int, total: Int, detail: String)
    /// A finding worth a line of its own (e.g. a projector's null-space dimension).
    case note(String)
}

public typealias EditEventHandler = @Sendable (EditEvent) -> Void
