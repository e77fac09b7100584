import Foundation
import Testing
import Transformer

/// Seeded fuzzing of the header parser, in memory: every mutated or truncated file either opens
/// (and then every tensor read stays inside the file) or throws a `SafetensorsError`; nothing
/// crashes or throws anything else.
///
/// `ALPHAEDIT_FUZZ_ITERATIONS` (default 10 000) sets the number of mutated files and
/// `ALPHAEDIT_FUZZ_SEED` the seed. A long run:
/// `ALPHAEDIT_FUZZ_ITERATIONS=1000000 swift test -c release --scratch-path .build-safetensors --filter SafetensorsFuzz`
@Suite struct SafetensorsFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["ALPHAEDIT_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 10_000
    static let seed = environment["ALPHAEDIT_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_250_101

    /// A small valid file with one tensor of most dtypes, an empty tensor, a scalar and metadata.
    static func baseFile() throws -> [UInt8] {
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "fuzz"])
        try writer.add(name: "w", floats: [1, -2, 3.5, .infinity, 0, -0.0], shape: [2, 3])
        try writer.add(name: "h", floats: [1, 2, 3], shape: [3], as: .F16)
        try writer.add(name: "b", floats: [0.5, .nan], shape: [2, 1], as: .BF16)
        try writer.add(name: "d", floats: [7], shape: [], as: .F64)
        try writer.add(name: "ids", int64s: [1, -1, .max, 0], shape: [4])
        try writer.add(name: "i32", dtype: .I32, shape: [2], bytes: [1, 0, 0, 0, 255, 255, 255, 255])
        try writer.add(name: "u64", dtype: .U64, shape: [1], bytes: [9, 0, 0, 0, 0, 0, 0, 128])
        try writer.add(name: "mask", dtype: .BOOL, shape: [3], bytes: [0, 1, 1])
        try writer.add(name: "e4", dtype: .F8_E4M3, shape: [2], bytes: [0x38, 0x7F])
        try writer.add(name: "none", floats: [], shape: [0, 4])
        return writer.serialized()
    }

    // MARK: Checking one input

    /// Opens `bytes`; on success reads every tensor every way and checks the invariants.
    /// Returns "parsed" or the error's case name.
    static func exercise(_ bytes: [UInt8]) -> String {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(bytes: bytes, name: "fuzz.safetensors")
        } catch let error as SafetensorsError {
            if error.description.contains("\n") { Issue.record("multi-line description: \(error)") }
            return SafetensorsTestSupport.caseName(error)
        } catch {
            Issue.record("untyped error \(error)")
            return "untyped"
        }
        var ranges: [Range<Int>] = []
        for info in file.tensors {
            let start = file.dataSectionOffset + info.dataOffsets.lowerBound
            let end = file.dataSectionOffset + info.dataOffsets.upperBound
            guard start <= end, end <= bytes.count,
                  info.byteCount == info.elementCount * info.dtype.byteSize,
                  TensorInfo.elementCount(shape: info.shape) == info.elementCount else {
                Issue.record("accepted an impossible tensor \(info) in a \(bytes.count)-byte file")
                continue
            }
            if !info.dataOffsets.isEmpty { ranges.append(start ..< end) }
            do {
                let raw = try file.rawBytes(info.name)
                if raw != Array(bytes[start ..< end]) { Issue.record("rawBytes of \(info.name) are not the file's bytes") }
            } catch {
                Issue.record("rawBytes of a listed tensor threw \(error)")
            }
            let reads: [() throws -> Int] = [
                { try file.floats(info.name).count },
                { try file.doubles(info.name).count },
                { try file.int64s(info.name).count },
                { try file.int32s(info.name).count },
                { try file.withFloats(info.name) { $0.count } },
            ]
            for read in reads {
                do {
                    let count = try read()
                    if count != info.elementCount { Issue.record("read \(count) elements of \(info)") }
                } catch let error as SafetensorsError {
                    switch error {
                    case .unsupportedConversion, .valueOutOfRange: break
                    default: Issue.record("unexpected \(error) reading \(info)")
                    }
                } catch {
                    Issue.record("untyped error \(error) reading \(info)")
                }
            }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.lowerBound < a.upperBound {
            Issue.record("accepted overlapping byte ranges \(a) and \(b)")
        }
        return "parsed"
    }

    // MARK: Mutations

    /// A header entry as JSON fragments, so that each field can be replaced by anything.
    struct Entry {
        var name: String
        var dtype: String
        var shape: String
        var offsets: String
        var json: String { "\"\(name)\":{\"dtype\":\(dtype),\"shape\":\(shape),\"data_offsets\":\(offsets)}" }
    }

    static func numberFragment(_ random: inout SafetensorsRandom, near: Int) -> String {
        switch Int.random(in: 0 ..< 10, using: &random) {
        case 0: return "-\(Int.random(in: 1 ... 9, using: &random))"
        case 1: return ["9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                        "4611686018427387904", "2305843009213693952", "4294967296"].randomElement(using: &random)!
        case 2: return ["1.5", "1e3", "0.0", "-0", "01", "\"4\"", "null", "true", "[]"].randomElement(using: &random)!
        case 3...5: return String(max(0, near + Int.random(in: -9 ... 9, using: &random)))
        default: return String(Int.random(in: 0 ... max(1, near * 2), using: &random))
        }
    }

    static func mutateEntries(_ entries: inout [Entry], dataSize: Int, _ random: inout SafetensorsRandom) {
        guard !entries.isEmpty else { return }
        let i = Int.random(in: 0 ..< entries.count, using: &random)
        switch Int.random(in: 0 ..< 9, using: &random) {
        case 0:
            entries[i].dtype = (DType.allCases.map { "\"\($0.rawValue)\"" } + ["\"F4\"", "\"C64\"", "\"\"", "1", "null", "[\"F32\"]"])
                .randomElement(using: &random)!
        case 1:
            let rank = Int.random(in: 0 ... 4, using: &random)
            entries[i].shape = "[" + (0 ..< rank).map { _ in numberFragment(&random, near: 4) }.joined(separator: ",") + "]"
        case 2:
            entries[i].shape = ["2", "\"2\"", "{}", "[[2]]", "null"].randomElement(using: &random)!
        case 3:
            entries[i].offsets = "[\(numberFragment(&random, near: dataSize / 2)),\(numberFragment(&random, near: dataSize))]"
        case 4:
            entries[i].offsets = ["[0]", "[]", "[0,0,0]", "0", "\"0,8\"", "{\"a\":1}"].randomElement(using: &random)!
        case 5:
            // Shift one tensor's range by a few bytes, keeping its length: overlaps and out-of-bounds.
            let numbers = entries[i].offsets.dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }
            if numbers.count == 2 {
                let delta = Int.random(in: -16 ... 16, using: &random)
                entries[i].offsets = "[\(max(0, numbers[0] &+ delta)),\(max(0, numbers[1] &+ delta))]"
            }
        case 6:
            entries.append(entries[i])   // a duplicate key
        case 7:
            entries[i].name = entries[Int.random(in: 0 ..< entries.count, using: &random)].name
        default:
            entries.remove(at: i)
        }
    }

    static func rawMutation(_ header: inout [UInt8], _ random: inout SafetensorsRandom) {
        guard !header.isEmpty else { header.append(UInt8.random(in: 0 ... 255, using: &random)); return }
        let at = Int.random(in: 0 ..< header.count, using: &random)
        switch Int.random(in: 0 ..< 5, using: &random) {
        case 0: header[at] ^= 1 << UInt8.random(in: 0 ..< 8, using: &random)
        case 1: header.insert(UInt8.random(in: 0 ... 255, using: &random), at: at)
        case 2: header.insert(Array("{}[]\",:0123456789-.e \\u".utf8).randomElement(using: &random)!, at: at)
        case 3: header.removeSubrange(at ..< min(header.count, at + Int.random(in: 1 ... 4, using: &random)))
        default: header[at] = Array("{}[]\",:0123456789".utf8).randomElement(using: &random)!
        }
    }

    // MARK: Tests

    @Test func everyTruncationOfAValidFileThrowsTheRightError() throws {
        let base = try Self.baseFile()
        let headerLength = Int(base[0 ..< 8].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        #expect(Self.exercise(base) == "parsed")
        for length in 0 ..< base.count {
            let outcome = Self.exercise(Array(base[0 ..< length]))
            let expected = length < 8 ? "fileTooShort" : length < 8 + headerLength ? "headerLengthExceedsFile" : "offsetsBeyondData"
            #expect(outcome == expected, "truncated to \(length) of \(base.count) bytes")
        }
    }

    @Test func mutatedFilesParseOrThrowTypedErrors() throws {
        let base = try Self.baseFile()
        let original = try SafetensorsFile(bytes: base, name: "base")
        let headerLength = original.dataSectionOffset - 8
        let header = Array(base[8 ..< 8 + headerLength])
        let data = Array(base[(8 + headerLength)...])
        let entries = original.tensors.map { info in
            Entry(name: info.name, dtype: "\"\(info.dtype.rawValue)\"", shape: "[\(info.shape.map(String.init).joined(separator: ","))]",
                  offsets: "[\(info.dataOffsets.lowerBound),\(info.dataOffsets.upperBound)]")
        }
        let metadata = #""__metadata__":{"format":"pt"}"#

        var random = SafetensorsRandom(seed: Self.seed)
        var outcomes: [String: Int] = [:]
        let start = Date()
        for _ in 0 ..< Self.iterations {
            var fileHeader = header
            var fileData = data
            var lengthOverride: UInt64?
            switch Int.random(in: 0 ..< 10, using: &random) {
            case 0 ..< 3:   // bit flips, byte insertions and deletions in the header text
                for _ in 0 ..< Int.random(in: 1 ... 4, using: &random) { Self.rawMutation(&fileHeader, &random) }
                if Bool.random(using: &random) { lengthOverride = UInt64(header.count) }   // stale length prefix
            case 3 ..< 6:   // changed offsets, shapes, dtypes, names
                var mutated = entries.shuffled(using: &random)
                for _ in 0 ..< Int.random(in: 1 ... 3, using: &random) { Self.mutateEntries(&mutated, dataSize: data.count, &random) }
                let parts = (Bool.random(using: &random) ? [metadata] : []) + mutated.map(\.json)
                fileHeader = Array(("{" + parts.joined(separator: ",") + "}").utf8)
                if Int.random(in: 0 ..< 4, using: &random) == 0 { Self.rawMutation(&fileHeader, &random) }
            case 6:         // random length prefix
                lengthOverride = [UInt64.random(in: 0 ... .max, using: &random),
                                  UInt64.random(in: 0 ... UInt64(base.count + 16), using: &random),
                                  UInt64(header.count) &+ UInt64.random(in: 0 ... 16, using: &random) &- 8]
                    .randomElement(using: &random)!
            case 7:         // data section shorter or longer
                if Bool.random(using: &random) {
                    fileData.removeLast(Int.random(in: 1 ... fileData.count, using: &random))
                } else {
                    fileData += (0 ..< Int.random(in: 1 ... 64, using: &random)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
                }
            default:        // truncation of a mutated file
                Self.rawMutation(&fileHeader, &random)
                var file = SafetensorsTestSupport.file(headerBytes: fileHeader, data: fileData)
                file.removeLast(Int.random(in: 0 ... file.count, using: &random))
                outcomes[Self.exercise(file), default: 0] += 1
                continue
            }
            let file = SafetensorsTestSupport.file(headerBytes: fileHeader, data: fileData, length: lengthOverride)
            outcomes[Self.exercise(file), default: 0] += 1
        }
        let seconds = Date().timeIntervalSince(start)
        let summary = outcomes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("SafetensorsFuzz: \(Self.iterations) files (seed \(Self.seed)) in \(String(format: "%.1f", seconds)) s: \(summary)")
        #expect(outcomes["untyped", default: 0] == 0)
        if Self.iterations >= 1000 {
            // The mutations reach both sides: valid files and many different faults.
            #expect(outcomes["parsed", default: 0] > Self.iterations / 100)
            #expect(outcomes.count >= 12, "\(summary)")
        }
    }
}
