// The edit benchmark's targets on disk: `--save-targets` writes the z of every request,
// `--reference-targets` compares them with another implementation's. One format for both: a
// safetensors file of float32 [d] tensors named z.<case_id>. official_edit_bench.py writes the
// official code's (--stages targets --save-targets) and feeds saved ones to the official code
// through its own v_star cache (--stages keys-solve --targets).

import Editing
import Foundation
import Transformer

/// The targets against the reference, over the requests.
struct EditTargetComparison: Codable {
    var requests: Int
    /// ‖z − z_ref‖ / ‖z_ref − h0‖ per request (the error against the change the edit asks for);
    /// nil when compared file to file (`edit compare`: the files hold no h0).
    var relativeErrorToReferenceChange: [Double]?
    /// ‖z − z_ref‖ / ‖z_ref‖ per request.
    var relativeErrorToReference: [Double]
}

extension EditTargetComparison {
    /// One line: the mean and largest error against the reference change (or, without h0,
    /// against the reference).
    var summary: String {
        let (values, measure) = relativeErrorToReferenceChange.map { ($0, "‖z − z_ref‖ / ‖z_ref − h0‖") }
            ?? (relativeErrorToReference, "‖z − z_ref‖ / ‖z_ref‖")
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        return "z against the reference, \(measure) over \(requests) requests: mean \(String(format: "%.3g", mean)), "
            + "largest \(String(format: "%.3g", values.max() ?? 0))"
    }
}

enum EditTargetFiles {
    static func name(caseID: Int) -> String { "z.\(caseID)" }

    private static func checkCounts(_ targets: [TargetResult], _ requests: [EditRequest]) throws {
        guard targets.count == requests.count else {
            throw EditBenchError.invalid("the edit gave \(targets.count) targets for \(requests.count) requests")
        }
    }

    static func save(_ targets: [TargetResult], requests: [EditRequest], to url: URL) throws {
        try checkCounts(targets, requests)
        var writer = SafetensorsWriter(metadata: ["format": "alphaedit-targets", "version": "1",
                                                  "layout": "z of each request (case_id), float32 [d]",
                                                  "source": "alphaedit-bench edit run"])
        var seen = Set<Int>()
        for (request, result) in zip(requests, targets) {
            guard seen.insert(request.caseID).inserted else {
                throw EditBenchError.invalid("--save-targets: two requests share case_id \(request.caseID); the file names targets by case_id")
            }
            try writer.add(name: name(caseID: request.caseID), floats: result.target, shape: [result.target.count])
        }
        try writer.write(to: url)
    }

    static func compare(_ targets: [TargetResult], requests: [EditRequest], reference url: URL) throws -> EditTargetComparison {
        try checkCounts(targets, requests)
        let file = try SafetensorsFile(url: url)
        var toChange: [Double] = [], toValue: [Double] = []
        for (request, result) in zip(requests, targets) {
            let tensor = name(caseID: request.caseID)
            let other = try comparisonFloats(file, tensor, count: result.target.count, path: url.path)
            // ‖z − z_ref‖ against ‖z_ref‖ and against ‖z_ref − h0‖.
            let value = relativeDifference(result.target, other)
            let size = other.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let change = zip(other, result.initial).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }.squareRoot()
            toValue.append(value)
            toChange.append(value * size / max(change, 1e-300))
        }
        return EditTargetComparison(requests: toValue.count, relativeErrorToReferenceChange: toChange, relativeErrorToReference: toValue)
    }

    /// Two saved files of targets compared, request by request in the order of `url`'s tensors:
    /// ‖z − z_ref‖ / ‖z_ref‖ (`edit compare`, after official parts that ran later).
    static func compare(_ url: URL, reference: URL) throws -> EditTargetComparison {
        let ours = try SafetensorsFile(url: url), theirs = try SafetensorsFile(url: reference)
        let names = ours.tensorNames.filter { $0.hasPrefix("z.") }
        guard !names.isEmpty else { throw EditBenchError.invalid("\(url.path): no z.<case_id> tensors (write it with `edit run --save-targets`)") }
        let toValue = try names.map { name -> Double in
            let z = try comparisonFloats(ours, name, count: try ours.info(name).elementCount, path: url.path)
            return relativeDifference(z, try comparisonFloats(theirs, name, count: z.count, path: reference.path))
        }
        return EditTargetComparison(requests: toValue.count, relativeErrorToReferenceChange: nil, relativeErrorToReference: toValue)
    }
}
