import Foundation

/// Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `minimum` at
/// `totalSteps` (nanoGPT's `get_lr`). Steps are numbered from 0; the rate of step s is the one
/// its update uses.
public struct LearningRateSchedule: Sendable, Equatable {
    public var peak: Double
    public var minimum: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Double, minimum: Double, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The learning rate of step `step` (0-based):
    /// - `step < warmup`: peak · (step + 1) / warmup;
    /// - then minimum + ½ (1 + cos(π · progress)) (peak − minimum), progress = (step − warmup) / (total − warmup),
    ///   going from 0 at the end of the warm-up to 1 at the last step;
    /// - beyond `totalSteps`: minimum.
    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        if step >= totalSteps { return minimum }
        let decaySteps = totalSteps - warmupSteps
        guard decaySteps > 1 else { return peak }
        let progress = Double(step - warmupSteps) / Double(decaySteps - 1)
        return minimum + 0.5 * (1 + cos(Double.pi * progress)) * (peak - minimum)
    }
}
