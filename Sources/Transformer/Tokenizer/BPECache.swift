import Foundation

/// A word's UTF-8 bytes as a dictionary key. Words up to 24 bytes (nearly all) are stored inline, so
/// making a key allocates nothing. Unlike `String`, equality is bytewise: `"é"` and `"e\u{301}"` are
/// canonically equivalent Strings but different words for BPE.
struct WordKey: Hashable, Sendable {
    private var w0: UInt64 = 0
    private var w1: UInt64 = 0
    private var w2: UInt64 = 0
    private var count: Int
    private var long: [UInt8]?

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        count = bytes.count
        if bytes.count <= 24 {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                if let base = bytes.baseAddress { raw.copyMemory(from: UnsafeRawBufferPointer(start: base, count: bytes.count)) }
            }
            (w0, w1, w2) = words
            long = nil
        } else {
            long = Array(bytes)
        }
    }
}

/// The BPE result cache, shared by all threads that encode with one tokenizer. Once `capacity` words
/// are stored, new words are no longer added (as in `tokenizers`): the frequent words come early.
final class WordCache: @unchecked Sendable {  // `entries` is only touched under `lock`
    private let lock = NSLock()
    private var entries: [WordKey: [Int]] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    subscript(key: WordKey) -> [Int]? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return entries[key]
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            if entries.count < capacity { entries[key] = newValue }
        }
    }
}
