import Foundation
import Synchronization
import Testing
@testable import Zarr
@testable import ZarrRemote

extension RemoteStoreTests {
    static let quickRetry = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))

    @Test func injected503IsRetriedThenSucceeds() async throws {
        let s = try servers
        let setup = try await s.newBucket("retry")
        try await setup.set("k", [4, 5, 6])

        for status: Int? in [503, 500, 429, nil] {
            let flaky = FlakyTransport(status: status, failures: 2)
            var c = setup.configuration
            c.retry = Self.quickRetry
            let metrics = StoreMetrics()
            let store = try S3Store(configuration: c, transport: flaky, metrics: metrics)
            #expect(try await store.get("k") == [4, 5, 6], "status \(status.map(String.init) ?? "connection reset")")
            #expect(flaky.requests == ["GET", "GET", "GET"])
            #expect(metrics.snapshot.retries == 2 && metrics.snapshot.failures == 2 && metrics.snapshot.requests == 3)
        }

        // Writes are retried the same way (the request is signed afresh each time).
        let flakyPut = FlakyTransport(status: 503, failures: 1, onlyMethod: "PUT")
        var c = setup.configuration
        c.retry = Self.quickRetry
        let writer = try S3Store(configuration: c, transport: flakyPut)
        try await writer.set("written", [7])
        #expect(try await setup.get("written") == [7])

        // Over HTTP too.
        try s.serve("retry/x.bin", [1, 2, 3, 4])
        let flakyHTTP = FlakyTransport(status: 503, failures: 1)
        let http = try HTTPStore(url: s.nginxURL + "/retry", transport: flakyHTTP, retry: Self.quickRetry)
        #expect(try await http.get("x.bin", range: .suffix(length: 2)) == [3, 4])
        #expect(flakyHTTP.requests.count == 2)
    }

    /// A real server (scripts/flaky-http-server.py) answers 503 to the first request for each
    /// path: a consolidated hierarchy with a sharded array still reads correctly, every path is
    /// retried once, and the metrics count as many retries as the server sent 503s.
    @Test func realServerInjected503IsRetriedThenSucceeds() async throws {
        let s = try servers
        let local = LocalStore(root: s.serveDir + "/flaky.zarr")
        let (values, ints) = try await Self.writeHierarchy(local, consolidated: true)
        let port = try RemoteServers.script(["start", "flaky", s.state, s.serveDir])
        defer { try? s.stop("flaky") }
        let metrics = StoreMetrics()
        let store = try HTTPStore(url: "http://127.0.0.1:\(port)/flaky.zarr", retry: Self.quickRetry, metrics: metrics)
        let root = try await ZarrGroup.open(store)
        #expect(root.attributes["title"] == "remote")
        #expect(try await root.array("obs/grüße/values").read() == values)
        #expect(try await root.array("X").read() == ints)
        #expect(try await store.size(of: "X/zarr.json") != nil)

        let log = try String(contentsOfFile: s.state + "/flaky-access.log", encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count == 4 && $0[3].hasPrefix("/flaky.zarr/") }
        let injected = log.filter { $0[1] == "503" }
        let paths = Set(log.map { $0[3] })
        let snap = metrics.snapshot
        #expect(!injected.isEmpty && injected.count == paths.count, "one 503 per path: \(log)")
        #expect(snap.retries == injected.count && snap.failures == injected.count, "\(snap) vs \(injected.count) injected")
        #expect(snap.requests == log.count, "\(snap) vs \(log.count) requests in the server's log")
        // Every path that got a 503 was then served (200, 206, or 404 for an absent key).
        for path in paths {
            #expect(log.contains { $0[3] == path && ["200", "206", "404"].contains($0[1]) }, "\(path) never served")
        }
        // The sharded array was read with ranged requests, also retried.
        #expect(log.contains { $0[1] == "206" }, "\(log)")
    }

    @Test func otherClientErrorsAreNotRetriedAndPersistentFailuresStop() async throws {
        let s = try servers
        try s.serve("noretry/x.bin", [1])
        for status in [400, 401, 403, 409] {
            let flaky = FlakyTransport(status: status, failures: 100)
            let store = try HTTPStore(url: s.nginxURL + "/noretry", transport: flaky, retry: Self.quickRetry)
            await #expect(throws: ZarrError.self) { try await store.get("x.bin") }
            #expect(flaky.requests.count == 1, "HTTP \(status) must not be retried")
        }
        // A server that keeps failing: bounded attempts, then an error naming the status.
        let always = FlakyTransport(status: 503, failures: 100)
        let store = try HTTPStore(url: s.nginxURL + "/noretry", transport: always, retry: Self.quickRetry)
        do {
            _ = try await store.get("x.bin")
            Issue.record("a server that always answers 503 should fail")
        } catch let e as ZarrError {
            #expect("\(e)".contains("HTTP 503 Service Unavailable"), "\(e)")
        }
        #expect(always.requests.count == Self.quickRetry.maxAttempts)
    }

    @Test func concurrencyIsBoundedPerStore() async throws {
        let s = try servers
        try s.serve("bounded/x.bin", randomBytes(1000, seed: 5))
        let probe = ConcurrencyProbe()
        let store = try HTTPStore(url: s.nginxURL + "/bounded", transport: probe, maxConcurrentRequests: 3)
        let results = try await Parallel.map(Array(0..<40), limit: 40) { i in
            try await store.get("x.bin", range: .slice(offset: i, length: 1))
        }
        #expect(results.count == 40)
        #expect(probe.peak <= 3 && probe.peak >= 2, "peak \(probe.peak)")
    }

    @Test func httpServerStoppedMidReadGivesAnErrorNotPartialData() async throws {
        let own = try RemoteServers.start(["nginx"])
        defer { own.finish() }
        let big = randomBytes(8 << 20, seed: 6)
        try own.serve("big.bin", big)
        // /slow/ is rate-limited to 256 KiB/s, so the 8 MiB read takes half a minute. The idle
        // timeout (10 s) times the attempts (2) stays well below the 60 s the error must come
        // within (the bound is for a hang; the margin is for a loaded 2-core CI machine), even
        // when a stopped server leaves the connection silent rather than closed.
        let store = try HTTPStore(
            url: own.nginxURL + "/slow", transport: URLSessionTransport(timeout: .seconds(10)),
            retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10)))
        let read = Task { try await store.get("big.bin") }
        try await Task.sleep(for: .milliseconds(1500))
        try own.stop("nginx")
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let bytes = try await read.value
            Issue.record("the read returned \(bytes?.count ?? -1) bytes although the server stopped mid-body")
        } catch let e as ZarrError {
            guard case .io(let key, let reason) = e else { Issue.record("unexpected \(e)"); return }
            #expect(key == "big.bin")
            #expect(reason.contains("connection error"), "\(reason)")
        }
        #expect(clock.now - start < .seconds(60))
    }

    @Test func s3ServerStoppedDuringAnUploadLeavesNoObject() async throws {
        let own = try RemoteServers.start(["s3"])
        defer { own.finish() }
        var c = own.s3Configuration(bucket: "stopped")
        c.multipartThreshold = 6 << 20
        c.partSize = 5 << 20
        c.maxConcurrentRequests = 1
        c.retry = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10))
        try await S3Store(configuration: c).createBucket()
        // Stop the server just before the third part goes out.
        let hook = HookTransport(
            base: URLSessionTransport(timeout: .seconds(20)),
            when: { $0.method == "PUT" && ($0.url.query ?? "").contains("partNumber=3") },
            hook: { own.stop() })
        let store = try S3Store(configuration: c, transport: hook)
        let big = randomBytes(16 << 20, seed: 7)
        do {
            try await store.set("big.bin", big)
            Issue.record("the upload should fail when the server stops")
        } catch let e as ZarrError {
            #expect("\(e)".contains("connection error"), "\(e)")
        }
        // Start it again on the same port and data: no object, complete or partial.
        try own.restartS3()
        let after = try S3Store(configuration: c)
        #expect(try await !after.exists("big.bin"))
        #expect(try await after.list(prefix: "") == [])
        // The server works again, and a whole upload lands.
        try await after.set("big.bin", big)
        #expect(try await after.get("big.bin") == big)
    }

    @Test func metricsCountRequestsAndBytes() async throws {
        let s = try servers
        let blob = randomBytes(4096, seed: 8)
        try s.serve("metrics/blob.bin", blob)
        let metrics = StoreMetrics()
        let http = try HTTPStore(url: s.nginxURL + "/metrics", metrics: metrics)
        _ = try await http.get("blob.bin")
        _ = try await http.get("blob.bin", range: .slice(offset: 0, length: 10))
        _ = try await http.exists("blob.bin")
        _ = try await http.get("missing")
        var snap = metrics.snapshot
        #expect(snap.requests == 4)
        #expect(snap.requestsByMethod == ["GET": 3, "HEAD": 1])
        #expect(snap.bytesReceived >= 4096 + 10 && snap.bytesReceived < 4096 + 10 + 1024)  // + nginx's 404 page
        #expect(snap.bytesSent == 0 && snap.retries == 0 && snap.failures == 0)

        let s3 = try await s.newBucket("metrics", metrics: metrics)
        metrics.reset()
        try await s3.set("a", blob)
        _ = try await s3.get("a", range: .suffix(length: 100))
        snap = metrics.snapshot
        #expect(snap.requests == 2 && snap.requestsByMethod == ["PUT": 1, "GET": 1])
        #expect(snap.bytesSent == 4096 && snap.bytesReceived == 100)
        metrics.reset()
        #expect(metrics.snapshot == StoreMetrics.Snapshot())
    }
}

/// A transport that forwards to URLSession and records the most requests in flight at once.
final class ConcurrencyProbe: HTTPTransport {
    let base = URLSessionTransport(timeout: .seconds(30))
    let state = Mutex((now: 0, peak: 0))
    var peak: Int { state.withLock { $0.peak } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
        defer { state.withLock { $0.now -= 1 } }
        try await Task.sleep(for: .milliseconds(20))
        return try await base.send(request)
    }
}
