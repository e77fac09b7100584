/// `tokenizer.json` and `tokenizer_config.json`, then encoding text with what was loaded.
///
/// Input: `tokenizer.json` bytes, NUL, `tokenizer_config.json` bytes (empty: none), NUL, text
/// (JSON text never holds a raw NUL, so the separators cannot be confused with the files). An
/// accepted tokenizer encodes the text (alone, as a pair, with and without special tokens) to
/// ids that name tokens, and decodes them again.
import Foundation
import FuzzSupport
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let parts = splitParts(fuzzInput(start, count), separator: 0, maxParts: 3)
    let config = parts.count > 1 && !parts[1].isEmpty ? Data(parts[1]) : nil
    guard let tokenizer = expectTypedError("Tokenizer(json:config:)", { $0 is TokenizerError }, {
        try Tokenizer(json: Data(parts[0]), path: "fuzz/tokenizer.json", config: config, configPath: "fuzz/tokenizer_config.json")
    }) else { return 0 }
    let text = parts.count > 2 ? String(decoding: parts[2], as: UTF8.self) : "Hello world, the Eiffel Tower is in Paris!"
    for ids in [tokenizer.encode(text), tokenizer.encode(text, addSpecialTokens: false),
                tokenizer.encode(text, pair: text), tokenizer.encode(text, pair: "", addSpecialTokens: true)] {
        for id in ids where tokenizer.token(forID: id) == nil {
            fuzzFailure("encoding \(text.debugDescription) gave the id \(id), which names no token")
        }
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: true)
    }
    _ = tokenizer.decode([-1, Int.max, Int.min, 0, tokenizer.vocabularySize])
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzTokenizer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
