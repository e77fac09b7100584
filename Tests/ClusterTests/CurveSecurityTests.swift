import Foundation
import Testing
@testable import Cluster

/// CURVE: key files, authorised keys, the ZAP handler's decisions, and a coordinator that lets
/// in only authorised workers while strangers (an unknown key, plain text, a wrong server key)
/// cannot register or deliver anything. (A whole job with strangers knocking, giving the
/// single-process bytes: DistributedCommandTests; a same-bytes job over CURVE: SameBytesTests.)
@Suite(.serialized) struct CurveSecurityTests {
    static func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-curve-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func keyFilesRoundTripAndAreChecked() throws {
        let directory = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try CurveKeyPair.generate()
        let base = directory.appendingPathComponent("w").path
        try pair.write(to: base)
        #expect(try CurveKeyPair.load(file: base + ".key") == pair)
        let mode = try FileManager.default.attributesOfItem(atPath: base + ".key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try CurveKey.load(base + ".pub", flag: "--coordinator-key") == pair.publicKey)
        #expect(try CurveKey.load(pair.publicKey, flag: "--coordinator-key") == pair.publicKey)
        #expect(throws: SecurityError.self) { try CurveKeyPair.load(file: base + ".pub") }   // only a public key
        // A public key that does not belong to the secret key.
        let other = try CurveKeyPair.generate()
        try "public-key = \"\(other.publicKey)\"\nsecret-key = \"\(pair.secretKey)\"\n".write(toFile: base + "-mixed.key", atomically: true, encoding: .utf8)
        #expect { try CurveKeyPair.load(file: base + "-mixed.key") } throws: { "\($0)".contains("does not belong") }
        try "secret-key = \"short\"\n".write(toFile: base + "-bad.key", atomically: true, encoding: .utf8)
        #expect { try CurveKeyPair.load(file: base + "-bad.key") } throws: { "\($0)".contains("-bad.key: secret-key is not a 40-character Z85 key") }
        #expect { try CurveKey.load("nonsense", flag: "--coordinator-key") } throws: { "\($0)".contains("--coordinator-key") }
    }

    @Test func authorisedKeysAcceptKeysContainingHashAndNameBadLines() throws {
        let directory = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Z85 uses '#' (never as a key's first character: 2³² / 85⁴ < 84): a key containing it.
        var hashKey: String?
        for _ in 0..<500 where hashKey == nil {
            let key = try CurveKeyPair.generate().publicKey
            if key.contains("#") { hashKey = key }
        }
        #expect(hashKey != nil)
        let plain = try CurveKeyPair.generate().publicKey
        let file = directory.appendingPathComponent("authorized_keys").path
        try "# workers\n\n\(plain) worker-0\n\(hashKey ?? plain) worker-1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let keys = try AuthorizedKeys.load(file: file)
        #expect(keys.admits(plain) && keys.names[plain] == "worker-0")
        if let hashKey { #expect(keys.admits(hashKey) && keys.names[hashKey] == "worker-1") }
        try "\(plain)\nnot-a-key worker-1\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try AuthorizedKeys.load(file: file) } throws: { "\($0)".contains("line 2: 'not-a-key' is not a 40-character Z85 public key") }
        try "# nobody\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try AuthorizedKeys.load(file: file) } throws: { "\($0)".contains("no keys") }
    }

    @Test func theHandlerAdmitsOnlyAuthorisedCurveKeysInItsDomain() throws {
        let known = try CurveKeyPair.generate(), unknown = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let handler = try ZAPAuthenticator(context: context, authorized: AuthorizedKeys(keys: [known.publicKey: "w"], source: "keys.txt"), log: { _ in })
        defer { context.shutdown(); handler.stop() }
        func request(domain: String = "alphaedit", mechanism: String = "CURVE", key: String? = nil, version: String = "1.0") -> [Frame] {
            var frames: [Frame] = [Array(version.utf8), Array("7".utf8), Array(domain.utf8), Array("10.0.0.9".utf8), [], Array(mechanism.utf8)]
            if let key { frames.append(CurveKey.decode(key)!) }
            return frames
        }
        func status(_ reply: [Frame]) -> String { String(decoding: reply[2], as: UTF8.self) }
        let admitted = handler.answer(request(key: known.publicKey))
        #expect(status(admitted) == "200" && String(decoding: admitted[4], as: UTF8.self) == known.publicKey)
        #expect(admitted[1] == Array("7".utf8))
        #expect(status(handler.answer(request(key: unknown.publicKey))) == "400")
        #expect(status(handler.answer(request(domain: "other", key: known.publicKey))) == "400")
        #expect(status(handler.answer(request(mechanism: "NULL"))) == "400")
        #expect(status(handler.answer(request(mechanism: "PLAIN"))) == "400")
        #expect(status(handler.answer(request(key: known.publicKey, version: "2.0"))) == "500")
        #expect(status(handler.answer([[0x31]])) == "500")
        #expect(handler.refusals == 6)
    }

    /// A raw client: a DEALER with the given CURVE role (or none), sending a REGISTER.
    final class Stranger {
        let context: ZMQContext
        let dealer: DealerSocket
        init(endpoint: String, curve: CurveRole?) throws {
            context = try ZMQContext()
            var options = SocketOptions()
            options.curve = curve
            dealer = try DealerSocket(context: context, identity: PeerID(bytes: Array("stranger-\(UUID().uuidString.prefix(4))".utf8)), options: options)
            try dealer.connect(endpoint)
        }

        func register() throws {
            let body = Register(protocolVersion: MessageCodec.protocolVersion, host: "stranger", pid: 1, cores: 1, memoryBytes: 1,
                                threads: 1, version: "0", peerEndpoint: "")
            let frames = MessageCodec.encode(Message(header: MessageHeader(version: MessageCodec.protocolVersion, jobID: "", epoch: 0, sequence: 1),
                                                     body: .register(body)), maxChunkBytes: MessageCodec.defaultMaxChunkBytes)[0]
            try? dealer.send(frames)
        }

        /// Anything the coordinator says back within `timeout`.
        func anything(within timeout: Duration) throws -> [Frame]? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let reply = try dealer.receive(timeout: .milliseconds(100)) { return reply }
            }
            return nil
        }
    }

    @Test func strangersCannotRegisterOrBeAnsweredWhileTheAuthorisedWorkerIsServed() throws {
        let cluster = try TestCluster(workers: 1, link: .tcpCurve)
        defer { cluster.stop() }
        let endpoint = cluster.coordinator.endpoint
        let unknown = try CurveKeyPair.generate()
        let coordinatorKey = cluster.lines.all.first { $0.contains("coordinator key ") }.map { String($0.suffix(40)) }
        #expect(coordinatorKey != nil)
        let strangers = [
            try Stranger(endpoint: endpoint, curve: .client(unknown, serverKey: coordinatorKey ?? "")),   // unknown key
            try Stranger(endpoint: endpoint, curve: nil),                                                 // plain text
            try Stranger(endpoint: endpoint, curve: .client(unknown, serverKey: unknown.publicKey)),      // wrong server key
        ]
        for stranger in strangers { try stranger.register() }
        for (i, stranger) in strangers.enumerated() {
            #expect(try stranger.anything(within: .seconds(2)) == nil, "stranger \(i) got an answer")
        }
        // The unknown key learns it was refused by the ZAP handler; plain text, that the handshake failed.
        #expect(strangers[0].dealer.handshakeFailure()?.contains("ZAP status 400") == true)
        #expect(strangers[1].dealer.handshakeFailure()?.contains("security handshake") == true)
        #expect(cluster.coordinator.workers.count == 1)
        #expect(cluster.coordinator.refusedConnections >= 1)
        #expect(cluster.lines.all.contains { $0.contains("refused a connection") && $0.contains(unknown.publicKey) })
        // The authorised worker is still there and answering (the whole job with strangers knocking
        // is run from the command line: DistributedCommandTests).
        let operatorKey = try #require(cluster.workerKeys["w0"])
        let report = try StatusClient.query(endpoint: endpoint, security: ClusterSecurity(keys: operatorKey, authorized: AuthorizedKeys(keys: [:], source: "-"),
                                                                                            coordinatorKey: coordinatorKey ?? ""), insecure: false)
        #expect(report.workers.count == 1)
    }
}
