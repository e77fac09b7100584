import Foundation

/// Where the test fixtures live: `Tests/Fixtures/` in this repository.
enum FixturePaths {
    /// `Tests/Fixtures/`
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // TransformerTests/
        .deletingLastPathComponent()   // Tests/
        .appendingPathComponent("Fixtures", isDirectory: true)

    /// `Tests/Fixtures/hf-reference/<name>/`
    static func hfReference(_ name: String) -> URL {
        root.appendingPathComponent("hf-reference", isDirectory: true)
            .appendingPathComponent(name, isDirectory: true)
    }

    /// Every model folder of `hf-reference/` (those with a config.json).
    static let hfModelFolders = ["gpt2", "gpt2-bf16", "gpt2-fp16", "gptj", "llama", "llama-sharded", "qwen2"]

    /// Model folders whose reference.json has greedy and gradient cases (the bf16/fp16 copies
    /// only carry forward tensors; llama-sharded uses llama's).
    static let hfFoldersWithGreedyAndGradient = ["gpt2", "gptj", "llama", "llama-sharded", "qwen2"]

    /// A fresh temporary directory, removed by the caller when done.
    static func temporaryDirectory(_ label: String = "alphaedit-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
