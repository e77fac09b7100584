import ArgumentParser
import Linalg

/// The `alphaedit` command line: one subcommand per job.
@main
struct AlphaEditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alphaedit",
        abstract: "Edit facts in language models with AlphaEdit (null-space-constrained knowledge editing).",
        discussion: """
        Reads and writes Hugging Face checkpoints (config.json, *.safetensors, tokenizer.json) \
        and runs on CPUs through OpenBLAS/LAPACK.
        """,
        version: AlphaEditVersion.string,
        subcommands: [
            DemoCommand.self,
            EditCommand.self,
            ExperimentCommand.self,
            TraceCommand.self,
            PlanCommand.self,
            TokenizeCommand.self,
            InspectCommand.self,
            StatsCommand.self,
            ProjectCommand.self,
            RevertCommand.self,
            GenerateCommand.self,
            EvalCommand.self,
            TrainCommand.self,
            WorkerCommand.self,
            KeysCommand.self,
            StatusCommand.self,
        ]
    )

    /// Sets the process up before any command runs: freed memory is kept for the next pass
    /// unless `ALPHAEDIT_FREED_MEMORY=release` (see `FreedMemoryPolicy`).
    static func main() {
        do {
            try FreedMemoryPolicy.fromEnvironment().apply()
        } catch {
            exit(withError: error)
        }
        main(nil)
    }
}

enum AlphaEditVersion {
    static let string = "0.1.0"
}
