/// `config.json`: the JSON reader, the per-family field readers (GPT-2, GPT-J, Llama, Mistral,
/// Qwen2, rope scaling) and validation. An accepted config must give sizes that can be computed
/// (parameter counts without overflow), since the shard planner and the loaders use them.
import Foundation
import FuzzSupport
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = Data(fuzzInput(start, count))
    guard let config = expectTypedError("ModelConfig.parse", { $0 is ConfigError }, {
        try ModelConfig.parse(data: data, path: "fuzz/config.json")
    }) else { return 0 }
    _ = config.parameterCount
    _ = config.blockParameterCount
    _ = config.embeddingParameterCount
    _ = config.headParameterCount
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzModelConfig_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
