import Foundation

/// `--placement 0-7,8-15,16-23`: one inclusive block range per worker, in worker order,
/// together covering every block once. A single block is written `5` (same as `5-5`).
public struct PlacementOverride: Sendable, Equatable {
    public var ranges: [Range<Int>]
    public let text: String

    public init(parsing text: String) throws {
        self.text = text
        var ranges: [Range<Int>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!), low >= 0 else {
                throw PlacementError.invalidPlacement(text, reason: "'\(part)' is not a block range such as 8-15")
            }
            guard low <= high else {
                throw PlacementError.invalidPlacement(text, reason: "'\(part)' ends before it starts")
            }
            ranges.append(low..<(high + 1))
        }
        self.ranges = ranges
    }

    static func unplaced(_ blocks: Range<Int>) -> String {
        blocks.count == 1 ? "block \(blocks.lowerBound) is not placed" : "blocks \(blocks.blockList) are not placed"
    }

    /// Checks the ranges against a model of `blockCount` blocks and `workerCount` workers.
    public func validate(blockCount: Int, workerCount: Int) throws {
        guard ranges.count == workerCount else {
            throw PlacementError.invalidPlacement(text, reason: "\(ranges.count) range\(ranges.count == 1 ? "" : "s") for \(workerCount) worker\(workerCount == 1 ? "" : "s")")
        }
        var next = 0
        for range in ranges {
            guard range.lowerBound == next else {
                let reason = range.lowerBound < next
                    ? "block \(range.lowerBound) is placed twice"
                    : Self.unplaced(next..<range.lowerBound)
                throw PlacementError.invalidPlacement(text, reason: reason + " (the ranges must be contiguous and in order)")
            }
            next = range.upperBound
        }
        guard next == blockCount else {
            let reason = next > blockCount
                ? "the model has \(blockCount) blocks (0-\(blockCount - 1)), the ranges reach block \(next - 1)"
                : Self.unplaced(next..<blockCount)
            throw PlacementError.invalidPlacement(text, reason: reason)
        }
    }
}
