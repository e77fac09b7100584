import Foundation

/// A thread-safe FIFO between a socket's I/O thread and a compute thread (ZeroMQ sockets are
/// used from exactly one thread each; everything else reaches them through mailboxes).
public final class Mailbox<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []
    private var head = 0
    private var closed = false

    public init() {}

    /// Appends `item` (dropped after `close()`).
    public func put(_ item: T) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        items.append(item)
        condition.signal()
    }

    /// The oldest item, waiting up to `timeout`; nil on timeout or when closed and empty.
    public func take(timeout: Duration) -> T? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(timeout / .microseconds(1)) / 1e6)
        while head == items.count {
            if closed || timeout <= .zero { return nil }
            if !condition.wait(until: deadline) && head == items.count { return nil }
        }
        let item = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }

    /// Wakes every waiter; later puts are dropped.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
