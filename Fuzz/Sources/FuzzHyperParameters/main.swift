/// Hyper-parameter files (official AlphaEdit/MEMIT `hparams/*.json` and the package's dialect),
/// read for both algorithms.
import Editing
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = Data(fuzzInput(start, count))
    for algorithm in EditAlgorithm.allCases {
        guard let hparams = expectTypedError("EditHyperParameters.parse(\(algorithm))", { $0 is HyperParameterError }, {
            try EditHyperParameters.parse(data: data, path: "fuzz/hparams.json", algorithm: algorithm)
        }) else { continue }
        guard !hparams.layers.isEmpty, hparams.zLayer == hparams.layers.max() else {
            fuzzFailure("accepted hparams with layers \(hparams.layers)")
        }
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzHyperParameters_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
