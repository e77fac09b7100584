/// The CURVE settings of one process of a job.
///
/// Every server socket (the coordinator's ROUTER, each worker's peer ROUTER) admits only the
/// public keys in `authorized`, through its context's ``ZAPAuthenticator``; every client socket
/// proves `keys` and checks the server's public key (`coordinatorKey` for a worker's link to the
/// coordinator; a fellow worker's key, announced in the PLAN, for peer links).
public struct ClusterSecurity: Sendable {
    public var keys: CurveKeyPair
    public var authorized: AuthorizedKeys
    /// Workers: the coordinator's public key.
    public var coordinatorKey: String?

    public init(keys: CurveKeyPair, authorized: AuthorizedKeys, coordinatorKey: String? = nil) {
        self.keys = keys
        self.authorized = authorized
        self.coordinatorKey = coordinatorKey
    }

    /// Refuses plain text on tcp unless `insecure`: ipc endpoints live in a private directory
    /// of this host; anything reachable over a network needs keys.
    static func check(endpoint: String, security: ClusterSecurity?, insecure: Bool, role: String) throws {
        if security == nil, !insecure, endpoint.hasPrefix("tcp://") {
            throw SecurityError.plainTextRefused(endpoint: endpoint, role: role)
        }
    }
}
