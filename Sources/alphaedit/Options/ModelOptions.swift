import ArgumentParser
import Foundation

/// `--model DIR`: a Hugging Face checkpoint directory.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json).",
        valueName: "dir"))
    var model: String

    var modelURL: URL { URL(fileURLWithPath: model, isDirectory: true) }

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) else {
            throw ValidationError("--model \(model): no such directory")
        }
        guard isDirectory.boolValue else {
            throw ValidationError("--model \(model): not a directory (pass the folder that holds config.json)")
        }
    }
}
