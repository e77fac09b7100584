/// The Hugging Face `model_type` values alphaedit can load.
public enum ModelType: String, Sendable, CaseIterable, Codable {
    case gpt2
    case gptj
    case llama
    case mistral
    case qwen2

    /// `gpt2, gptj, llama, mistral, qwen2`, for error messages.
    public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
