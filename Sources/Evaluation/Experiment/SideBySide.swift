import Foundation

/// Runs independent jobs on threads of their own and returns their results in order.
enum SideBySide {
    /// Calls `body(i)` for `i` in `0..<count`, each on its own thread, and returns when all have
    /// finished: the results in index order, or the first error by index.
    static func run<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        let results = ResultSlots<T>(count)
        // `concurrentPerform` returns only when every iteration has finished, so `body` never
        // outlives this call.
        return try withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: count) { i in
                results.set(i, Result { try work(i) })
            }
            return try results.values()
        }
    }
}

/// One result slot per job, behind a lock.
private final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]

    init(_ count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<T, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        slots[i] = result
    }

    func values() throws -> [T] {
        lock.lock()
        defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
