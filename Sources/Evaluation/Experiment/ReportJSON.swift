import Foundation

/// The JSON coding of reports. A metric can be NaN (a record with no paraphrase or neighbourhood
/// prompts gives `np.mean([])`, as the official code does); it is written as the string "NaN"
/// (and ±"Infinity"), the names Python's json module reads, instead of failing the report.
public enum ReportJSON {
    static let nonFiniteStrings = (positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    public static func encoder(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFiniteStrings.positiveInfinity,
                                                                      negativeInfinity: nonFiniteStrings.negativeInfinity,
                                                                      nan: nonFiniteStrings.nan)
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: nonFiniteStrings.positiveInfinity,
                                                                        negativeInfinity: nonFiniteStrings.negativeInfinity,
                                                                        nan: nonFiniteStrings.nan)
        return decoder
    }
}
