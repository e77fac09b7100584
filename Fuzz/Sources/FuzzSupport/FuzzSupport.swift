/// Helpers shared by the harnesses: the contract check (a parser either succeeds or throws one of
/// its typed errors, whose message is one line) and the splitting of one fuzz input into parts.
import CFuzzDriver
import Foundation

/// Traps (which libFuzzer reports as a crash, keeping the input) with `message`.
public func fuzzFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz contract violated: \(message)", file: file, line: line)
}

/// Runs `body`; a thrown error must satisfy `isTyped` (the parser's own error types) and describe
/// itself in one non-empty line. Returns the value, or nil when `body` threw.
@discardableResult
public func expectTypedError<T>(_ what: String, _ isTyped: (any Error) -> Bool, _ body: () throws -> T) -> T? {
    do {
        return try body()
    } catch {
        guard isTyped(error) else { fuzzFailure("\(what) threw an untyped error \(type(of: error)): \(error)") }
        let text = String(describing: error)
        if text.isEmpty || text.contains("\n") {
            fuzzFailure("\(what) threw \(type(of: error)) with a description that is not one line: \(text.debugDescription)")
        }
        return nil
    }
}

/// Splits `bytes` at each occurrence of `separator` into at most `maxParts` parts (the last part
/// keeps any further separators).
public func splitParts(_ bytes: UnsafeRawBufferPointer, separator: UInt8, maxParts: Int) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var start = 0
    var i = 0
    while i < bytes.count && parts.count < maxParts - 1 {
        if bytes[i] == separator {
            parts.append(Array(bytes[start..<i]))
            start = i + 1
        }
        i += 1
    }
    parts.append(Array(bytes[start..<bytes.count]))
    return parts
}

/// The fuzz input as a buffer (libFuzzer may pass a null pointer for an empty input).
public func fuzzInput(_ start: UnsafeRawPointer?, _ count: Int) -> UnsafeRawBufferPointer {
    guard let start, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: start, count: count)
}

/// The repository root, found from this source file's path (the harnesses read fixtures from it);
/// `ALPHAEDIT_ROOT` overrides it.
public func repositoryRoot() -> URL {
    if let root = ProcessInfo.processInfo.environment["ALPHAEDIT_ROOT"] { return URL(fileURLWithPath: root) }
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Starts libFuzzer on `testOneInput` with the process's command line (for `<Target>_main`).
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                     _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    alphaedit_fuzz_run(argc, argv, testOneInput)
}
