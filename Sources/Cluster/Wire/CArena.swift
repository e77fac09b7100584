import Foundation

/// C memory for building one protobuf-c message tree: every block is freed with the arena, so no
/// pointer outlives the encode call that made it.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for block in blocks { free(block) } }

    /// An uninitialised C object of type `T` (the caller runs its protobuf-c `__init`).
    func object<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        let raw = calloc(1, MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: 1)
    }

    /// A NUL-terminated copy of `string`.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(string)!
        blocks.append(UnsafeMutableRawPointer(copy))
        return copy
    }

    /// A C array holding `values` (nil when empty, as protobuf-c expects with n = 0).
    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let raw = malloc(MemoryLayout<T>.stride * values.count)!
        blocks.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: values.count)
        typed.initialize(from: values, count: values.count)
        return typed
    }
}

/// The C string `pointer` as a Swift string ("" for NULL).
func swiftString(_ pointer: UnsafePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

/// The first `count` elements at `pointer`.
func swiftArray<T>(_ pointer: UnsafePointer<T>?, _ count: Int) -> [T] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}
