/// The `.npz` / `.npy` reader: the zip archive (through ZIPFoundation, stored or deflated), the
/// `.npy` magic, version and Python-literal header, and the streaming decoder (every dtype, both
/// byte orders, Fortran order). An input starting with `PK` is read as an archive (every member
/// as Double and Int64, `integer` of one-element members); any other as a bare `.npy` file.
/// Archives are read from a file (in /dev/shm when there is one), as `alphaedit` reads them:
/// ZIPFoundation's in-memory archives leak their backing store.
import Editing
import Foundation
import FuzzSupport

let archivePath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return directory + "/alphaedit-fuzz-\(ProcessInfo.processInfo.processIdentifier).npz"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    let isNPZ: (any Error) -> Bool = { $0 is NPZError }
    if count >= 2 && input[0] == UInt8(ascii: "P") && input[1] == UInt8(ascii: "K") {
        guard FileManager.default.createFile(atPath: archivePath, contents: Data(input)) else {
            fatalError("cannot write \(archivePath)")
        }
        defer { unlink(archivePath) }
        guard let archive = expectTypedError("NPZArchive(url:)", isNPZ, {
            try NPZArchive(url: URL(fileURLWithPath: archivePath))
        }) else { return 0 }
        _ = archive.contentFingerprint
        for key in archive.keys.prefix(8) {
            let header = expectTypedError("header(\(key))", isNPZ) { try archive.header(key) }
            let doubles = expectTypedError("array(\(key), Double)", isNPZ) { try archive.array(key, as: Double.self) }
            let ints = expectTypedError("array(\(key), Int64)", isNPZ) { try archive.array(key, as: Int64.self) }
            for array in [doubles?.header, ints?.header] {
                if let array, let header, array != header { fuzzFailure("member \(key): header \(header) but array \(array)") }
            }
            if let doubles, doubles.elements.count != doubles.header.elementCount {
                fuzzFailure("member \(key): \(doubles.elements.count) elements for shape \(doubles.shape)")
            }
            if header?.elementCount == 1 { expectTypedError("integer(\(key))", isNPZ) { try archive.integer(key) } }
        }
        _ = archive.contains("mom2.mom2")
        return 0
    }
    let bytes = Array(input)
    expectTypedError("NPYHeader.parse", { $0 is NPYHeaderFault }) { try NPYHeader.parse(bytes) }
    let doubles = expectTypedError("NPYArray<Double>(npy:)", isNPZ) { try NPYArray<Double>(npy: bytes, path: "fuzz.npy") }
    if let doubles, doubles.elements.count != doubles.header.elementCount {
        fuzzFailure("\(doubles.elements.count) elements for shape \(doubles.shape)")
    }
    expectTypedError("NPYArray<Int64>(npy:)", isNPZ) { try NPYArray<Int64>(npy: bytes, path: "fuzz.npy") }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzNPZ_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
