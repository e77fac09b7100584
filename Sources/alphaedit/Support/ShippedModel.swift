import Evaluation
import Foundation

/// Where the repository's shipped files are: the embedded knowledge model and the datasets.
enum Shipped {
    /// The repository root: the working directory if it holds `Models/`, else the nearest folder
    /// above the executable that holds `Models/` and `Package.swift` (the executable lives in
    /// `.build/<configuration>/` or, symlinks resolved, `.build/<triple>/<configuration>/`).
    static var root: URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("Models").path) { return cwd }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<6 {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Models").path),
               FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) { return folder }
            folder = folder.deletingLastPathComponent()
        }
        return executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var model: URL { root.appendingPathComponent("Models/knowledge-gpt2", isDirectory: true) }
    static var hparams: URL { model.appendingPathComponent("alphaedit-hparams.json") }
    static var statistics: URL { model.appendingPathComponent("stats", isDirectory: true) }
    static var counterFact: URL { root.appendingPathComponent("Data/counterfact-preknown-1093.json") }
    static var zsre: URL { root.appendingPathComponent("Data/zsre-easyedit-portability-1037.json") }

    /// The `Data/` copy of a dataset (for `mixed`, its CounterFact part; the zsRE part is ``zsre``).
    static func data(for dataset: EvaluationDataset) -> URL {
        dataset == .zsre ? zsre : counterFact
    }

    /// A `--model` value as a directory URL, or the shipped model without one.
    static func modelDirectory(_ path: String?) -> URL {
        path.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? model
    }
}
