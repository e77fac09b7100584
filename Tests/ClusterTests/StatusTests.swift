import Foundation
import Testing
@testable import Cluster

/// `alphaedit status`: the coordinator's I/O thread answers a STATUS_REQUEST at once (here while
/// the coordinator's own thread is busy asking), with the job, placement and workers; over
/// CURVE only an authorised key gets an answer.
@Suite(.serialized) struct StatusTests {
    @Test func theCoordinatorAnswersWithTheJobAndItsWorkers() throws {
        let cluster = try TestCluster(workers: 2, link: .ipc)
        defer { cluster.stop() }
        cluster.coordinator.status.begin("statistics of layers 1, 2 (chunks)", total: 20)
        cluster.coordinator.status.advance(by: 5)
        let report = try StatusClient.query(endpoint: cluster.coordinator.endpoint, security: nil, insecure: false)
        #expect(report.jobID == cluster.coordinator.jobID)
        #expect(report.state == "running")
        #expect(report.phase == "statistics of layers 1, 2 (chunks)" && report.phaseDone == 5 && report.phaseTotal == 20)
        #expect(report.workers.map(\.index) == [0, 1])
        #expect(report.workers.allSatisfy { $0.pid == UInt32(getpid()) })
        // The request is answered and forgotten: no worker, no registration, no loss reported.
        #expect(cluster.coordinator.workers.count == 2)
    }

    @Test func overCurveOnlyAnAuthorisedKeyIsAnswered() throws {
        let cluster = try TestCluster(workers: 1, link: .tcpCurve)
        defer { cluster.stop() }
        let endpoint = cluster.coordinator.endpoint
        let coordinatorKey = try #require(cluster.coordinatorKey)
        #expect(throws: SecurityError.self) { try StatusClient.query(endpoint: endpoint, security: nil, insecure: false) }
        let stranger = ClusterSecurity(keys: try CurveKeyPair.generate(), authorized: AuthorizedKeys(keys: [:], source: "-"), coordinatorKey: coordinatorKey)
        #expect { try StatusClient.query(endpoint: endpoint, security: stranger, insecure: false, timeout: .seconds(3)) } throws: { error in
            "\(error)".contains("ZAP status 400")
        }
        let operatorKey = try #require(cluster.workerKeys["w0"])
        let allowed = ClusterSecurity(keys: operatorKey, authorized: AuthorizedKeys(keys: [:], source: "-"), coordinatorKey: coordinatorKey)
        let report = try StatusClient.query(endpoint: endpoint, security: allowed, insecure: false)
        #expect(report.workers.count == 1 && report.jobID == cluster.coordinator.jobID)
    }
}
