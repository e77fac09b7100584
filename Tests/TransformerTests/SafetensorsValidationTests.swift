import Foundation
import Testing
import Transformer

/// Each header rule, broken by hand, gives its own typed error naming the file and tensor.
@Suite struct SafetensorsValidationTests {
    typealias Support = SafetensorsTestSupport
    static let file = "hand.safetensors"

    /// A one-tensor header `{"t": {<entry>}}` followed by `data`.
    static func single(_ entry: String, data: [UInt8] = Array(repeating: 0, count: 8)) -> [UInt8] {
        Support.file(header: "{\"t\":{\(entry)}}", data: data)
    }

    @Test func validFileParses() throws {
        let bytes = Self.single(#""dtype":"F32","shape":[2],"data_offsets":[0,8]"#)
        let file = try SafetensorsFile(bytes: bytes, name: Self.file)
        #expect(file.tensorNames == ["t"])
        #expect(try file.info("t") == TensorInfo(name: "t", dtype: .F32, shape: [2], dataOffsets: 0 ..< 8))
        #expect(try file.floats("t") == [0, 0])
        #expect(file.url == nil && !file.isMemoryMapped)
    }

    @Test func fileShorterThanEightBytes() {
        for size in 0 ..< 8 {
            #expect(Support.openError(Array(repeating: 0, count: size)) == .fileTooShort(file: Self.file, size: size))
        }
    }

    @Test func headerLengthTooLargeOrPastTheEnd() {
        let data = Support.file(header: "{}", length: 100_000_001)
        #expect(Support.openError(data) == .headerTooLarge(file: Self.file, headerLength: 100_000_001, limit: 100_000_000))
        #expect(Support.openError(Support.file(header: "{}", length: .max)) ==
                .headerTooLarge(file: Self.file, headerLength: .max, limit: 100_000_000))
        #expect(Support.openError(Support.file(header: "{}", length: 3)) ==
                .headerLengthExceedsFile(file: Self.file, headerLength: 3, available: 2))
        // Within the limit but past the end: the 100 MB limit is not what saves us here.
        #expect(Support.openError(Support.file(header: "{}", length: 99_999_999)) ==
                .headerLengthExceedsFile(file: Self.file, headerLength: 99_999_999, available: 2))
    }

    @Test func headerNotUTF8() {
        var header = Array(#"{"t\#u{00e9}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#.utf8)
        header[3] = 0xFF   // the first byte of "é"
        #expect(Support.openError(Support.file(headerBytes: header)) == .headerNotUTF8(file: Self.file, offset: 3))
        // Overlong encoding and a UTF-16 surrogate encoded in UTF-8 are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let bytes = Array("{\"".utf8) + bad + Array("\":1}".utf8)
            #expect(Support.openError(Support.file(headerBytes: bytes)) == .headerNotUTF8(file: Self.file, offset: 2))
        }
    }

    @Test func headerNotJSON() {
        let cases = ["", "{", #"{"t":}"#, #"{"a":1,}"#, "{} x", #"{'a':1}"#, "{\"a\":\"\u{1}\"}",
                     #"{"a":"\ud800"}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":tru}"#, String(repeating: "[", count: 100)]
        for text in cases {
            guard case .headerNotJSON(let file, _, _) = Support.openError(Support.file(header: text)) else {
                Issue.record("no headerNotJSON for \(text.debugDescription)")
                continue
            }
            #expect(file == Self.file)
        }
        // Duplicate keys are legal JSON grammar but ambiguous: which entry is the tensor?
        let entry = #"{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#
        #expect(Support.openError(Support.file(header: #"{"t":\#(entry),"t":\#(entry)}"#)) == .duplicateEntry(file: Self.file, key: "t"))
        #expect(Support.openError(Support.file(header: #"{"t":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#)) ==
                .duplicateEntry(file: Self.file, key: "dtype"))
    }

    @Test func headerNotAnObject() {
        #expect(Support.openError(Support.file(header: "[1,2]")) == .headerNotObject(file: Self.file, found: "[1,2]"))
        #expect(Support.openError(Support.file(header: "  \"x\"  ")) == .headerNotObject(file: Self.file, found: "\"x\""))
    }

    @Test func entryNotAnObjectOrWrongKeys() {
        #expect(Support.openError(Support.file(header: #"{"t":5}"#)) == .entryNotObject(file: Self.file, tensor: "t", found: "5"))
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[2]"#)) ==
                .invalidEntryKeys(file: Self.file, tensor: "t", keys: ["dtype", "shape"]))
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1"#)) ==
                .invalidEntryKeys(file: Self.file, tensor: "t", keys: ["dtype", "shape", "data_offsets", "extra"]))
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[2],"offsets":[0,8]"#)) ==
                .invalidEntryKeys(file: Self.file, tensor: "t", keys: ["dtype", "shape", "offsets"]))
    }

    @Test func unknownDType() {
        #expect(Support.openError(Self.single(#""dtype":"F128","shape":[2],"data_offsets":[0,8]"#)) ==
                .unknownDType(file: Self.file, tensor: "t", found: "\"F128\""))
        #expect(Support.openError(Self.single(#""dtype":"f32","shape":[2],"data_offsets":[0,8]"#)) ==
                .unknownDType(file: Self.file, tensor: "t", found: "\"f32\""))
        #expect(Support.openError(Self.single(#""dtype":4,"shape":[2],"data_offsets":[0,8]"#)) ==
                .unknownDType(file: Self.file, tensor: "t", found: "4"))
    }

    @Test func shapeNotNonNegativeIntegers() {
        for shape in ["[-1]", "[2.0]", "[2e0]", "\"2\"", "2", "[[2]]", "[null]", "[18446744073709551616]", "[9223372036854775808]", "{}"] {
            #expect(Support.openError(Self.single(#""dtype":"F32","shape":\#(shape),"data_offsets":[0,8]"#)) ==
                    .invalidShape(file: Self.file, tensor: "t", found: shape), "shape \(shape)")
        }
    }

    @Test func offsetsNotAnOrderedPair() {
        for offsets in ["[0]", "[0,8,8]", "[-1,8]", "[0,8.0]", "[\"0\",8]", "8", "[]", "[0,18446744073709551616]"] {
            #expect(Support.openError(Self.single(#""dtype":"F32","shape":[2],"data_offsets":\#(offsets)"#)) ==
                    .invalidOffsets(file: Self.file, tensor: "t", reason: "found \(offsets)"), "offsets \(offsets)")
        }
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[2],"data_offsets":[8,0]"#)) ==
                .invalidOffsets(file: Self.file, tensor: "t", reason: "begin 8 > end 0"))
    }

    @Test func offsetsBeyondTheData() {
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[3],"data_offsets":[0,12]"#)) ==
                .offsetsBeyondData(file: Self.file, tensor: "t", end: 12, dataSize: 8))
        #expect(Support.openError(Self.single(#""dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]"#)) ==
                .offsetsBeyondData(file: Self.file, tensor: "t", end: .max, dataSize: 8))
    }

    @Test func byteCountMustMatchTheShape() {
        let error = Support.openError(Self.single(#""dtype":"F32","shape":[64,192],"data_offsets":[0,8]"#), name: "model.safetensors")
        #expect(error == .byteCountMismatch(file: "model.safetensors", tensor: "t", byteCount: 8, dtype: .F32, shape: [64, 192]))
        #expect(error?.description == #"model.safetensors: tensor "t": byte count 8 does not equal 4 × product([64, 192]) = 49152"#)
        #expect(Support.openError(Self.single(#""dtype":"BF16","shape":[2],"data_offsets":[0,8]"#)) ==
                .byteCountMismatch(file: Self.file, tensor: "t", byteCount: 8, dtype: .BF16, shape: [2]))
    }

    @Test func byteCountOverflowIsCaught() throws {
        // 2^62 × 4 elements overflows before × 4 bytes; 2^61 × 1 × 4 bytes overflows at the dtype size.
        for shape in ["[4611686018427387904,4]", "[2305843009213693952,1]", "[9223372036854775807,9223372036854775807]"] {
            let bytes = Self.single(#""dtype":"F32","shape":\#(shape),"data_offsets":[0,8]"#)
            guard case .sizeOverflow(_, "t", .F32, _) = Support.openError(bytes) else {
                Issue.record("no sizeOverflow for \(shape)")
                continue
            }
        }
        // A zero dimension makes the product 0, however large the others are.
        let empty = Self.single(#""dtype":"F32","shape":[9223372036854775807,0,9223372036854775807],"data_offsets":[8,8]"#)
        #expect(try SafetensorsFile(bytes: empty, name: Self.file).info("t").elementCount == 0)
    }

    @Test func overlappingTensorsAreRejected() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let error = Support.openError(Support.file(header: header, data: Array(repeating: 0, count: 12)))
        #expect(error == .overlappingTensors(file: Self.file, first: "a", second: "b"))
        // Nested inside a larger tensor, and duplicated exactly.
        let nested = #"{"a":{"dtype":"U8","shape":[12],"data_offsets":[0,12]},"b":{"dtype":"U8","shape":[1],"data_offsets":[11,12]},"c":{"dtype":"U8","shape":[1],"data_offsets":[5,6]}}"#
        #expect(Support.openError(Support.file(header: nested, data: Array(repeating: 0, count: 12))) ==
                .overlappingTensors(file: Self.file, first: "a", second: "c"))
        // Empty tensors overlap nothing, even at the same offset as another tensor.
        let empties = #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},"c":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}}"#
        #expect(throws: Never.self) { try SafetensorsFile(bytes: Support.file(header: empties, data: [1, 2, 3, 4]), name: Self.file) }
    }

    /// Documented leniency: gaps and trailing bytes are accepted (the Rust library rejects them).
    @Test func gapsAndTrailingBytesAreAccepted() throws {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"b":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}"#
        let file = try SafetensorsFile(bytes: Support.file(header: header, data: Array(0 ..< 12)), name: Self.file)
        #expect(file.tensorNames == ["a", "b"])
        #expect(try file.rawBytes("a") == [4, 5])
        #expect(try file.rawBytes("b") == [8])
    }

    @Test func metadataMustMapStringsToStrings() throws {
        let tensor = #""t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#
        #expect(Support.openError(Support.file(header: #"{"__metadata__":{"format":1},\#(tensor)}"#)) ==
                .invalidMetadata(file: Self.file, reason: "key \"format\" has 1"))
        #expect(Support.openError(Support.file(header: #"{"__metadata__":["pt"],\#(tensor)}"#)) ==
                .invalidMetadata(file: Self.file, reason: "found [\"pt\"]"))
        #expect(Support.openError(Support.file(header: #"{"__metadata__":"pt"}"#)) ==
                .invalidMetadata(file: Self.file, reason: "found \"pt\""))
        let ok = try SafetensorsFile(bytes: Support.file(header: #"{"__metadata__":{"a":"b"},\#(tensor)}"#), name: Self.file)
        #expect(ok.metadata == ["a": "b"] && ok.tensorNames == ["t"])
        let null = try SafetensorsFile(bytes: Support.file(header: #"{"__metadata__":null}"#), name: Self.file)
        #expect(null.metadata.isEmpty && null.tensorNames.isEmpty)
    }

    @Test func missingTensorAndImpossibleConversion() throws {
        let bytes = Support.file(header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F16","shape":[4],"data_offsets":[8,16]}}"#,
                                 data: Array(repeating: 0, count: 16))
        let file = try SafetensorsFile(bytes: bytes, name: "reference.safetensors")
        let missing = #expect(throws: SafetensorsError.self) { try file.floats("logits") }
        #expect(missing == .tensorNotFound(file: "reference.safetensors", tensor: "logits", available: 2))
        #expect(missing?.description == #"reference.safetensors: no tensor named "logits" (the file has 2 tensors; list them with tensorNames)"#)
        #expect(!file.contains("logits") && file.contains("ids"))
        for read in [{ _ = try file.floats("ids") }, { _ = try file.doubles("ids") }, { _ = try file.withFloats("ids") { _ in } }] {
            let error = #expect(throws: SafetensorsError.self) { try read() }
            guard case .unsupportedConversion("reference.safetensors", "ids", .I64, _) = error else {
                Issue.record("wrong error \(String(describing: error))")
                continue
            }
        }
        #expect(throws: SafetensorsError.unsupportedConversion(file: "reference.safetensors", tensor: "w", dtype: .F16, target: "Int64")) {
            try file.int64s("w")
        }
        #expect(throws: SafetensorsError.unsupportedConversion(file: "reference.safetensors", tensor: "w", dtype: .F16, target: "Int32")) {
            try file.int32s("w")
        }
    }

    /// An F32 tensor at an address that is not 4-byte aligned is copied, not lent.
    @Test func unalignedFloat32FallsBackToACopy() throws {
        let values: [Float] = [1.5, -2, .infinity, 3]
        var header = #"{"u":{"dtype":"F32","shape":[4],"data_offsets":[1,17]}}"#
        while (8 + header.utf8.count) % 4 != 0 { header += " " }   // data section 4-aligned, tensor at +1
        let bytes = Support.file(header: header, data: [0xAA] + Support.bytes(values))
        let file = try SafetensorsFile(bytes: bytes, name: Self.file)
        #expect(file.dataSectionOffset % 4 == 0)
        let (copied, lentAddress) = try file.withFloats("u") { (Array($0), UnsafeRawPointer($0.baseAddress!)) }
        #expect(copied == values)
        let rawAddress = try file.withRawBytes("u") { $0.baseAddress! }
        #expect(lentAddress != rawAddress)
        #expect(Int(bitPattern: rawAddress) % 4 != 0)
        #expect(try file.floats("u") == values)
    }

    @Test func openingFromDiskNamesThePath() throws {
        let directory = try FixturePaths.temporaryDirectory("safetensors-validation")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("absent.safetensors")
        let error = #expect(throws: SafetensorsError.self) { try SafetensorsFile(url: missing) }
        #expect(error == .cannotOpen(file: missing.path, reason: "No such file or directory"))
        #expect(throws: SafetensorsError.notARegularFile(file: directory.path)) { try SafetensorsFile(url: directory) }
        let empty = directory.appendingPathComponent("empty.safetensors")
        try Data().write(to: empty)
        #expect(throws: SafetensorsError.fileTooShort(file: empty.path, size: 0)) { try SafetensorsFile(url: empty) }
        let bad = directory.appendingPathComponent("bad.safetensors")
        try Data(Self.single(#""dtype":"F32","shape":[3],"data_offsets":[0,8]"#)).write(to: bad)
        let badError = #expect(throws: SafetensorsError.self) { try SafetensorsFile(url: bad) }
        #expect(badError?.description.hasPrefix(bad.path + ": tensor \"t\": byte count 8") == true)
    }

    @Test func everyDescriptionIsOneLine() {
        let errors: [any Error & CustomStringConvertible] = [
            SafetensorsError.headerNotJSON(file: "f", reason: "r", offset: 1),
            SafetensorsError.invalidEntryKeys(file: "f", tensor: "new\nline", keys: ["a\nb"]),
            SafetensorsError.sizeOverflow(file: "f", tensor: "t", dtype: .F32, shape: [Int.max, 2]),
            SafetensorsError.byteCountMismatch(file: "f", tensor: "t", byteCount: 1, dtype: .F64, shape: [Int.max, 2]),
            SafetensorsError.writeFailed(file: "f", reason: "r"),
            CheckpointError.missingShard(file: "i", shard: "s", tensorCount: 2),
        ]
        for error in errors { #expect(!error.description.contains("\n"), "\(error)") }
    }
}
