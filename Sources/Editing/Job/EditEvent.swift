/// What a long job reports as it goes; the CLI draws these as progress bars or plain lines.
public enum EditEvent: Sendable {
    /// A stage begins, e.g. "statistics", "projectors", "batch 2/10".
    case stage(String)
    /// Progress within the stage: `done` of `total` units, with a short detail (rate, loss…).
    case progress(done: Int, total: Int, detail: String)
    /// A finding worth a line of its own (e.g. a projector's null-space dimension).
    case note(String)
    /// A timed piece of the edit begins (for benchmarks: wall and CPU time between `began` and `ended`).
    case began(EditPhase)
    /// The timed piece ends.
    case ended(EditPhase)
}

/// The timed pieces of one batch, in the order the session runs them (per layer for the last five).
public enum EditPhase: Sendable, Equatable, Hashable {
    /// compute_z of every request.
    case targets
    /// compute_ks of layer l: the keys of the requests' template sentences.
    case keys(layer: Int)
    /// The block-l* outputs of the bare prompts (the official `cur_zs`).
    case currentOutputs(layer: Int)
    /// Residuals and the closed-form solve of layer l.
    case solve(layer: Int)
    /// W̃_l += Δ on every replica.
    case apply(layer: Int)
    /// After the batch: every layer's cache += K·Kᵀ.
    case caches
}

public typealias EditEventHandler = @Sendable (EditEvent) -> Void
