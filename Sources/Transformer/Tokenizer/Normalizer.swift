import Foundation

/// A Unicode normalization form, as a `normalizer` of tokenizer.json names it.
enum NormalizationForm: Sendable, Equatable {
    case nfc, nfd, nfkc, nfkd

    /// `text` in this form.
    func apply(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        }
    }
}

/// The normalizer: the forms applied in order (none for `"normalizer": null`).
struct Normalizer: Sendable {
    let forms: [NormalizationForm]

    var isIdentity: Bool { forms.isEmpty }

    func apply(_ text: String) -> String {
        forms.reduce(text) { $1.apply($0) }
    }
}
