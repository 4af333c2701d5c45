import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request as a remote store sends it.
public struct HTTPRequest: Sendable, Hashable {
    /// The method: `GET`, `HEAD`, `PUT`, `POST` or `DELETE`.
    public var method: String
    /// The absolute URL, already percent-encoded.
    public var url: URL
    /// Header fields to send (the transport adds `Host` and `Content-Length` itself).
    public var headers: [String: String]
    /// The body, empty for none.
    public var body: [UInt8]

    /// A request.
    public init(method: String, url: URL, headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// One HTTP response: status, header fields and the whole body.
public struct HTTPResponse: Sendable, Hashable {
    /// The status code.
    public var status: Int
    /// Header fields, names in lower case.
    public var headers: [String: String]
    /// The body (empty for `HEAD`).
    public var body: [UInt8]

    /// A response; header names are lower-cased.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        var h: [String: String] = [:]
        for (k, v) in headers { h[k.lowercased()] = v }
        self.headers = h
        self.body = body
    }

    /// The value of header `name` (any case), if present.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// `HTTP 403 Forbidden`: the status with its reason phrase, for messages.
    public var statusLine: String { HTTPResponse.statusLine(status) }

    /// `HTTP <code> <reason>` for a status code.
    public static func statusLine(_ status: Int) -> String {
        let reason: String
        switch status {
        case 200: reason = "OK"
        case 204: reason = "No Content"
        case 206: reason = "Partial Content"
        case 301: reason = "Moved Permanently"
        case 302: reason = "Found"
        case 304: reason = "Not Modified"
        case 307: reason = "Temporary Redirect"
        case 308: reason = "Permanent Redirect"
        case 400: reason = "Bad Request"
        case 401: reason = "Unauthorized"
        case 403: reason = "Forbidden"
        case 404: reason = "Not Found"
        case 405: reason = "Method Not Allowed"
        case 409: reason = "Conflict"
        case 411: reason = "Length Required"
        case 412: reason = "Precondition Failed"
        case 413: reason = "Content Too Large"
        case 416: reason = "Range Not Satisfiable"
        case 429: reason = "Too Many Requests"
        case 500: reason = "Internal Server Error"
        case 501: reason = "Not Implemented"
        case 502: reason = "Bad Gateway"
        case 503: reason = "Service Unavailable"
        case 504: reason = "Gateway Timeout"
        default: reason = ""
        }
        return reason.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(reason)"
    }
}

/// Why a transport could not produce a response.
public enum HTTPTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection failed or broke: refused, reset, lost mid-body, host not found. Retryable.
    case connection(String)
    /// No response within the time limit. Retryable.
    case timedOut(String)
    /// A failure that another attempt will not fix: a malformed URL, an unsupported scheme, a
    /// certificate that is not trusted. Not retried.
    case failed(String)

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        switch self {
        case .connection, .timedOut: return true
        case .failed: return false
        }
    }

    /// A description for messages.
    public var description: String {
        switch self {
        case .connection(let s): return "connection error: \(s)"
        case .timedOut(let s): return "timed out: \(s)"
        case .failed(let s): return s
        }
    }
}

/// The HTTP client under the remote stores: one request in, one whole response out.
///
/// `URLSessionTransport` is the default; another client (a test double, an
/// AsyncHTTPClient adapter) can replace it. A transport reports a response for every HTTP
/// status, including 4xx and 5xx, and throws `HTTPTransportError` only when it has no
/// response; the stores decide what a status means and when to retry. Redirects are followed
/// by the transport.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, or throws `HTTPTransportError`.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// An `HTTPTransport` over Foundation's `URLSession` (FoundationNetworking on Linux).
///
/// It uses an ephemeral session without cookies or a response cache, so every read reaches the
/// server, and follows redirects with the request's header fields (a `Range` survives a
/// redirect).
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession
    /// The time limit of one request (from sending it to the end of the response).
    public let timeout: Duration

    /// A transport whose requests time out after `timeout` without progress.
    public init(timeout: Duration = .seconds(60)) {
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.timeoutIntervalForRequest = Self.seconds(timeout)
        configuration.timeoutIntervalForResource = max(Self.seconds(timeout), 60) * 10
        self.session = URLSession(configuration: configuration)
    }

    deinit { session.finishTasksAndInvalidate() }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return max(0.001, Double(s) + Double(atto) / 1e18)
    }

    /// Sends `request` through `URLSession`; throws `HTTPTransportError`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var r = URLRequest(url: request.url)
        r.httpMethod = request.method
        r.timeoutInterval = Self.seconds(timeout)
        r.cachePolicy = .reloadIgnoringLocalCacheData
        for (name, value) in request.headers { r.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { r.httpBody = Data(request.body) }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: r)
        } catch let e as URLError {
            throw Self.map(e, request: request)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw HTTPTransportError.connection("\(request.method) \(request.url.absoluteString): \(error)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw HTTPTransportError.failed("\(request.method) \(request.url.absoluteString): not an HTTP response")
        }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let name = k as? String, let value = v as? String { headers[name.lowercased()] = value }
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: [UInt8](data))
    }

    static func map(_ e: URLError, request: HTTPRequest) -> Error {
        let what = "\(request.method) \(request.url.absoluteString): \(e.localizedDescription) (URLError \(e.code.rawValue))"
        switch e.code {
        case .cancelled:
            return CancellationError()
        case .timedOut:
            return HTTPTransportError.timedOut(what)
        case .badURL, .unsupportedURL, .userAuthenticationRequired, .userCancelledAuthentication,
             .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot, .clientCertificateRejected, .clientCertificateRequired,
             .httpTooManyRedirects, .redirectToNonExistentLocation, .fileDoesNotExist, .noPermissionsToReadFile,
             .dataLengthExceedsMaximum:
            return HTTPTransportError.failed(what)
        default:
            return HTTPTransportError.connection(what)
        }
    }
}
