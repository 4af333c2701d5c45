import Foundation
import Zarr

/// What the remote stores share: a transport behind a concurrency limit, retries with backoff,
/// metrics, the limits of `RemoteLimits` on every request, and the checks on every response:
/// a body as long as its `Content-Length` says and within its limit, no content coding, no
/// redirect left unfollowed.
struct RemoteClient: Sendable {
    let transport: any HTTPTransport
    let limiter: RequestLimiter
    let retry: RetryPolicy
    let limits: RemoteLimits
    let metrics: StoreMetrics?

    init(transport: any HTTPTransport, maxConcurrentRequests: Int, retry: RetryPolicy, limits: RemoteLimits, metrics: StoreMetrics?) {
        self.transport = transport
        self.limiter = RequestLimiter(limit: maxConcurrentRequests)
        self.retry = retry
        self.limits = limits
        self.metrics = metrics
    }

    /// Sends the request `make` builds (once per attempt, so a signature can be fresh), retrying
    /// on connection errors, timeouts, 5xx and 429. Returns the last response, whatever its
    /// status; throws `ZarrError.io` naming `key` when no attempt produced a usable response.
    ///
    /// Each request gets `Accept-Encoding: identity` (unless it sets its own), the time limits
    /// of `limits`, and the body limits `maxBody` (default: `limits.maxMetadataBytes`, for
    /// replies that are not values) and `maxPartialBody` (for a 206).
    func send(
        key: String, maxBody: Int? = nil, maxPartialBody: Int? = nil, _ make: () throws -> HTTPRequest
    ) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            var request = try make()
            if !request.headers.keys.contains(where: { $0.lowercased() == "accept-encoding" }) {
                request.headers["accept-encoding"] = "identity"
            }
            request.idleTimeout = min(request.idleTimeout ?? limits.idleTimeout, limits.idleTimeout)
            request.deadline = min(request.deadline ?? limits.requestDeadline, limits.requestDeadline)
            request.maxBodyBytes = maxBody ?? limits.maxMetadataBytes
            request.maxPartialBodyBytes = maxPartialBody
            let mayRetry = attempt < retry.maxAttempts && clock.now - start < retry.maxElapsed
            metrics?.recordRequest(method: request.method, bytesSent: request.body.count)
            let response: HTTPResponse
            do {
                let transport = self.transport
                response = try await limiter.run { try await transport.send(request) }
                metrics?.recordReceived(response.body.count)
                try Self.checkLength(response, request: request)
                try Self.checkUsable(response, request: request)
            } catch let e as HTTPTransportError {
                metrics?.recordFailure()
                if e.isRetryable && mayRetry {
                    try await backoff(attempt)
                    continue
                }
                let tries = attempt == 1 ? "" : " (after \(attempt) attempts)"
                throw ZarrError.io(key: key, reason: "\(e)\(tries)")
            } catch is CancellationError {
                throw CancellationError()
            } catch let e as ZarrError {
                throw e
            } catch {
                metrics?.recordFailure()
                throw ZarrError.io(key: key, reason: "\(request.method) \(request.url.absoluteString): \(error)")
            }
            if response.status >= 400 && response.status != 404 && response.status != 416 { metrics?.recordFailure() }
            if RetryPolicy.isRetryable(status: response.status) && mayRetry {
                try await backoff(attempt)
                continue
            }
            return response
        }
    }

    private func backoff(_ attempt: Int) async throws {
        metrics?.recordRetry()
        try await Task.sleep(for: retry.delay(beforeRetry: attempt))
    }

    /// Throws when a response cannot be used whatever its status means: a body over the
    /// request's limit (`tooLarge`, for transports that did not hold it), a 2xx body with a
    /// content coding (its bytes and length are not the stored value's), or a redirect that
    /// was not followed (`failed`, naming it).
    static func checkUsable(_ response: HTTPResponse, request: HTTPRequest) throws {
        if let limit = request.bodyLimit(status: response.status), response.body.count > limit {
            throw HTTPTransportError.tooLarge(
                "\(request.summary): the body has \(response.body.count) bytes, over the limit of \(limit)")
        }
        if (200..<300).contains(response.status), let coding = ContentCoding.applied(response.header("content-encoding")) {
            throw HTTPTransportError.failed(
                "\(request.summary): the server sent a body with Content-Encoding: \(coding) although "
                    + "'Accept-Encoding: identity' was asked for; its bytes and length are not the stored value's")
        }
        if (300..<400).contains(response.status) {
            let target = response.header("location").map { "to '\($0)'" } ?? "without a Location"
            throw HTTPTransportError.failed(
                "\(request.summary): \(response.statusLine), a redirect \(target) that was not followed")
        }
    }

    /// Throws `HTTPTransportError.connection` when a body is shorter or longer than its
    /// `Content-Length` (a connection that broke mid-body and a transport that did not notice).
    static func checkLength(_ response: HTTPResponse, request: HTTPRequest) throws {
        guard request.method != "HEAD", response.status != 204, response.status != 304,
              response.header("content-encoding").map({ $0.lowercased() == "identity" }) ?? true,
              let text = response.header("content-length"), let expected = Int(text.trimmingCharacters(in: .whitespaces))
        else { return }
        if expected != response.body.count {
            throw HTTPTransportError.connection(
                "\(request.method) \(request.url.absoluteString): body has \(response.body.count) of \(expected) bytes")
        }
    }
}

/// Percent-encoding of key segments for URLs and SigV4 canonical requests.
enum URLPercent {
    /// Encodes every byte except the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
    /// and `/` too when `keepSlash`.
    static func encode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out
    }
}

/// Parsing of `Content-Range: bytes a-b/total` (and `bytes */total`).
enum ContentRange {
    /// The first byte and the total size (`nil` when `*`), or `nil` if the header is malformed.
    static func parse(_ value: String) -> (start: Int?, total: Int?)? {
        let v = value.trimmingCharacters(in: .whitespaces)
        guard v.lowercased().hasPrefix("bytes") else { return nil }
        let rest = v.dropFirst(5).trimmingCharacters(in: .whitespaces)
        let parts = rest.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let total = Int(parts[1])
        if parts[0] == "*" { return (nil, total) }
        guard let dash = parts[0].firstIndex(of: "-"), let start = Int(parts[0][..<dash]) else { return nil }
        return (start, total)
    }
}

extension ByteRange {
    /// The `Range` header value for this range, or `nil` for `.all` and for empty ranges (which
    /// are answered without a body).
    var httpHeader: String? {
        switch self {
        case .all: return nil
        case .slice(let o, let l):
            guard l > 0 else { return nil }
            let lo = max(o, 0)
            let (end, overflow) = lo.addingReportingOverflow(l - 1)
            return overflow ? "bytes=\(lo)-" : "bytes=\(lo)-\(end)"
        case .from(let o): return "bytes=\(max(o, 0))-"
        case .suffix(let l): return l > 0 ? "bytes=-\(l)" : nil
        }
    }

    /// Whether the range is empty whatever the value's size.
    var isEmptyRange: Bool {
        switch self {
        case .slice(_, let l): return l <= 0
        case .suffix(let l): return l <= 0
        default: return false
        }
    }

    /// The requested part of a response to a ranged GET: a 206 body is placed by its
    /// `Content-Range`; a 200 body is the whole value, sliced here; a 416 means the range starts
    /// past the end, which reads as empty. `nil` when the status is none of these, or a 206 body
    /// does not cover the start of the range.
    func extract(from response: HTTPResponse) -> [UInt8]? {
        switch response.status {
        case 200:
            let r = resolved(size: response.body.count)
            return r.count == response.body.count ? response.body : Array(response.body[r])
        case 206:
            let body = response.body
            guard let header = response.header("content-range"), let cr = ContentRange.parse(header),
                  let start = cr.start else { return body }
            switch self {
            case .all:
                return body
            case .suffix(let l):
                return body.count > l ? Array(body.suffix(l)) : body
            case .slice(let o, let l):
                return Self.window(body, start: start, want: max(o, 0), length: max(l, 0))
            case .from(let o):
                return Self.window(body, start: start, want: max(o, 0), length: Int.max)
            }
        case 416:
            return []
        default:
            return nil
        }
    }

    /// Bytes `want..<want+length` from a body that starts at byte `start` of the value, or `nil`
    /// when the body starts after `want` (a server that answered another range).
    static func window(_ body: [UInt8], start: Int, want: Int, length: Int) -> [UInt8]? {
        guard start <= want else { return nil }
        let lo = min(max(want - start, 0), body.count)
        let hi = length >= body.count - lo ? body.count : lo + length
        return lo == 0 && hi == body.count ? body : Array(body[lo..<hi])
    }
}
