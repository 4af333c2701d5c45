import Foundation
import Synchronization
import Testing
@testable import Zarr
@testable import ZarrRemote

/// Real servers on 127.0.0.1 for the remote-store tests, started and stopped through
/// `scripts/remote-servers`: nginx (full Range support), `python3 -m http.server` (ignores
/// Range) and a SeaweedFS S3 gateway that enforces credentials.
final class RemoteServers: Sendable {
    static let script = packageRoot + "/scripts/remote-servers"
    static let accessKey = "swift-anndata-test"
    static let secretKey = "swift-anndata-test-secret-9f3e"

    /// The script's state directory (pids, ports, logs, S3 data).
    let state: String
    /// The directory nginx and the Python server serve.
    let serveDir: String
    let nginxPort: Int
    let pyhttpPort: Int
    let s3Port: Int

    var nginxURL: String { "http://127.0.0.1:\(nginxPort)" }
    var pyhttpURL: String { "http://127.0.0.1:\(pyhttpPort)" }
    var s3Endpoint: URL? { URL(string: "http://127.0.0.1:\(s3Port)") }

    private init(state: String, serveDir: String, nginxPort: Int, pyhttpPort: Int, s3Port: Int) {
        self.state = state
        self.serveDir = serveDir
        self.nginxPort = nginxPort
        self.pyhttpPort = pyhttpPort
        self.s3Port = s3Port
    }

    /// Runs the script and returns the port it printed; throws with the script's output.
    @discardableResult
    static func script(_ arguments: [String]) throws -> Int {
        let r = try runToFile([script] + arguments)
        let port = r.output.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard r.status == 0 else {
            throw ServerError("scripts/remote-servers \(arguments.joined(separator: " ")) failed (exit \(r.status)); "
                + "install the servers with scripts/setup. Output:\n\(r.output)")
        }
        return port ?? 0
    }

    /// Runs bash with `arguments`, its output going to a file rather than a pipe (so a server
    /// it leaves running cannot hold the reader open); at most 5 minutes.
    static func runToFile(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "remote-servers-\(UUID().uuidString).log"
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw ServerError("cannot create \(log)")
        }
        defer { try? FileManager.default.removeItem(atPath: log) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = arguments
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit() }
        try? handle.close()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return (p.terminationStatus, output)
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Starts the servers in `which` (`nginx`, `pyhttp`, `s3`) with a fresh state directory.
    static func start(_ which: Set<String> = ["nginx", "pyhttp", "s3"]) throws -> RemoteServers {
        let root = temporaryDirectory("remote")
        let state = root + "/state"
        let serve = root + "/serve"
        try FileManager.default.createDirectory(atPath: serve, withIntermediateDirectories: true)
        do {
            let nginx = which.contains("nginx") ? try script(["start", "nginx", state, serve]) : 0
            let py = which.contains("pyhttp") ? try script(["start", "pyhttp", state, serve]) : 0
            let s3 = which.contains("s3") ? try script(["start", "s3", state, accessKey, secretKey]) : 0
            return RemoteServers(state: state, serveDir: serve, nginxPort: nginx, pyhttpPort: py, s3Port: s3)
        } catch {
            _ = try? runToFile([script, "stop-all", state])
            throw error
        }
    }

    /// Stops every server this instance started.
    func stop() { _ = try? Self.runToFile([Self.script, "stop-all", state]) }

    /// Stops every server and removes the state and served files (kept when
    /// `REMOTE_SERVERS_KEEP` is set, to read the logs).
    func finish() {
        stop()
        if ProcessInfo.processInfo.environment["REMOTE_SERVERS_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: (state as NSString).deletingLastPathComponent)
        }
    }

    /// Stops one server (`nginx`, `pyhttp`, `s3`).
    func stop(_ name: String) throws { try Self.script(["stop", name, state]) }

    /// Starts the S3 server again with the same port and data.
    func restartS3() throws { try Self.script(["start", "s3", state, Self.accessKey, Self.secretKey]) }

    /// A configuration for `bucket` on the S3 server, with the test credentials.
    func s3Configuration(bucket: String, prefix: String = "") -> S3Configuration {
        S3Configuration(
            bucket: bucket, prefix: prefix, region: "us-east-1", accessKeyID: Self.accessKey, secretAccessKey: Self.secretKey,
            endpoint: s3Endpoint, addressingStyle: .path, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20)),
            requestTimeout: .seconds(30))
    }

    /// A fresh bucket with a unique name, created on the S3 server.
    func newBucket(_ stem: String, metrics: StoreMetrics? = nil, configure: (inout S3Configuration) -> Void = { _ in }) async throws -> S3Store {
        let name = "\(stem)-\(UInt32.random(in: 0...UInt32.max))"
        var c = s3Configuration(bucket: name)
        configure(&c)
        let store = try S3Store(configuration: c, metrics: metrics)
        try await store.createBucket()
        return store
    }

    /// Writes `bytes` to `relative` under the served directory.
    func serve(_ relative: String, _ bytes: [UInt8]) throws {
        let path = serveDir + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The servers of the running `RemoteStoreTests` suite.
    @TaskLocal static var current: RemoteServers?

    /// The suite's servers; throws when called outside the suite.
    static func shared() throws -> RemoteServers {
        guard let c = current else { throw ServerError("no remote servers: the test must run inside RemoteStoreTests") }
        return c
    }
}

/// Starts the servers once around a suite and stops them after it.
struct RemoteServersTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let servers = try RemoteServers.start()
        defer { servers.finish() }
        try await RemoteServers.$current.withValue(servers) { try await function() }
    }
}

extension Trait where Self == RemoteServersTrait {
    /// Real nginx, Python and SeaweedFS S3 servers for the suite.
    static var remoteServers: Self { Self() }
}

/// Deterministic random bytes.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var x = state
        for _ in 0..<8 where out.count < count {
            out.append(UInt8(truncatingIfNeeded: x >> 56))
            x <<= 8
        }
    }
    return out
}

/// A transport that answers the first `failures` requests itself with `status` (or throws a
/// connection error when `status` is nil) and passes the rest on; it counts every request.
final class FlakyTransport: HTTPTransport {
    let base: any HTTPTransport
    let status: Int?
    let failures: Int
    let onlyMethod: String?
    let seen = Mutex<[String]>([])

    init(base: any HTTPTransport = URLSessionTransport(timeout: .seconds(30)), status: Int?, failures: Int, onlyMethod: String? = nil) {
        self.base = base
        self.status = status
        self.failures = failures
        self.onlyMethod = onlyMethod
    }

    var requests: [String] { seen.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let matching = onlyMethod == nil || onlyMethod == request.method
        let n = seen.withLock { s -> Int in
            s.append(request.method)
            return s.filter { onlyMethod == nil || $0 == onlyMethod }.count
        }
        if matching && n <= failures {
            guard let status else { throw HTTPTransportError.connection("injected connection reset") }
            return HTTPResponse(status: status, headers: ["content-type": "text/plain"], body: Array("injected \(status)".utf8))
        }
        return try await base.send(request)
    }
}

/// A transport that runs `hook` before forwarding the request for which `when` is true (once).
final class HookTransport: HTTPTransport {
    let base: any HTTPTransport
    let when: @Sendable (HTTPRequest) -> Bool
    let hook: @Sendable () -> Void
    let fired = Mutex(false)

    init(base: any HTTPTransport, when: @escaping @Sendable (HTTPRequest) -> Bool, hook: @escaping @Sendable () -> Void) {
        self.base = base
        self.when = when
        self.hook = hook
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if when(request), fired.withLock({ f -> Bool in defer { f = true }; return !f }) { hook() }
        return try await base.send(request)
    }
}
