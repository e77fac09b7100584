/// The safetensors reader: header framing, the strict JSON header parser, entry validation and
/// every typed read of every tensor. An accepted file is written again with `SafetensorsWriter`
/// and must read back to the same tensors and metadata.
import Foundation
import FuzzSupport
import Transformer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let file = expectTypedError("SafetensorsFile(bytes:)", { $0 is SafetensorsError }, {
        try SafetensorsFile(bytes: Array(input), name: "fuzz.safetensors")
    }) else { return 0 }

    var writer = SafetensorsWriter(metadata: file.metadata)
    for info in file.tensors {
        let begin = file.dataSectionOffset + info.dataOffsets.lowerBound
        guard begin >= 0, begin + info.byteCount <= count, info.byteCount == info.elementCount * info.dtype.byteSize else {
            fuzzFailure("accepted an impossible tensor \(info) in a \(count)-byte file")
        }
        let raw = expectTypedError("rawBytes", { $0 is SafetensorsError }) { try file.rawBytes(info.name) }
        guard let raw, raw.elementsEqual(input[begin ..< begin + info.byteCount]) else {
            fuzzFailure("rawBytes of \(info.name) are not the file's bytes")
        }
        let readable: (any Error) -> Bool = { error in
            guard let error = error as? SafetensorsError else { return false }
            switch error {
            case .unsupportedConversion, .valueOutOfRange: return true
            default: return false
            }
        }
        for count in [
            expectTypedError("floats", readable) { try file.floats(info.name).count },
            expectTypedError("doubles", readable) { try file.doubles(info.name).count },
            expectTypedError("int64s", readable) { try file.int64s(info.name).count },
            expectTypedError("int32s", readable) { try file.int32s(info.name).count },
            expectTypedError("withFloats", readable) { try file.withFloats(info.name) { $0.count } },
        ] {
            if let count, count != info.elementCount { fuzzFailure("read \(count) elements of \(info)") }
        }
        expectTypedError("SafetensorsWriter.add", { _ in false }) {
            try writer.add(name: info.name, dtype: info.dtype, shape: info.shape, bytes: raw)
        }
    }

    // Round trip: what the writer makes of the accepted file reads back the same.
    let again = expectTypedError("reading the rewritten file", { _ in false }) {
        try SafetensorsFile(bytes: writer.serialized(), name: "rewritten.safetensors")
    }!
    guard again.metadata == file.metadata, Set(again.tensorNames) == Set(file.tensorNames) else {
        fuzzFailure("the rewritten file has other tensors or metadata")
    }
    for name in file.tensorNames {
        let a = try! file.info(name), b = try! again.info(name)
        guard a.dtype == b.dtype, a.shape == b.shape, try! file.rawBytes(name) == again.rawBytes(name) else {
            fuzzFailure("tensor \(name) changed in the round trip")
        }
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzSafetensors_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
