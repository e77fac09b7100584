/// The files alphaedit writes and reads back: the edit state (`alphaedit-state`: projectors or
/// second moments, caches, context templates, counters), layer statistics
/// (`alphaedit-statistics`), projectors (`alphaedit-projector`) and the deltas file
/// (`alphaedit-deltas`, read as `alphaedit revert` reads it). The input is a safetensors file;
/// every reader runs on it, the state reader for both algorithms with the layers and model the
/// file itself names (so that a well-formed file gets past the "continues this job" checks).
import Editing
import Foundation
import FuzzSupport
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let file = expectTypedError("SafetensorsFile(bytes:)", { $0 is SafetensorsError }, {
        try SafetensorsFile(bytes: Array(fuzzInput(start, count)), name: "fuzz/edit-file.safetensors")
    }) else { return 0 }
    let typed: (any Error) -> Bool = {
        $0 is SafetensorsError || $0 is EditJobError || $0 is StatisticsError || $0 is ContextTemplateError
    }

    // State: the layers and model as the file says, so the reader goes past its identity checks.
    let layers = (file.metadata["layers"] ?? "").split(separator: ",").compactMap { Int($0) }
    let model = file.metadata["model"] ?? ""
    for algorithm in EditAlgorithm.allCases {
        guard let state = expectTypedError("EditState.read(\(algorithm))", typed, {
            try EditState.read(file: file, algorithm: algorithm, layers: layers, model: model)
        }) else { continue }
        guard state.layers == layers, state.editCount >= 0 else { fuzzFailure("state read as layers \(state.layers)") }
    }

    if let (statistics, _) = expectTypedError("LayerStatistics.read", typed, { try LayerStatistics.read(file: file) }) {
        guard statistics.sum.rows == statistics.sum.cols else { fuzzFailure("statistics with a non-square sum") }
    }
    expectTypedError("NullSpaceProjector.read", typed) { try NullSpaceProjector.read(file: file) }

    // Deltas, as RevertJob reads them: floating-point tensors as doubles and floats, counters.
    if file.metadata["format"] == "alphaedit-deltas" {
        for name in file.tensorNames {
            guard let info = try? file.info(name), info.dtype.isFloatingPoint else { continue }
            let doubles = expectTypedError("deltas doubles", typed) { try file.doubles(name) }
            let floats = expectTypedError("deltas floats", typed) { try file.floats(name) }
            guard doubles?.count == info.elementCount, floats?.count == info.elementCount else {
                fuzzFailure("delta \(info) read as \(doubles?.count ?? -1) doubles, \(floats?.count ?? -1) floats")
            }
            _ = doubles!.reduce(0) { max($0, abs($1)) }
        }
        _ = file.metadata["edits"].flatMap { Int($0) }
        _ = file.metadata["edits_before"].flatMap { Int($0) }.flatMap { $0 > 0 ? String($0) : nil }
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzEditFiles_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
