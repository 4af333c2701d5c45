import Foundation
import Synchronization
import Testing
@testable import Zarr
@testable import ZarrRemote

/// A misbehaving HTTP server on 127.0.0.1 (`scripts/hostile-http-server.py`): the first path
/// segment picks the misbehaviour. It stops by itself after `lifetime` seconds; `stop()` ends it
/// sooner (its own pid only).
final class HostileServer: @unchecked Sendable {
    static let script = packageRoot + "/scripts/hostile-http-server.py"
    let process: Process
    /// The directory it serves files from.
    let dir: String
    let port: Int

    var url: String { "http://127.0.0.1:\(port)" }
    var endpoint: URL? { URL(string: url) }

    init(lifetime: Int = 600) throws {
        dir = temporaryDirectory("hostile")
        let portFile = dir + "/.port"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.script, dir, portFile, String(lifetime)]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(15)
        var found: Int?
        while found == nil && Date() < deadline && p.isRunning {
            found = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            if p.isRunning { p.terminate() }
            throw RemoteServers.ServerError("scripts/hostile-http-server.py did not start within 15 s")
        }
        port = found
    }

    /// Writes `bytes` to `relative` under the served directory.
    func serve(_ relative: String, _ bytes: [UInt8]) throws {
        let path = dir + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Runs `body` in a task of its own and waits at most `limit` for it: `nil` when it did not
/// finish in time (the task is then cancelled and left behind), so that a hang fails the test
/// instead of stopping it.
func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    let race = Race<Result<T, any Error>?>()
    let result = await withCheckedContinuation { (c: CheckedContinuation<Result<T, any Error>?, Never>) in
        race.continuation.withLock { $0 = c }
        let work = Task<Void, Never> {
            let r: Result<T, any Error>
            do { r = .success(try await body()) } catch { r = .failure(error) }
            race.resume(r)
        }
        let timer = Task<Void, Never> {
            try? await Task.sleep(for: limit)
            race.resume(nil)
        }
        race.tasks.withLock { $0 = [work, timer] }
    }
    let tasks = race.tasks.withLock { $0 }
    tasks.last?.cancel()
    if result == nil { tasks.first?.cancel() }
    return result
}

/// The first of two outcomes, for `within`.
final class Race<R: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<R, Never>?>(nil)
    let tasks = Mutex<[Task<Void, Never>]>([])

    func resume(_ r: R) { continuation.withLock { $0.take() }?.resume(returning: r) }
}

/// The error a remote operation threw, as a string, or a note that it did not throw.
func failure<T: Sendable>(_ limit: Duration = .seconds(30), _ body: @escaping @Sendable () async throws -> T) async -> String {
    switch await within(limit, body) {
    case nil: return "HUNG for \(limit)"
    case .success(let v): return "NO ERROR: \(v)"
    case .failure(let e): return "\(e)"
    }
}

/// Remote stores against a hostile HTTP server on 127.0.0.1: every misbehaviour is an error
/// naming the key or URL, within seconds.
@Suite(.timeLimit(.minutes(5))) struct RemoteHostileTests {
    static let quick = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))

    /// A sharded array (several shards read side by side) with one shard index whose CRC is
    /// wrong, served by a server that ignores Range: every read fails with the checksum error,
    /// none hangs. (On this toolchain, cancelling the sibling reads used to cancel their
    /// URLSession tasks from the task group's cancellation handler, which deadlocks
    /// swift-corelibs-foundation now and then.)
    @Test func failingShardedReadsOverHTTPNeverHang() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        let local = LocalStore(root: server.dir + "/arr.zarr")
        let spec = ChunkSpec(shape: [8, 8], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [4, 4], indexLocation: .end)
        let array = try await ZarrArray.create(local, path: "", metadata: ArrayMetadata(
            shape: [48, 48], chunkShape: [8, 8], dataType: .int32, codecs: [codec.codecSpec]))
        try await array.write(all: try iota([48, 48]))
        let shard = server.dir + "/arr.zarr/c/2/3"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: shard)))
        bytes[bytes.count - 1] ^= 0xFF  // the index's CRC32C
        try Data(bytes).write(to: URL(fileURLWithPath: shard))

        for base in ["/norange", "/files"] {
            for run in 0..<12 {
                let store = try HTTPStore(url: server.url + base + "/arr.zarr", retry: Self.quick)
                let message = await failure(.seconds(20)) {
                    try await ZarrArray.open(store, path: "").read().shape
                }
                #expect(message.contains("c/2/3") && message.contains("checksum"), "\(base) run \(run): \(message)")
                if message.hasPrefix("HUNG") { return }
            }
        }
    }

    /// A server that trickles a byte every 0.2 s meets the total deadline; one that goes quiet
    /// meets the idle timeout. Both over HTTP and S3, with short limits.
    @Test func slowServersMeetTheIdleAndTotalDeadlines() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        // The trickle's gaps (0.2 s) stay well within the idle timeout even on a loaded machine.
        let limits = RemoteLimits(idleTimeout: .seconds(5), requestDeadline: .seconds(2))
        let clock = ContinuousClock()

        let trickle = try HTTPStore(url: server.url + "/trickle/a.zarr", retry: .never, limits: limits)
        var start = clock.now
        var message = await failure { try await trickle.get("zarr.json") }
        #expect(message.contains("timed out") && message.contains("within 2 s") && message.contains("zarr.json"), "\(message)")
        #expect(clock.now - start < .seconds(10))

        let stall = try HTTPStore(url: server.url + "/stall/a.zarr", retry: .never,
                                  limits: RemoteLimits(idleTimeout: .seconds(1), requestDeadline: .seconds(30)))
        start = clock.now
        message = await failure { try await stall.get("zarr.json") }
        #expect(message.contains("timed out") && message.contains("nothing received for 1 s"), "\(message)")
        #expect(clock.now - start < .seconds(10))

        // Retried attempts each meet the deadline; the retry policy bounds how many there are.
        let retried = try HTTPStore(url: server.url + "/trickle/a.zarr", retry: Self.quick, limits: limits)
        start = clock.now
        message = await failure { try await retried.get("zarr.json") }
        #expect(message.contains("timed out") && message.contains("after 2 attempts"), "\(message)")
        #expect(clock.now - start < .seconds(15))

        // S3: the limits of the configuration.
        let c = S3Configuration(bucket: "b", endpoint: URL(string: server.url + "/trickle"), addressingStyle: .path,
                                retry: .never, limits: limits)
        let s3 = try S3Store(configuration: c)
        start = clock.now
        message = await failure { try await s3.get("x/zarr.json") }
        #expect(message.contains("timed out") && message.contains("x/zarr.json"), "\(message)")
        #expect(clock.now - start < .seconds(10))
        // requestTimeout is the idle timeout of the limits.
        var d = c
        d.requestTimeout = .seconds(7)
        #expect(d.limits.idleTimeout == .seconds(7))
        #expect(S3Configuration(bucket: "b", requestTimeout: .seconds(3), limits: limits).limits.idleTimeout == .seconds(3))
    }

    /// An S3 listing whose continuation tokens go round in circles is an error naming the
    /// bucket and prefix; one that never ends meets the page limit.
    @Test func s3ListingsThatNeverEndAreErrors() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        let loop = try S3Store(configuration: S3Configuration(
            bucket: "b", prefix: "root", endpoint: URL(string: server.url + "/s3loop"), addressingStyle: .path, retry: .never))
        var message = await failure { try await loop.list(prefix: "sub/") }
        #expect(message.contains("s3://b/root/sub/") && message.contains("round in circles") && message.contains("'A'"), "\(message)")
        message = await failure { try await loop.listDirectory("") }
        #expect(message.contains("round in circles"), "\(message)")

        let fresh = try S3Store(configuration: S3Configuration(
            bucket: "b", endpoint: URL(string: server.url + "/s3fresh"), addressingStyle: .path, retry: .never,
            limits: RemoteLimits(maxListPages: 25)))
        message = await failure { try await fresh.list(prefix: "") }
        #expect(message.contains("s3://b/") && message.contains("did not end after 25 pages"), "\(message)")
    }

    /// Bodies over their limits are refused: an endless metadata document, a Content-Length
    /// of 1 TiB (before reading), an endless 206 to a small range, a whole value from a server
    /// that ignores Range. Reads within the limits still work, Range ignored or not.
    @Test func oversizedBodiesAreRefused() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        let blob = randomBytes(300_000, seed: 11)
        try server.serve("d/blob.bin", blob)
        try server.serve("d/zarr.json", Array("{\"zarr_format\": 3, \"node_type\": \"group\"}".utf8))
        let limits = RemoteLimits(maxMetadataBytes: 1 << 20, maxObjectBytes: 200_000, rangeSlack: 1024)
        let clock = ContinuousClock()

        let endless = try HTTPStore(url: server.url + "/endless/d", retry: Self.quick, limits: limits)
        let start = clock.now
        var message = await failure { try await endless.get("zarr.json") }
        #expect(message.contains("'zarr.json'") && message.contains("response too large")
                && message.contains("limit of 1048576 bytes"), "\(message)")
        #expect(clock.now - start < .seconds(10))
        message = await failure { try await ZarrGroup.open(endless) }
        #expect(message.contains("response too large"), "\(message)")
        // The default metadata limit is 256 MiB.
        #expect(RemoteLimits.standard.maxMetadataBytes == 256 << 20)
        #expect(RemoteLimits.standard.maxValueBytes(for: "a/b/.zattrs") == 256 << 20)

        let big = try HTTPStore(url: server.url + "/biglength/d", retry: Self.quick, limits: limits)
        let metrics = StoreMetrics()
        let bigMetered = try HTTPStore(url: server.url + "/biglength/d", retry: Self.quick, metrics: metrics, limits: limits)
        message = await failure { try await big.get(".zarray") }
        #expect(message.contains("Content-Length 1099511627776 is over the limit of 1048576 bytes"), "\(message)")
        message = await failure { try await bigMetered.get("c/0") }
        #expect(message.contains("'c/0'") && message.contains("over the limit of 200000 bytes"), "\(message)")
        #expect(metrics.snapshot.bytesReceived == 0 && metrics.snapshot.requests == 1, "\(metrics.snapshot)")

        let partial = try HTTPStore(url: server.url + "/endless206/d", retry: Self.quick, limits: limits)
        message = await failure { try await partial.get("c/0", range: .slice(offset: 0, length: 100)) }
        #expect(message.contains("'c/0'") && message.contains("limit of 1124 bytes"), "\(message)")
        message = await failure { try await partial.get("c/0", range: .suffix(length: 16)) }
        #expect(message.contains("limit of 1040 bytes"), "\(message)")

        // A server that ignores Range sends the whole value: accepted up to maxObjectBytes.
        try server.serve("d/small.bin", Array(blob[0..<150_000]))
        let ignoring = try HTTPStore(url: server.url + "/norange/d", retry: Self.quick, limits: limits)
        #expect(try await ignoring.get("small.bin", range: .slice(offset: 10, length: 5)) == Array(blob[10..<15]))
        #expect(try await ignoring.get("small.bin", ranges: [.slice(offset: 0, length: 2), .suffix(length: 2)])
                == [Array(blob[0..<2]), Array(blob[149_998..<150_000])])
        #expect(ignoring.serverIgnoresRange)
        message = await failure { try await ignoring.get("blob.bin", range: .slice(offset: 10, length: 5)) }
        #expect(message.contains("'blob.bin'") && message.contains("over the limit of 200000 bytes"), "\(message)")
        message = await failure { try await ignoring.get("blob.bin", ranges: [.slice(offset: 0, length: 2), .suffix(length: 2)]) }
        #expect(message.contains("over the limit of 200000 bytes"), "\(message)")
        // A server that honours Range serves parts of a value larger than maxObjectBytes.
        let honouring = try HTTPStore(url: server.url + "/files/d", retry: Self.quick, limits: limits)
        #expect(try await honouring.get("blob.bin", range: .slice(offset: 250_000, length: 7)) == Array(blob[250_000..<250_007]))
        #expect(try await honouring.get("blob.bin", range: .suffix(length: 3)) == Array(blob.suffix(3)))
        message = await failure { try await honouring.get("blob.bin") }
        #expect(message.contains("over the limit of 200000 bytes"), "\(message)")

        // Another transport that ignores the limits: the store checks the body itself.
        let fake = CannedTransport(HTTPResponse(status: 200, body: [UInt8](repeating: 32, count: 5000)))
        let checked = try HTTPStore(url: "http://127.0.0.1:9/d", transport: fake, retry: .never,
                                    limits: RemoteLimits(maxMetadataBytes: 4096))
        message = await failure { try await checked.get("zarr.json") }
        #expect(message.contains("'zarr.json'") && message.contains("5000 bytes, over the limit of 4096"), "\(message)")
        #expect(fake.requests.first?.maxBodyBytes == 4096)
        #expect(fake.requests.first?.header("accept-encoding") == "identity")
        #expect(fake.requests.first?.idleTimeout == .seconds(60) && fake.requests.first?.deadline == .seconds(600))
    }

    /// A body sent with a Content-Encoding although identity was asked for is an error: its
    /// bytes and length are not the stored value's.
    @Test func contentEncodedBodiesAreErrors() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        try server.serve("d/zarr.json", Array("{\"zarr_format\": 3, \"node_type\": \"group\"}".utf8))
        let store = try HTTPStore(url: server.url + "/gzip/d", retry: Self.quick)
        var message = await failure { try await store.get("zarr.json") }
        #expect(message.contains("'zarr.json'") && message.contains("Content-Encoding: gzip"), "\(message)")
        message = await failure { try await ZarrGroup.open(store) }
        #expect(message.contains("Content-Encoding: gzip"), "\(message)")
        message = await failure { try await store.size(of: "zarr.json") }
        #expect(message.contains("Content-Encoding: gzip"), "\(message)")
        // The same from any transport, over S3 too.
        let fake = CannedTransport(HTTPResponse(status: 200, headers: ["Content-Encoding": "br"], body: [1, 2, 3]))
        let s3 = try S3Store(configuration: S3Configuration(bucket: "b", endpoint: URL(string: "http://127.0.0.1:9"), retry: .never),
                             transport: fake)
        message = await failure { try await s3.get("k") }
        #expect(message.contains("'k'") && message.contains("Content-Encoding: br"), "\(message)")
        #expect(fake.requests.first?.header("accept-encoding") == "identity")
        let plain = try HTTPStore(url: server.url + "/files/d")
        #expect(try await plain.get("zarr.json") != nil)
    }

    /// A redirect to another scheme (`file://`, `ftp://`) or one that cannot be followed is an
    /// error naming it, never missing data ("no Zarr group").
    @Test func redirectsThatCannotBeFollowedAreErrors() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        try server.serve("d/zarr.json", Array("{\"zarr_format\": 3, \"node_type\": \"group\"}".utf8))
        let file = try HTTPStore(url: server.url + "/redirect-file/d", retry: Self.quick)
        var message = await failure { try await file.get("zarr.json") }
        #expect(message.contains("'zarr.json'") && message.contains("redirect") && message.contains("file://"), "\(message)")
        // Many times: the refused redirect must not race a cancel of the URLSession task (which
        // crashes swift-corelibs-foundation when it lands between a redirect and its answer).
        for _ in 0..<40 {
            let m = await failure { try await file.get("zarr.json") }
            #expect(m.contains("file://"), "\(m)")
        }
        message = await failure { try await ZarrGroup.open(file) }
        #expect(message.contains("file://"), "\(message)")
        message = await failure { try await file.exists("zarr.json") }
        #expect(message.contains("file://"), "\(message)")

        let ftp = try HTTPStore(url: server.url + "/redirect-ftp/d", retry: Self.quick)
        message = await failure { try await ftp.get("zarr.json", range: .suffix(length: 4)) }
        #expect(message.contains("redirect") && message.contains("ftp://127.0.0.1/d/zarr.json"), "\(message)")

        let none = try HTTPStore(url: server.url + "/redirect-none/d", retry: Self.quick)
        message = await failure { try await none.get("zarr.json") }
        #expect(message.contains("HTTP 302 Found") && message.contains("without a Location"), "\(message)")
        message = await failure { try await ZarrGroup.open(none) }
        #expect(message.contains("HTTP 302 Found"), "\(message)")
    }

    /// Reads through a redirect, cancelled at random moments (before, during and after the
    /// redirect): each stops waiting at once with `CancellationError`, and nothing crashes.
    @Test func readsCancelledAroundARedirectStopAtOnce() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        let store = try HTTPStore(url: server.url + "/redirect-stall/d", retry: .never)
        let clock = ContinuousClock()
        for i in 0..<40 {
            let read = Task { try await store.get("zarr.json") }
            try await Task.sleep(for: .microseconds(Int64(i % 10) * 700))
            let start = clock.now
            read.cancel()
            let message = await failure(.seconds(10)) { try await read.value }
            #expect(message.contains("CancellationError"), "\(message)")
            #expect(clock.now - start < .seconds(5))
        }
    }

    /// A read that is cancelled stops waiting at once, and the store keeps working.
    @Test func cancelledReadsStopWaitingAndTheStoreStillWorks() async throws {
        let server = try HostileServer()
        defer { server.stop() }
        try server.serve("d/zarr.json", Array("{}".utf8))
        let slow = try HTTPStore(url: server.url + "/stall/d", retry: .never)
        let clock = ContinuousClock()
        for _ in 0..<5 {
            let read = Task { try await slow.get("zarr.json") }
            try await Task.sleep(for: .milliseconds(100))
            let start = clock.now
            read.cancel()
            let message = await failure(.seconds(10)) { try await read.value }
            #expect(message.contains("CancellationError"), "\(message)")
            #expect(clock.now - start < .seconds(5))
        }
        let store = try HTTPStore(url: server.url + "/files/d", retry: .never)
        #expect(try await store.get("zarr.json") == Array("{}".utf8))
    }
}

/// A transport that answers every request with one response and records the requests.
final class CannedTransport: HTTPTransport {
    let response: HTTPResponse
    let seen = Mutex<[HTTPRequest]>([])

    init(_ response: HTTPResponse) { self.response = response }

    var requests: [HTTPRequest] { seen.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        seen.withLock { $0.append(request) }
        return response
    }
}

extension HTTPRequest {
    /// The value of header `name` (any case).
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}
