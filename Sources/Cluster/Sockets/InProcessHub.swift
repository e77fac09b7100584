import Foundation

/// A transport inside one process, shaped like ROUTER/DEALER: dealers' messages reach the router
/// tagged with their identity; the router's messages to an unknown or closed dealer fail with
/// `.unreachable`. Lets the coordinator and worker state machines be tested without sockets.
public final class InProcessHub: @unchecked Sendable {
    private let lock = NSLock()
    private let toRouter = Mailbox<(PeerID, [Frame])>()
    private var dealers: [PeerID: Mailbox<[Frame]>] = [:]
    private var routerClosed = false

    public init() {}

    /// The router end (one per hub).
    public func makeRouter() -> some RouterTransport { Router(hub: self) }

    /// A dealer end with `identity` (a later dealer with the same identity takes over, as ROUTER_HANDOVER).
    public func connectDealer(identity: PeerID) -> some DealerTransport {
        let inbox = Mailbox<[Frame]>()
        lock.withLock { dealers[identity] = inbox }
        return Dealer(hub: self, identity: identity, inbox: inbox)
    }

    fileprivate func deliver(_ frames: [Frame], to peer: PeerID) throws(TransportError) {
        guard let inbox = lock.withLock({ dealers[peer] }) else { throw .unreachable(peer) }
        inbox.put(frames)
    }

    fileprivate func fromDealer(_ frames: [Frame], identity: PeerID, inbox: Mailbox<[Frame]>) throws(TransportError) {
        let connected = lock.withLock { dealers[identity] === inbox && !routerClosed }
        guard connected else { throw .closed }
        toRouter.put((identity, frames))
    }

    fileprivate func receiveAtRouter(timeout: Duration) -> (PeerID, [Frame])? { toRouter.take(timeout: timeout) }

    fileprivate func disconnect(_ identity: PeerID, inbox: Mailbox<[Frame]>) {
        lock.withLock { if dealers[identity] === inbox { dealers[identity] = nil } }
        inbox.close()
    }

    fileprivate func closeRouter() {
        lock.withLock { routerClosed = true }
        toRouter.close()
    }

    private final class Router: RouterTransport {
        let hub: InProcessHub
        init(hub: InProcessHub) { self.hub = hub }
        deinit { hub.closeRouter() }
        func send(_ frames: [Frame], to peer: PeerID) throws(TransportError) { try hub.deliver(frames, to: peer) }
        func receive(timeout: Duration) throws(TransportError) -> (peer: PeerID, frames: [Frame])? {
            hub.receiveAtRouter(timeout: timeout).map { (peer: $0.0, frames: $0.1) }
        }
    }

    private final class Dealer: DealerTransport {
        let hub: InProcessHub
        let identity: PeerID
        let inbox: Mailbox<[Frame]>
        init(hub: InProcessHub, identity: PeerID, inbox: Mailbox<[Frame]>) {
            self.hub = hub
            self.identity = identity
            self.inbox = inbox
        }
        deinit { hub.disconnect(identity, inbox: inbox) }
        func send(_ frames: [Frame]) throws(TransportError) { try hub.fromDealer(frames, identity: identity, inbox: inbox) }
        func receive(timeout: Duration) throws(TransportError) -> [Frame]? { inbox.take(timeout: timeout) }
    }
}
