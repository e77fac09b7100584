import ArgumentParser
import Foundation

/// `--model DIR`: a Hugging Face checkpoint directory.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json).",
        valueName: "dir"))
    var model: String

    var modelURL: URL { URL(fileURLWithPath: model, isDirectory: true) }

    func validate() throws { try Self.checkDirectory(model) }

    /// Throws unless `path` is a directory, naming `--model`.
    static func checkDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("--model \(path): no such directory")
        }
        guard isDirectory.boolValue else {
            throw ValidationError("--model \(path): not a directory (pass the folder that holds config.json)")
        }
    }
}
