import ArgumentParser
import Editing
import Foundation

/// `alphaedit revert`: the model before an edit, from the edited checkpoint and its deltas.
struct RevertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Undo an edit: subtract alphaedit-deltas.safetensors from the edited checkpoint.",
        discussion: """
        Writes a checkpoint in the input's dtypes and sharding (plus its config and tokenizer files) with \
        each edited weight minus its delta. F32 weights come back to within one float32 rounding; F16/BF16 \
        ones within their rounding. The deltas must be those of the edit that wrote --model (the same \
        base model and edit count).

        Example:
          alphaedit revert --model out/edited --deltas out/edited/alphaedit-deltas.safetensors --output-dir out/reverted
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("The deltas file of the edit (default: alphaedit-deltas.safetensors in --model).", valueName: "file"))
    var deltas: String?

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write the reverted model (must not exist, or be empty).", valueName: "dir"))
    var outputDir: String

    @Flag(help: "Replace a non-empty output directory.")
    var overwrite = false

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func run() throws {
        let deltasURL = deltas.map { URL(fileURLWithPath: $0) } ?? model.modelURL.appendingPathComponent("alphaedit-deltas.safetensors")
        let job = try RevertJob(modelDirectory: model.modelURL, deltasFile: deltasURL,
                                outputDirectory: URL(fileURLWithPath: outputDir, isDirectory: true), overwrite: overwrite)
        let summary = try job.run(events: ProgressReporter(quiet: quiet).handler)
        if json {
            struct Report: Encodable { let output_dir: String; let deltas: String; let edits: Int?; let tensors: [RevertJob.RevertedTensor] }
            try JSONOutput.print(Report(output_dir: outputDir, deltas: deltasURL.path, edits: summary.edits, tensors: summary.tensors))
            return
        }
        print("Reverted \(summary.tensors.count) tensor\(summary.tensors.count == 1 ? "" : "s")\(summary.edits.map { " (\($0) edits)" } ?? "") → \(outputDir)")
        for tensor in summary.tensors {
            print(String(format: "  %@  %@ %@  max |Δ| %.3g", tensor.name, tensor.dtype, "\(tensor.shape)", tensor.maxAbsDelta))
        }
    }
}
