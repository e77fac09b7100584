import Foundation
import Testing

/// `Sources/CAlphaEditProto` is generated from `proto/alphaedit.proto` by `scripts/gen-proto`
/// and committed; this fails when the two drift apart (edit the .proto, then run the script).
@Suite struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let protocAvailable = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin"].split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/protoc-c") }

    @Test(.enabled(if: protocAvailable, "protoc-c is not installed (apt-get install protobuf-c-compiler, or scripts/install-deps.sh)"))
    func committedCodeMatchesTheProto() throws {
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/gen-proto")
        process.arguments = ["--check"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(message)")
    }
}
