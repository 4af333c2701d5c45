import Foundation
import Synchronization
import Zarr

/// A read-only store over HTTP(S): key `k` is the URL `base/k`.
///
/// Whole values are plain GETs; parts are GETs with a `Range` header (`bytes=a-b`,
/// `bytes=a-`, or the suffix form `bytes=-n` that shard indexes use); `exists` and `size(of:)`
/// are HEADs. Redirects are followed. A server that ignores `Range` and answers 200 with the
/// whole body still gives the right bytes: the store slices them locally, and once it has
/// seen that, a read of several ranges of one key (`get(_:ranges:)`, as sharded and sparse
/// reads use) fetches the value once and slices every range from it instead of fetching the
/// whole value once per range. Single-range reads are not cached across calls (the server's
/// files may change between them). 404 and 410 mean
/// "no value"; any other status of 400 or more is a `ZarrError.io` naming it (`HTTP 403
/// Forbidden`).
///
/// HTTP cannot list, so this store is not a `ListableStore`: open hierarchies that carry
/// consolidated metadata (`ConsolidatedMetadata.consolidate`), or open arrays by path.
///
/// At most `maxConcurrentRequests` requests are in flight; failed requests are retried as
/// `retry` says (connection errors, timeouts, 5xx and 429 only). Every request is held to
/// `limits`: idle and total time, and body sizes (a ranged read accepts the range, or the whole
/// value up to `maxObjectBytes` from a server that ignores `Range`; a metadata document at most
/// `maxMetadataBytes`). A body with a `Content-Encoding`, a redirect to a scheme other than
/// http(s) and a redirect that is not followed are errors naming the URL, never missing data.
public final class HTTPStore: MultiRangeReadableStore {
    /// The base URL, without a trailing `/`.
    public let baseURL: String
    /// Extra header fields sent with every request (an `Authorization` token, say).
    public let headers: [String: String]
    /// How `get(_:ranges:)` merges nearby ranges.
    public let coalescing: RangeCoalescing
    /// The metrics the store reports into, if any.
    public let metrics: StoreMetrics?
    /// Requests in flight at once.
    public let maxConcurrentRequests: Int
    /// The time and size limits of every request.
    public let limits: RemoteLimits
    let client: RemoteClient
    /// Set once a ranged GET was answered 200 with the whole value.
    let rangeIgnored = Mutex(false)

    /// Whether the server was seen to ignore `Range` (it answered a ranged GET with 200 and the
    /// whole value).
    public var serverIgnoresRange: Bool { rangeIgnored.withLock { $0 } }

    /// A store at `url` (`http://` or `https://`).
    ///
    /// - Parameters:
    ///   - url: the base URL; keys are appended after a `/`.
    ///   - headers: extra header fields for every request.
    ///   - transport: the HTTP client (by default a `URLSessionTransport` with the timeouts of
    ///     `limits`).
    ///   - retry: the retry policy.
    ///   - maxConcurrentRequests: the most requests in flight at once.
    ///   - coalescing: how `get(_:ranges:)` merges nearby ranges.
    ///   - metrics: counters to report requests and bytes into.
    ///   - limits: time and size limits of every request.
    public init(
        url: String, headers: [String: String] = [:], transport: (any HTTPTransport)? = nil, retry: RetryPolicy = .standard,
        maxConcurrentRequests: Int = 16, coalescing: RangeCoalescing = RangeCoalescing(), metrics: StoreMetrics? = nil,
        limits: RemoteLimits = .standard
    ) throws(ZarrError) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        guard let parsed = URL(string: base), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host, !host.isEmpty
        else { throw .invalidKey(url, reason: "not an http:// or https:// URL") }
        self.baseURL = base
        self.headers = headers
        self.coalescing = coalescing
        self.metrics = metrics
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
        self.limits = limits
        self.client = RemoteClient(
            transport: transport
                ?? URLSessionTransport(
                    timeout: limits.idleTimeout, deadline: limits.requestDeadline,
                    maxBodyBytes: max(limits.maxObjectBytes, limits.maxMetadataBytes)),
            maxConcurrentRequests: maxConcurrentRequests, retry: retry, limits: limits, metrics: metrics)
    }

    /// The base URL.
    public var storeDescription: String { baseURL }

    /// The URL of `key`, each segment percent-encoded.
    public func url(for key: String) throws(ZarrError) -> URL {
        try StoreKey.validate(key)
        guard let u = URL(string: baseURL + "/" + URLPercent.encode(key, keepSlash: true)) else {
            throw .invalidKey(key, reason: "cannot form a URL under \(baseURL)")
        }
        return u
    }

    func request(_ method: String, _ key: String, range: ByteRange? = nil) async throws -> HTTPResponse {
        let url = try url(for: key)
        var h = headers
        h["accept-encoding"] = "identity"  // byte ranges address the stored bytes
        if let header = range?.httpHeader { h["range"] = header }
        let request = HTTPRequest(method: method, url: url, headers: h)
        guard let range else { return try await client.send(key: key) { request } }
        let (whole, partial) = limits.bodyLimits(key: key, range: range)
        return try await client.send(key: key, maxBody: whole, maxPartialBody: partial) { request }
    }

    func failure(_ response: HTTPResponse, method: String, key: String) -> ZarrError {
        .io(key: key, reason: "\(response.statusLine) from \(method) \(baseURL)/\(key)")
    }

    /// The whole value at `key`, or `nil` on 404/410.
    public func get(_ key: String) async throws -> [UInt8]? {
        try await get(key, range: .all)
    }

    /// Part of the value at `key` (a ranged GET), or `nil` on 404/410.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        if range.isEmptyRange { return try await exists(key) ? [] : nil }
        let header = range.httpHeader
        let response = try await request("GET", key, range: range)
        if response.status == 404 || response.status == 410 { return nil }
        if header != nil && response.status == 200 { rangeIgnored.withLock { $0 = true } }
        guard let bytes = range.extract(from: response) else {
            throw failure(response, method: "GET", key: key)
        }
        return bytes
    }

    /// Whether `key` exists (a HEAD).
    public func exists(_ key: String) async throws -> Bool {
        try await head(key) != nil
    }

    /// The size of the value at `key` from a HEAD's `Content-Length`, or `nil` on 404/410.
    /// Throws `unsupportedOperation` when the server sends no length.
    public func size(of key: String) async throws -> Int? {
        guard let response = try await head(key) else { return nil }
        guard let text = response.header("content-length"), let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ZarrError.unsupportedOperation("\(baseURL)/\(key): the server sent no Content-Length")
        }
        return n
    }

    func head(_ key: String) async throws -> HTTPResponse? {
        let response = try await request("HEAD", key)
        switch response.status {
        case 200..<300: return response
        case 404, 410: return nil
        default: throw failure(response, method: "HEAD", key: key)
        }
    }

    /// The parts `ranges` of `key`, nearby ranges merged into one request as `coalescing` says;
    /// one whole GET, sliced locally, when the server is known to ignore `Range`.
    public func get(_ key: String, ranges: [ByteRange]) async throws -> [[UInt8]]? {
        try StoreKey.validate(key)
        if ranges.count > 1 && serverIgnoresRange {
            guard let whole = try await get(key, range: .all) else { return nil }
            return ranges.map { r in
                let part = r.resolved(size: whole.count)
                return part.count == whole.count ? whole : Array(whole[part])
            }
        }
        return try await coalescing.read(key, ranges: ranges, limit: maxConcurrentRequests) { [self] r in
            try await self.get(key, range: r)
        }
    }
}

extension HTTPStore: RemoteStore {}
