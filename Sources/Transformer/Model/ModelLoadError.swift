/// A checkpoint whose tensors do not fit its config.json.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(directory: String, tensor: String)
    case shapeMismatch(directory: String, tensor: String, expected: [Int], found: [Int])
    case notFloatingPoint(directory: String, tensor: String, dtype: String)
    /// A stage's block range is empty or outside the model.
    case badStage(directory: String, blocks: String, layerCount: Int)

    public var description: String {
        switch self {
        case .missingTensor(let directory, let tensor):
            return "\(directory): tensor \"\(tensor)\" is missing (config.json says the model has it)"
        case .shapeMismatch(let directory, let tensor, let expected, let found):
            return "\(directory): tensor \"\(tensor)\" has shape \(found), expected \(expected) from config.json"
        case .notFloatingPoint(let directory, let tensor, let dtype):
            return "\(directory): tensor \"\(tensor)\" has dtype \(dtype); weights must be F32, F16, BF16 or F64"
        case .badStage(let directory, let blocks, let layerCount):
            return "\(directory): blocks \(blocks) are not a non-empty range of the model's \(layerCount) blocks"
        }
    }
}
