import Foundation
import Testing
@testable import Editing
import Transformer

/// Inputs the libFuzzer harnesses (Fuzz/) found that trapped or misbehaved, each now a typed,
/// one-line error naming the file and the field.
@Suite struct FuzzRegressionTests {
    /// FuzzNPZ: a zip entry whose local header records an uncompressed size of 2^32 − 1 (read by
    /// ZIPFoundation as 2^64 − 1) trapped in `Int(entry.uncompressedSize)`; now every member
    /// decodes or throws an `NPZError`.
    static let hugeUncompressedSize: [String] = [
        "UEsDBC0AAAAAAAAAIQCqsMRN//////////8UABQAbW9tMi5jb25zdHJ1Y3Rvci5ucHkBABAAAAEAAAAAAAAAAQAAAAAAAJNOVU1QWQEAdgB7J2",
        "Rlc2NyJzogJzxVMzInLCAnZm9ydHJhbl9vcmQ8cic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAg",
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKdQAAAHQAAABpAAAAbAAAAC4AAAByAAAAdQAAAG4AAABuAAAAaQAAAG4AAABnAAAAcw",
        "AAAHQAAABhAAAAdAAAAHMAAAAuAAAAUwAAAGUAAABjAAAAbwAAAG4AAABkAAAATQAAAG8AAABtAAAAZQAAAG4AAAB0AAAAKAAAACkAAABQSwME",
        "LQAAAAAAAAAhAOuOxJ7//////yH//w4AFABtb20yLmNvdW50Lm5weQEAEACIAAAAAAAAAIgAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPG",
        "k4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg",
        "ICAgICAgICAgICAgICAgICAgICAgIAoUAAAAAAAAAFBLAwQtAAAAAAAAACEAdXwKGP//////////DQAUAG1vbTIubW9tMi5ucHkBABAAgAEAAA",
        "AAAACAAQAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICg4LCA4KSwgfSAg",
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKSOmPQRmcpUAX3rPAoko6wNjlEkFCudu/2w",
        "u9wDn1PkAZnKVAyuOBQYIJ10B+H2W/1P2dvx5pjMBLiNO/cO6oPxfes8CCCddA6Ht5QXZcvD9z9wTBKfO3v+Xa2UAlOl7Aoko6wH4fZb92XLw/",
        "KABmQSiq6MCWGK7A29MMwKHNtT3Y5RJB1P2dv3P3BMEoqujA0lmZQRDwgsCcoyDAN8xwP0K5278eaYzAKfO3vw4AAAAQ8ILA7s07QVaL/L/3br",
        "w/2wu9wEuI07/l2tlA29MMwJyjIMBWi/y/yD6fQQeYxMA59QBlAAAAYwAAAG8AAABuAAAAZAAAAE0AAABvAAAAbQAAAGUAAABuAAAAACEAXr/V",
        "Lv//////////DwAUAHNhbXBsZV9zaXplLm5weQEAEACIAAAAAAAAAIgAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW",
        "5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg",
        "ICAgICAgICAgIAoFAAAAAAAAAFBLAQItAy0ACAAAAAAAIQCqsMRNAAEAAAABAAAUAAAAAAAAAAAAAACAAQAAAABtb20yLmNvbnN0cnVjdG9yLm",
        "5weVBLAQItAy0AAAAAAAAAIQDrjsSeiAAAAIgAAAAOAAAAAAAAAAAAAACAAUYBAABtb20yLmNvdW50Lm5weVBLAQItAy0AAAAAAAAAIQB1fAoY",
        "gAEAAIABAAANAAAAAAAAAAAAAACAAQ4CAABtb20yLm1vbTIubnB5UEsBAi0DLQAAAAAAAAAhAF6/1S6IAAAAiAAAAA8AAAAAAAAAAAAAAIABzQ",
        "MAAHNhbXBsZV9zaXplLm5weVBLBQYAAAAABAAEAPYAAACWBAAAAAA=",
    ]

    /// Writes the archive (base64 lines) to a temporary file, opens it and passes it to `body`
    /// with its size in bytes; the file is removed afterwards.
    static func withArchive(_ base64: [String], _ body: (NPZArchive, Int) throws -> Void) throws {
        let data = try #require(Data(base64Encoded: base64.joined()))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-regression-\(UUID().uuidString).npz")
        try data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        try body(try NPZArchive(url: url), data.count)
    }

    @Test func anUncompressedSizeBeyondIntIsACorruptMember() throws {
        try Self.withArchive(Self.hugeUncompressedSize) { archive, _ in
            for key in archive.keys {
                do {
                    _ = try archive.array(key, as: Double.self)
                } catch let error as NPZError {
                    #expect(!error.description.contains("\n"))
                }
            }
            #expect(throws: NPZError.self) { try archive.array("mom2.constructor", as: Double.self) }
        }
    }

    /// FuzzNPZ (timeout): a 1,267-byte archive whose zip directory records a member with more
    /// bytes than the file holds had ZIPFoundation read (and allocate 1 MiB buffers for) the
    /// recorded size, for seconds; such a member is now a corrupt member at once, naming the sizes.
    static let sizesBeyondTheFile: [String] = [
        "UEsDBBQAAAAAAAAAIQCqsMRNAPkAAAABAAAUAAAAbW9tMi5jb25zdHJ1Y3Rvci5ucHmTTlVNUFkBAG1vbTIuY291bnQubnB5VTMyJywgJ2Zvcn",
        "RyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg",
        "ICAgICAgICAgICAgCnUAAAB0AAAAaQAAAGwAAAAuAAAAcgAAAHUAAABuAAAAbgAAAGkAAABuAAAAZwAAAHMAAAB0AAAAYQAAAHQAAABzAAAALg",
        "AAAFMAAABlAAAAYwAAAG8AAABuAAAAZAAAAE0AAABvAAAAbQAAAGUAAABuAAAAdAAAACgAAAApAAAAUEsDBBQAAAAAAQB/9nQQBrieiAAAAIgA",
        "AAAOAAAAbW9tMi5jb3VudC5ucHmTTlVNUFkBAHYAeydkZXNjcic6ICc8aTgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKS",
        "wgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgChQAAAAAAAAAUEsDBBQAAAAA",
        "AAAAIQAMBhUMgAEAAIABAAANAAAAbW9tMi5tb20yLm5weZNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzr///////",
        "///idzaGFwZSc6ICg4LCAtOCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICD/////ICAgICAgICAgICAKAEEe",
        "r0LO2p90eXu97jPzAW6PA10Nos/s/3j33JlcdN9+u+lel0MWv/ZveVCvsytzvf2+C/M7n998t/9Bx6MF6tYv7AFQSwECFAMUAAAACAAAACEAI7",
        "jwbEYAAACIAAAADgAAAAAAAAAAAAAAgAEAAAAAbW9tMi5jb3VudC5ucHlQSwECFAMUAAAACAAAACEA2ba66EYAAACIAAAADwAAAAAAAAAAAAAA",
        "gAFyAAAAc2FtcGxlX3NpemUubnB5AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAFBLAwQUAAAAAAAAACEAXr/VLgAAAeaIAAAADwAAAHNhbXBsZV9zaXplLm5weZNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpNycsICdmb3J0",
        "cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC",
        "AgICAgICAgICAgICAKBQAAAAAAAABQSwECFAMUAAB6AAAAACEAqrDEnwUAAAAAAAD/FAAAAAAAAAAAAAAAgAEAAAAAbW9tMi7/Y29uc3RydWN0",
        "b3IubnB5UACAAeYBAABtb20yLm1vbTIubnB5UEsBAhQDFAAAAAAAAAAhAF6/1S6IAAD/WwCIAAAgDwAAAAAAAAAAAAAAgE9wdGlvbmFscGxlX3",
        "NpemUubnB5UEsFBgAAAAAEAAQA9gAAAEYEAAAAAA=="
    ]

    @Test func aMemberLargerThanTheFileIsACorruptMember() throws {
        try Self.withArchive(Self.sizesBeyondTheFile) { archive, size in
            var refusedOnSize = 0
            for key in archive.keys {
                for read in [{ _ = try archive.header(key) }, { _ = try archive.array(key, as: Double.self) }] as [() throws -> Void] {
                    do { try read() } catch let error as NPZError {
                        #expect(!error.description.contains("\n"))
                        if error.description.contains("in a file of \(size) bytes") { refusedOnSize += 1 }
                    }
                }
            }
            #expect(refusedOnSize > 0, "\(archive.keys)")
        }
    }

    /// A `.npy` whose header claims far more elements than its bytes hold fails on the size,
    /// without allocating the claimed array first.
    @Test func aClaimedHugeArrayIsRefusedBeforeAllocating() throws {
        var header = Array("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }".utf8)
        header += [UInt8](repeating: 0x20, count: (64 - (10 + header.count + 1) % 64) % 64) + [0x0A]
        let npy = NPYHeader.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + [UInt8](repeating: 0, count: 64)
        let error = #expect(throws: NPZError.self) { try NPYArray<Double>(npy: npy, path: "fuzz/huge.npy") }
        guard case .sizeMismatch(_, "huge", _, _, let expected, let found) = error else {
            Issue.record("expected a size mismatch, got \(String(describing: error))")
            return
        }
        #expect(expected == 8 << 40 && found == 64)
    }

    /// FuzzNPZ: a header key holding a line break gave a two-line error message.
    @Test func npyHeaderFaultsAreOneLine() throws {
        var header = Array("{'des\n\u{14}shape' 7}".utf8)
        header += [0x0A]
        let npy = NPYHeader.magic + [1, 0, UInt8(header.count), 0] + header
        let error = #expect(throws: NPYHeaderFault.self) { try NPYHeader.parse(npy) }
        let text = try #require(error?.description)
        #expect(!text.contains("\n") && !text.contains("\u{14}") && text.contains("\\n"))
    }

    /// FuzzHyperParameters: an unknown key holding a line break gave a two-line error message.
    @Test func hyperParameterErrorsAreOneLine() throws {
        let error = #expect(throws: HyperParameterError.self) {
            try EditHyperParameters.parse(data: Data(#"{"layers": [1], "fi\nl_a": 1}"#.utf8), path: "fuzz/hparams.json", algorithm: .alphaedit)
        }
        #expect(error?.description == #"fuzz/hparams.json: unknown key "fi\nl_a" (keys are those of the official hparams/AlphaEdit/*.json or configs/*.json files)"#)
        let request = #expect(throws: RequestError.self) {
            try EditRequest.parse(data: Data(#"[{"prompt": "a\nb", "subject": "c\u2028", "target_new": "d"}]"#.utf8))
        }
        #expect(request?.description.contains("\n") == false && request?.description.contains("\u{2028}") == false)
    }

    /// FuzzEditFiles: a state file whose context_templates metadata is not JSON threw a
    /// DecodingError instead of naming the file.
    @Test func stateWithBadTemplatesMetadataIsInvalidState() throws {
        var writer = SafetensorsWriter(metadata: [
            "format": "alphaedit-state", "version": "1", "algorithm": "alphaedit", "layers": "1",
            "context_templates": "[[\"{}\"", "edit_count": "1", "model": "m",
        ])
        try writer.add(name: "layer.1.projector", floats: [1, 0, 0, 1], shape: [2, 2])
        try writer.add(name: "layer.1.cache", floats: [0, 0, 0, 0], shape: [2, 2])
        let file = try SafetensorsFile(bytes: writer.serialized(), name: "fuzz/state.safetensors")
        let error = #expect(throws: EditJobError.self) { try EditState.read(file: file, algorithm: .alphaedit, layers: [1], model: "m") }
        #expect(error == .invalidState(path: "fuzz/state.safetensors", reason: "metadata context_templates is not a JSON list of lists of strings"))
    }

    /// FuzzEditFiles: a `format` metadata value holding a line break gave a two-line
    /// StatisticsError from the statistics reader.
    @Test func statisticsErrorsQuotingMetadataAreOneLine() throws {
        var writer = SafetensorsWriter(metadata: ["format": "alphaed\nit-deltas"])
        try writer.add(name: "w", floats: [1, 2], shape: [1, 2])
        let file = try SafetensorsFile(bytes: writer.serialized(), name: "fuzz/deltas.safetensors")
        let error = #expect(throws: StatisticsError.self) { try LayerStatistics.read(file: file) }
        #expect(error?.description.contains("\n") == false && error?.description.contains(#"alphaed\nit-deltas"#) == true)
    }
}
