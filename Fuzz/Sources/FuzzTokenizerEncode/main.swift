/// Encoding arbitrary text with the fixture tokenizers (GPT-2 byte-level BPE, Llama-3 with its
/// split regex and BOS template, the shipped knowledge model's): the input bytes are the text
/// (invalid UTF-8 becomes U+FFFD, as when a file is read). Byte-level BPE with a full byte
/// alphabet is lossless, so decoding the ids must give the text back.
import Foundation
import FuzzSupport
import Transformer

let tokenizers: [Tokenizer] = {
    let root = repositoryRoot()
    return ["Tests/Fixtures/hf-reference/tokenizer-gpt2", "Tests/Fixtures/hf-reference/tokenizer-llama3",
            "Models/knowledge-gpt2"].map { directory in
        do {
            return try Tokenizer(directory: root.appendingPathComponent(directory))
        } catch {
            fatalError("cannot load the fixture tokenizer \(directory) under \(root.path) (set ALPHAEDIT_ROOT): \(error)")
        }
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzInput(start, count), as: UTF8.self)
    for tokenizer in tokenizers {
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        for id in ids where tokenizer.token(forID: id) == nil {
            fuzzFailure("encoding \(text.debugDescription) gave the id \(id), which names no token")
        }
        let decoded = tokenizer.decode(ids, cleanUpTokenizationSpaces: false)
        if decoded != text {
            fuzzFailure("decode(encode(\(text.debugDescription))) is \(decoded.debugDescription)")
        }
        _ = tokenizer.encode(text, pair: text)
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzTokenizerEncode_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
