import Evaluation
import Foundation

/// Writes a value as one line of JSON on standard output.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = ReportJSON.encoder([.sortedKeys, .withoutEscapingSlashes])
        let data = try encoder.encode(value)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}
