import Foundation
import Linalg

/// Next-token cross-entropy over logits, forward and gradient side by side.
public enum CrossEntropy {
    /// log-softmax of one row of logits.
    public static func logSoftmax(_ logits: ArraySlice<Float>) -> [Float] {
        let maximum = logits.max() ?? 0
        var sum: Float = 0
        for x in logits { sum += expf(x - maximum) }
        let logSum = maximum + logf(sum)
        return logits.map { $0 - logSum }
    }

    /// The mean negative log-likelihood of `targets` and its gradient.
    /// - Parameters:
    ///   - logits: `[N, V]`.
    ///   - targets: `[N]`: the token row r should predict, or nil to ignore row r.
    ///   - weights: optional per-row weights of the mean (default: 1 / number of targets).
    /// - Returns: the loss and dLoss/dLogits `[N, V]` (zero on ignored rows).
    public static func meanNLL(logits: Matrix<Float>, targets: [Int?], weights: [Float]? = nil) -> (loss: Float, dLogits: Matrix<Float>) {
        let (rowLoss, dLogits) = rowNLL(logits: logits, targets: targets, weights: weights)
        var loss: Double = 0
        for value in rowLoss { loss += value }
        return (Float(loss), dLogits)
    }

    /// ``meanNLL(logits:targets:weights:)`` with each row's weighted loss kept apart (0 on ignored
    /// rows): summed in row order they give the mean, so a batch of independent problems can take
    /// each problem's loss from its own rows.
    /// - Returns: `rowLoss` `[N]` and dLoss/dLogits `[N, V]`.
    public static func rowNLL(logits: Matrix<Float>, targets: [Int?], weights: [Float]? = nil) -> (rowLoss: [Double], dLogits: Matrix<Float>) {
        precondition(targets.count == logits.rows)
        let v = logits.cols
        let counted = targets.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        var dLogits = Parallel.zeros(rows: logits.rows, cols: v)
        var rowLoss = [Double](repeating: 0, count: logits.rows)
        guard counted > 0 else { return (rowLoss, dLogits) }
        for target in targets {
            if let target { precondition(target >= 0 && target < v, "target \(target) outside the vocabulary") }
        }
        // Rows in parallel; each row's loss is kept apart (the caller sums in row order).
        logits.elements.withUnsafeBufferPointer { ls in
            dLogits.elements.withUnsafeMutableBufferPointer { ds in
                rowLoss.withUnsafeMutableBufferPointer { losses in
                    let lp = ls.baseAddress!, dp = ds.baseAddress!, lossp = losses.baseAddress!
                    Parallel.forEachChunk(logits.rows, chunk: 8) { _, rows in
                        for r in rows {
                            guard let target = targets[r] else { continue }
                            let weight = weights?[r] ?? 1 / Float(counted)
                            let row = lp + r * v, gradient = dp + r * v
                            // dLogits = weight·softmax(row) − weight·onehot(target), the exponentials
                            // computed once, 16 lanes at a time.
                            let maximum = VectorMath.maximum(row, count: v)
                            var c = 0
                            while c < v {
                                VectorMath.store(VectorMath.load(row, c, v), gradient, c, v)
                                c += VectorMath.lanes
                            }
                            let sum = VectorMath.exponentiate(gradient, count: v, shift: maximum)
                            let logSum = maximum + logf(sum)
                            lossp[r] = Double(weight) * Double(logSum - row[target])
                            VectorMath.scale(gradient, count: v, by: weight / sum)
                            gradient[target] -= weight
                        }
                    }
                }
            }
        }
        return (rowLoss, dLogits)
    }
}
