import Foundation
import Synchronization
import Testing
@testable import Zarr
@testable import ZarrRemote

/// A transport that records every request and its status, and holds multipart part uploads
/// (`PUT ?partNumber=`) for `partDelay` first (a cancellable sleep), so that a test can cancel
/// an upload while its parts are in flight.
final class RecordingTransport: HTTPTransport {
    let base: any HTTPTransport
    let partDelay: Duration
    /// How long CreateMultipartUpload's reply is held back after the server answered.
    let initiateDelay: Duration
    let seen = Mutex<[String]>([])

    init(base: any HTTPTransport = URLSessionTransport(timeout: .seconds(30)), partDelay: Duration = .zero, initiateDelay: Duration = .zero) {
        self.base = base
        self.partDelay = partDelay
        self.initiateDelay = initiateDelay
    }

    /// `METHOD query STATUS` per request, in order (`-` as the status of one that threw).
    var requests: [String] { seen.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let query = request.url.query ?? ""
        do {
            if request.method == "PUT" && query.contains("partNumber=") && partDelay > .zero {
                seen.withLock { $0.append("PUT \(query) started") }
                try await Task.sleep(for: partDelay)
            }
            let response = try await base.send(request)
            seen.withLock { $0.append("\(request.method) \(query) \(response.status)") }
            if request.method == "POST" && query.hasPrefix("uploads") && initiateDelay > .zero {
                try await Task.sleep(for: initiateDelay)  // the upload exists on the server by now
            }
            return response
        } catch {
            seen.withLock { $0.append("\(request.method) \(query) -") }
            throw error
        }
    }
}

extension RemoteStoreTests {
    @Test func s3MissingBucketIsNamedNotReadAsAMissingKey() async throws {
        let s = try servers
        let name = "no-such-bucket-\(UInt32.random(in: 0...UInt32.max))"
        let store = try S3Store(configuration: s.s3Configuration(bucket: name))
        let expected = "the bucket '\(name)' does not exist"
        let operations: [(String, () async throws -> Void)] = [
            ("get", { _ = try await store.get("zarr.json") }),
            ("ranged get", { _ = try await store.get("zarr.json", range: .suffix(length: 8)) }),
            ("exists", { _ = try await store.exists("zarr.json") }),
            ("size", { _ = try await store.size(of: "zarr.json") }),
            ("list", { _ = try await store.list(prefix: "") }),
            ("delete", { try await store.delete("zarr.json") }),
        ]
        for (what, operation) in operations {
            do {
                try await operation()
                Issue.record("\(what) on a missing bucket must fail")
            } catch let e as ZarrError {
                #expect("\(e)".contains(expected) && "\(e)".contains("404"), "\(what): \(e)")
            }
        }
        // Zarr and the stores above it see the same error, not "no Zarr node".
        do {
            _ = try await NodeMetadata.read(store, path: "")
            Issue.record("reading a node of a missing bucket must fail")
        } catch let e as ZarrError {
            #expect("\(e)".contains(expected), "\(e)")
        }

        // In a bucket that exists, a missing key is still `nil`; the first HEAD that finds no
        // key checks the bucket once (one extra request per store), later ones do not.
        let existing = try await s.newBucket("present")
        let metrics = StoreMetrics()
        let fresh = try S3Store(configuration: existing.configuration, metrics: metrics)
        #expect(try await !fresh.exists("nope"))
        #expect(metrics.snapshot.requests == 2)
        metrics.reset()
        #expect(try await fresh.size(of: "nope-either") == nil)
        #expect(try await fresh.get("nope") == nil)
        #expect(metrics.snapshot.requests == 2)
    }

    /// Cancelled while its parts are in flight, or while CreateMultipartUpload is (after the
    /// server made the upload, before its id arrived): the upload is aborted either way.
    @Test(arguments: ["parts", "initiate"])
    func s3CancelledMultipartUploadIsStillAborted(_ when: String) async throws {
        let s = try servers
        let admin = try await s.newBucket("abort")
        var c = admin.configuration
        c.multipartThreshold = 6 << 20
        c.partSize = 5 << 20
        let transport = when == "parts" ? RecordingTransport(partDelay: .seconds(20)) : RecordingTransport(initiateDelay: .seconds(1))
        let store = try S3Store(configuration: c, transport: transport)
        let big = randomBytes(12 << 20, seed: 11)
        let upload = Task { try await store.set("big.bin", big) }
        // Cancel at that point (bounded wait for it).
        let marker: (String) -> Bool = when == "parts" ? { $0.hasPrefix("PUT") && $0.hasSuffix("started") } : { $0.hasPrefix("POST uploads") }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while !transport.requests.contains(where: marker) && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        upload.cancel()
        let result = await upload.result
        if case .success = result { Issue.record("a cancelled upload must not succeed") }
        let log = transport.requests
        #expect(log.contains { $0.hasPrefix("POST uploads") }, "\(log)")
        #expect(log.contains { $0.hasPrefix("DELETE uploadId=") && ($0.split(separator: " ").last?.hasPrefix("2") ?? false) },
                "AbortMultipartUpload must be sent and accepted: \(log)")
        #expect(try await !admin.exists("big.bin"))
        // No upload is left behind (ListMultipartUploads).
        let listed = try await admin.send("GET", key: "", objectKey: nil, query: [("uploads", "")])
        #expect(listed.status == 200)
        let doc = try #require(S3XML.parse(listed.body))
        #expect(doc.all("Upload").isEmpty, "\(String(decoding: listed.body, as: UTF8.self))")
    }
}
