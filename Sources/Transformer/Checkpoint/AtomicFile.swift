import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing files so that no partial file ever appears under the destination name.
///
/// `prepare` writes a hidden temporary sibling (`.<name>.tmp-<random>` in the destination's
/// directory, so the rename stays within one file system), fsyncs and closes it; `commit` renames
/// it over the destination (atomic on POSIX) and fsyncs the directory; `discard` removes it.
/// A failure at any step removes the temporary file before the error is thrown.
enum AtomicFile {
    /// A fully written temporary file waiting to be renamed into place.
    struct Pending: Sendable {
        let temporaryPath: String
        let destination: URL

        /// Renames the temporary file to the destination, replacing any file there.
        func commit() throws(SafetensorsError) {
            guard rename(temporaryPath, destination.path) == 0 else {
                let reason = ByteRegion.systemError()
                discard()
                throw .writeFailed(file: destination.path, reason: "rename from \(temporaryPath): \(reason)")
            }
            AtomicFile.syncDirectory(destination.deletingLastPathComponent().path)
        }

        /// Removes the temporary file.
        func discard() {
            unlink(temporaryPath)
        }
    }

    /// Sequential writes to an open file descriptor.
    struct Sink {
        fileprivate let fd: Int32
        fileprivate let path: String
        /// Bytes written so far.
        private(set) var offset = 0

        fileprivate init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        mutating func write(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) {
            guard var next = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = systemWrite(fd, next, min(remaining, 1 << 30))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw .writeFailed(file: path, reason: ByteRegion.systemError())
                }
                next += written
                remaining -= written
                offset += written
            }
        }

        mutating func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes a temporary sibling of `destination` with `fill`, then fsyncs and closes it.
    /// - Throws: `SafetensorsError.writeFailed` naming `destination` (the temporary file is removed),
    ///   or whatever `fill` throws.
    static func prepare(_ destination: URL, _ fill: (inout Sink) throws -> Void) throws -> Pending {
        let directory = destination.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SafetensorsError.writeFailed(
                file: destination.path, reason: "directory \(directory) does not exist; create it first")
        }
        let random = UInt64.random(in: 0 ... UInt64.max)
        let temporaryPath = directory + "/." + destination.lastPathComponent + ".tmp-" + String(random, radix: 36)
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SafetensorsError.writeFailed(
                file: destination.path, reason: "cannot create \(temporaryPath): \(ByteRegion.systemError())")
        }
        var sink = Sink(fd: fd, path: destination.path)
        do {
            try fill(&sink)
            guard fsync(fd) == 0 else {
                throw SafetensorsError.writeFailed(file: destination.path, reason: "fsync: \(ByteRegion.systemError())")
            }
            guard close(fd) == 0 else {
                unlink(temporaryPath)
                throw SafetensorsError.writeFailed(file: destination.path, reason: "close: \(ByteRegion.systemError())")
            }
        } catch {
            close(fd)
            unlink(temporaryPath)
            throw error
        }
        return Pending(temporaryPath: temporaryPath, destination: destination)
    }

    /// Writes `destination` atomically: `prepare`, then `commit`.
    static func write(_ destination: URL, _ fill: (inout Sink) throws -> Void) throws {
        try prepare(destination, fill).commit()
    }

    /// Makes a rename in `directory` durable; best effort.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Writes `bytes` to `url` durably and atomically: a temporary sibling, fsynced, renamed over
/// `url`, the directory fsynced. Nothing partial ever appears under `url`; an existing file
/// there is kept when writing fails.
/// - Parameter mode: the file's permissions (e.g. 0o600 for a secret).
/// - Throws: `SafetensorsError.writeFailed` naming `url`.
public func writeDurably(_ bytes: [UInt8], to url: URL, mode: mode_t = 0o644) throws {
    let pending = try AtomicFile.prepare(url) { sink in try sink.write(bytes) }
    guard chmod(pending.temporaryPath, mode) == 0 else {
        let reason = ByteRegion.systemError()
        pending.discard()
        throw SafetensorsError.writeFailed(file: url.path, reason: "chmod: \(reason)")
    }
    try pending.commit()
}
