#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if _endian(big)
#error("safetensors data is little-endian; the zero-copy readers assume a little-endian host")
#endif

/// Immutable bytes that stay valid, at a fixed address, for the lifetime of the object: either a
/// read-only private memory mapping of a file (unmapped in `deinit`) or a private heap copy.
///
/// `@unchecked Sendable`: the bytes are never written after `init`. A mapping reflects the file,
/// so another process truncating the file while it is mapped makes reads fault (SIGBUS), as with
/// every mmap-based reader; files are written by rename (see `AtomicFile`), which never does that.
final class ByteRegion: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    private let release: Release

    private enum Release {
        case unmap
        case deallocate
    }

    /// Maps the regular file at `path` read-only.
    /// - Throws: `SafetensorsError.cannotOpen` or `.notARegularFile`.
    init(mapping path: String) throws(SafetensorsError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(file: path, reason: ByteRegion.systemError()) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .cannotOpen(file: path, reason: ByteRegion.systemError()) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(file: path) }
        let size = Int(status.st_size)
        if size == 0 {
            // mmap rejects length 0; an empty region is enough to report "file too short".
            let storage = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
            bytes = UnsafeRawBufferPointer(start: storage, count: 0)
            release = .deallocate
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) else {   // MAP_FAILED
            throw .cannotOpen(file: path, reason: "mmap: " + ByteRegion.systemError())
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        release = .unmap
    }

    /// A private copy of `source`, 16-byte aligned.
    init(copying source: UnsafeRawBufferPointer) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(source.count, 1), alignment: 16)
        if let from = source.baseAddress, source.count > 0 {
            storage.copyMemory(from: from, byteCount: source.count)
        }
        bytes = UnsafeRawBufferPointer(start: storage, count: source.count)
        release = .deallocate
    }

    /// True if the region is a memory mapping of a file (rather than a heap copy).
    var isMapped: Bool {
        if case .unmap = release { return true }
        return false
    }

    /// Takes the pages that lie wholly inside `range` (byte offsets into `bytes`) out of this
    /// process's resident set; a heap copy keeps its bytes. The file's pages stay in the kernel's
    /// page cache and a later read maps them again, with the same bytes (the mapping is read-only
    /// and files are replaced by rename). Without this, every tensor read out of a checkpoint
    /// stays resident beside its copy: a loaded model counted twice for as long as its
    /// checkpoint is open.
    func dropResidentPages(_ range: Range<Int>) {
        #if os(Linux)
        guard isMapped, let base = bytes.baseAddress, ByteRegion.pageSize > 0 else { return }
        let page = ByteRegion.pageSize
        let address = Int(bitPattern: base)   // page-aligned: mmap's result
        let start = (address + range.lowerBound + page - 1) / page * page
        let end = (address + range.upperBound) / page * page
        guard end > start, let first = UnsafeMutableRawPointer(bitPattern: start) else { return }
        // Advice only: a refusal leaves the pages resident, which is what happens without it.
        _ = madvise(first, end - start, MADV_DONTNEED)
        #endif
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    deinit {
        let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress!)
        switch release {
        case .unmap: munmap(base, bytes.count)
        case .deallocate: base.deallocate()
        }
    }

    static func systemError(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
