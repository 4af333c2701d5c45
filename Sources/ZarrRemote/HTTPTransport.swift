import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Zarr

/// One HTTP request as a remote store sends it, with the limits its response must keep.
public struct HTTPRequest: Sendable, Hashable {
    /// The method: `GET`, `HEAD`, `PUT`, `POST` or `DELETE`.
    public var method: String
    /// The absolute URL, already percent-encoded.
    public var url: URL
    /// Header fields to send (the transport adds `Host` and `Content-Length` itself).
    public var headers: [String: String]
    /// The body, empty for none.
    public var body: [UInt8]
    /// The most body bytes to accept in a response (of any status but 206); `nil` for the
    /// transport's own limit. A larger `Content-Length` is refused before reading, and a body
    /// that grows past it is aborted (`HTTPTransportError.tooLarge`).
    public var maxBodyBytes: Int?
    /// The most body bytes to accept in a 206 (partial) response: the requested range and a
    /// little more; `nil` for `maxBodyBytes`.
    public var maxPartialBodyBytes: Int?
    /// The longest wait for any progress (response head, a byte of body, a byte of upload);
    /// `nil` for the transport's own. The stricter of the two holds.
    public var idleTimeout: Duration?
    /// The longest the whole exchange may take, from sending to the last byte; `nil` for the
    /// transport's own. The stricter of the two holds.
    public var deadline: Duration?

    /// A request.
    public init(
        method: String, url: URL, headers: [String: String] = [:], body: [UInt8] = [], maxBodyBytes: Int? = nil,
        maxPartialBodyBytes: Int? = nil, idleTimeout: Duration? = nil, deadline: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.maxBodyBytes = maxBodyBytes
        self.maxPartialBodyBytes = maxPartialBodyBytes
        self.idleTimeout = idleTimeout
        self.deadline = deadline
    }

    /// The body limit for a response with HTTP `status`.
    public func bodyLimit(status: Int) -> Int? {
        status == 206 ? (maxPartialBodyBytes ?? maxBodyBytes) : maxBodyBytes
    }

    /// `METHOD url`, for messages.
    var summary: String { "\(method) \(url.absoluteString)" }
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
    /// certificate that is not trusted, a redirect to a scheme other than http(s). Not retried.
    case failed(String)
    /// A response body larger than the request allows (`HTTPRequest.maxBodyBytes`), by its
    /// `Content-Length` or as it streamed in. Not retried.
    case tooLarge(String)

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        switch self {
        case .connection, .timedOut: return true
        case .failed, .tooLarge: return false
        }
    }

    /// A description for messages.
    public var description: String {
        switch self {
        case .connection(let s): return "connection error: \(s)"
        case .timedOut(let s): return "timed out: \(s)"
        case .failed(let s): return s
        case .tooLarge(let s): return "response too large: \(s)"
        }
    }
}

/// The HTTP client under the remote stores: one request in, one whole response out.
///
/// `URLSessionTransport` is the default; another client (a test double, an
/// AsyncHTTPClient adapter) can replace it. A transport reports a response for every HTTP
/// status, including 4xx and 5xx, and throws `HTTPTransportError` only when it has no
/// response; the stores decide what a status means and when to retry. Redirects to http(s)
/// URLs are followed by the transport, others refused. A transport holds the request's limits
/// (`maxBodyBytes`, `idleTimeout`, `deadline`); the stores check the body size again.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, or throws `HTTPTransportError`.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// An `HTTPTransport` over Foundation's `URLSession` (FoundationNetworking on Linux).
///
/// It uses an ephemeral session without cookies or a response cache, so every read reaches the
/// server, and follows redirects to `http` and `https` URLs with the request's header fields (a
/// `Range` survives a redirect); a redirect to any other scheme (`file://`, `ftp://`) is
/// `HTTPTransportError.failed`, naming it.
///
/// Limits are held by the transport's own timers, not by `URLSession`'s: a request fails with
/// `HTTPTransportError.timedOut` when nothing arrives for `timeout` (or the request's stricter
/// `idleTimeout`), and when the whole exchange passes `deadline` (or the request's stricter
/// `deadline`), however slowly the server trickles bytes. A body is refused (`tooLarge`) as soon
/// as its `Content-Length`, or the bytes received so far, pass the request's limit.
///
/// Swift task cancellation never reaches `URLSession` directly: the awaiting task stops waiting
/// at once (with `CancellationError`), and the `URLSessionTask` is cancelled afterwards from a
/// dispatch queue of the transport's own. (Cancelling a `URLSessionTask` from a task
/// cancellation handler can deadlock swift-corelibs-foundation: the handler holds the task's
/// status lock while `cancel()` waits for the session's work queue, which may itself be waiting
/// for that lock to resume the task.)
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession
    private let delegate: URLSessionTransportDelegate
    /// The longest wait for any progress on a request (its response head, a byte of its body).
    public let timeout: Duration
    /// The longest one request may take in all.
    public let deadline: Duration
    /// The most body bytes of one response, unless the request sets a stricter limit.
    public let maxBodyBytes: Int

    /// A transport whose requests time out after `timeout` without progress, or after
    /// `deadline` in all, and whose responses may carry at most `maxBodyBytes` of body.
    public init(timeout: Duration = .seconds(60), deadline: Duration = .seconds(600), maxBodyBytes: Int = RemoteLimits.standard.maxObjectBytes) {
        self.timeout = max(.milliseconds(1), timeout)
        self.deadline = max(.milliseconds(1), deadline)
        self.maxBodyBytes = max(0, maxBodyBytes)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        // URLSession's own limits stay above ours, so that ours fire first and say what happened.
        configuration.timeoutIntervalForRequest = Self.seconds(self.timeout) + 30
        configuration.timeoutIntervalForResource = Self.seconds(self.deadline) + 60
        let delegate = URLSessionTransportDelegate()
        self.delegate = delegate
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        self.session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }

    deinit { session.finishTasksAndInvalidate() }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return max(0.001, Double(s) + Double(atto) / 1e18)
    }

    /// Sends `request` through `URLSession`; throws `HTTPTransportError`, or
    /// `CancellationError` when the calling task is cancelled.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let idle = min(timeout, request.idleTimeout ?? timeout)
        let total = min(deadline, request.deadline ?? deadline)
        var r = URLRequest(url: request.url)
        r.httpMethod = request.method
        r.timeoutInterval = Self.seconds(idle) + 30
        r.cachePolicy = .reloadIgnoringLocalCacheData
        for (name, value) in request.headers { r.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { r.httpBody = Data(request.body) }
        var limited = request
        limited.maxBodyBytes = min(maxBodyBytes, request.maxBodyBytes ?? maxBodyBytes)
        limited.maxPartialBodyBytes = request.maxPartialBodyBytes.map { min($0, maxBodyBytes) }
        let exchange = HTTPExchange(request: limited, idle: idle, deadline: total)
        let session = self.session
        let delegate = self.delegate
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResponse, any Error>) in
                guard exchange.install(c) else { return }  // cancelled already: resumed
                let task = session.dataTask(with: r)
                delegate.register(task, exchange)
                exchange.start(task)
            }
        } onCancel: {
            // Nothing here touches URLSession: the exchange is finished from our own queue.
            HTTPExchange.control.async { exchange.finish(.failure(CancellationError())) }
        }
    }
}

/// One request in flight on a `URLSessionTransport`: its continuation, what has arrived, and
/// the timers that watch it. Every way it can end (the response, an error, a timer, a limit,
/// cancellation) goes through `finish`, and only the first counts.
final class HTTPExchange: Sendable {
    /// The queue on which timers fire and `URLSessionTask`s are cancelled: never a Swift task's
    /// cancellation handler, never the session's own queues.
    static let control = DispatchQueue(label: "Zarr.URLSessionTransport.control")

    private struct State {
        var continuation: CheckedContinuation<HTTPResponse, any Error>?
        var outcome: Result<HTTPResponse, any Error>?
        var task: URLSessionTask?
        var response: HTTPURLResponse?
        var body: [UInt8] = []
        var lastProgress: ContinuousClock.Instant
        /// Whether the final response's head has arrived: from then on the task cannot be in a
        /// redirect, and cancelling it is safe.
        var responseSeen = false
        /// The exchange ended before that: cancel the task at the next safe point.
        var cancelPending = false
        var cancelIssued = false
    }

    let request: HTTPRequest
    let idle: Duration
    let deadline: Duration
    let started: ContinuousClock.Instant
    private let state: Mutex<State>

    init(request: HTTPRequest, idle: Duration, deadline: Duration) {
        self.request = request
        self.idle = idle
        self.deadline = deadline
        let now = ContinuousClock.now
        self.started = now
        self.state = Mutex(State(lastProgress: now))
    }

    /// Stores the continuation; returns false (after resuming it) when the exchange has already
    /// ended (cancelled before it started).
    func install(_ c: CheckedContinuation<HTTPResponse, any Error>) -> Bool {
        let early = state.withLock { s -> Result<HTTPResponse, any Error>? in
            if let o = s.outcome { return o }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early); return false }
        return true
    }

    /// Starts `task` and the watchdog; a task whose exchange has already ended is cancelled
    /// without ever running.
    func start(_ task: URLSessionTask) {
        let ended = state.withLock { s -> Bool in
            s.task = task
            if s.outcome != nil { s.cancelIssued = true }
            return s.outcome != nil
        }
        if ended { Self.control.async { task.cancel() }; return }
        task.resume()
        schedule(after: min(idle, deadline))
    }

    /// Ends the exchange with `outcome` unless it has ended already, and cancels the URLSession
    /// task when `cancelTask` and it is safe.
    ///
    /// Cancelling is safe once the final response's head has arrived. Before that the task may
    /// be between a redirect and its delegate's answer, where a `cancel()` crashes
    /// swift-corelibs-foundation ("Received callback for HTTP redirection, but we're not
    /// waiting for it"); the cancel then waits for the next delegate event (a response head
    /// cancels, a redirect is not followed), or the task ends by itself (URLSession's own
    /// timeouts, set above ours).
    func finish(_ outcome: Result<HTTPResponse, any Error>, cancelTask: Bool = true) {
        let (c, task) = state.withLock { s -> (CheckedContinuation<HTTPResponse, any Error>?, URLSessionTask?) in
            guard s.outcome == nil else { return (nil, nil) }
            s.outcome = outcome
            defer { s.continuation = nil; s.body = [] }
            return (s.continuation, cancelTask ? Self.takeCancel(&s) : nil)
        }
        c?.resume(with: outcome)
        if let task { Self.control.async { task.cancel() } }
    }

    /// The task to cancel now when that is safe (the response head has arrived); otherwise
    /// notes that a cancel is wanted.
    private static func takeCancel(_ s: inout State) -> URLSessionTask? {
        guard !s.cancelIssued else { return nil }
        guard s.responseSeen, let task = s.task else { s.cancelPending = true; return nil }
        s.cancelIssued = true
        return task
    }

    /// Whether a redirect may be followed: not once the exchange has ended (the task then ends
    /// with the redirect response, without a cancel).
    func mayFollowRedirect() -> Bool {
        state.withLock { $0.outcome == nil }
    }

    /// Ends the exchange with `error`.
    func fail(_ error: HTTPTransportError) { finish(.failure(error)) }

    private func schedule(after delay: Duration) {
        let nanos = Int(min(max(URLSessionTransport.seconds(delay), 0.001), 1e6) * 1e9)
        Self.control.asyncAfter(deadline: .now() + .nanoseconds(nanos)) { [self] in check() }
    }

    /// The watchdog: fails the exchange past its deadline or its idle time, else waits again.
    private func check() {
        let now = ContinuousClock.now
        let (ended, last) = state.withLock { ($0.outcome != nil, $0.lastProgress) }
        if ended { return }
        if now - started >= deadline {
            fail(.timedOut("\(request.summary): no complete response within \(Self.text(deadline))"))
        } else if now - last >= idle {
            fail(.timedOut("\(request.summary): nothing received for \(Self.text(idle))"))
        } else {
            schedule(after: min(idle - (now - last), deadline - (now - started)))
        }
    }

    static func text(_ d: Duration) -> String {
        let s = URLSessionTransport.seconds(d)
        return s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    private func progress(_ s: inout State) { s.lastProgress = ContinuousClock.now }

    /// The response head: refused when content-encoded (a 2xx) or announced larger than the limit.
    func received(_ response: URLResponse) {
        guard let http = response as? HTTPURLResponse else {
            fail(.failed("\(request.summary): not an HTTP response (\(response.url?.absoluteString ?? "no URL"))"))
            return
        }
        let cancelNow = state.withLock { s -> URLSessionTask? in
            s.response = http
            s.responseSeen = true
            progress(&s)
            let expected = http.expectedContentLength
            if request.method != "HEAD", expected > 0, expected <= Int64(request.bodyLimit(status: http.statusCode) ?? Int.max) {
                s.body.reserveCapacity(Int(min(expected, 64 << 20)))  // a promise, not yet bytes: bounded
            }
            return s.cancelPending ? Self.takeCancel(&s) : nil
        }
        if let cancelNow {  // the exchange ended while the task could have been redirecting
            Self.control.async { cancelNow.cancel() }
            return
        }
        if (200..<300).contains(http.statusCode), let coding = ContentCoding.applied(headerValue(http, "content-encoding")) {
            fail(.failed("\(request.summary): the server sent a body with Content-Encoding: \(coding) although "
                + "'Accept-Encoding: identity' was asked for; its bytes and length are not the stored value's"))
            return
        }
        let limit = request.bodyLimit(status: http.statusCode)
        if let limit, request.method != "HEAD", http.expectedContentLength > Int64(limit) {
            fail(.tooLarge("\(request.summary): Content-Length \(http.expectedContentLength) is over the limit of \(limit) bytes"))
        }
    }

    func headerValue(_ http: HTTPURLResponse, _ name: String) -> String? {
        for (k, v) in http.allHeaderFields {
            if let key = k as? String, key.lowercased() == name { return v as? String }
        }
        return nil
    }

    /// Body bytes: appended, and refused once past the limit.
    func received(_ data: Data) {
        let over = state.withLock { s -> (Int, Int)? in
            guard s.outcome == nil else { return nil }
            progress(&s)
            s.body.append(contentsOf: data)
            let limit = request.bodyLimit(status: s.response?.statusCode ?? 200)
            if let limit, s.body.count > limit { return (s.body.count, limit) }
            return nil
        }
        if let (count, limit) = over {
            fail(.tooLarge("\(request.summary): the body passed the limit of \(limit) bytes (\(count) received)"))
        }
    }

    /// Upload progress.
    func sent() { state.withLock { progress(&$0) } }

    /// A redirect to a scheme other than http(s): refused.
    func refuseRedirect(to url: URL?, status: Int) {
        let message = "\(request.summary): redirect (\(HTTPResponse.statusLine(status))) to "
            + "'\(url?.absoluteString ?? "nothing")' refused: only http and https redirects are followed"
        finish(.failure(HTTPTransportError.failed(message)), cancelTask: false)
    }

    /// The end reported by URLSession.
    /// `response` is the task's own, for a response that never reached the delegate (a redirect
    /// that was not followed).
    func completed(_ error: (any Error)?, response: URLResponse?) {
        if let error {
            if let e = error as? URLError {
                finish(.failure(URLSessionTransport.map(e, request: request)), cancelTask: false)
            } else {
                finish(.failure(HTTPTransportError.connection("\(request.summary): \(error)")), cancelTask: false)
            }
            return
        }
        let result = state.withLock { s -> Result<HTTPResponse, any Error>? in
            guard s.outcome == nil else { return nil }
            guard let http = s.response ?? (response as? HTTPURLResponse) else {
                return .failure(HTTPTransportError.failed("\(request.summary): no HTTP response"))
            }
            var headers: [String: String] = [:]
            for (k, v) in http.allHeaderFields {
                if let name = k as? String, let value = v as? String { headers[name.lowercased()] = value }
            }
            return .success(HTTPResponse(status: http.statusCode, headers: headers, body: s.body))
        }
        if let result { finish(result, cancelTask: false) }
    }
}

/// The session delegate of a `URLSessionTransport`: routes each task's events to its exchange.
final class URLSessionTransportDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let exchanges = Mutex<[Int: HTTPExchange]>([:])

    func register(_ task: URLSessionTask, _ exchange: HTTPExchange) {
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
    }

    private func exchange(_ task: URLSessionTask) -> HTTPExchange? {
        exchanges.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        exchange(dataTask)?.received(response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        exchange(dataTask)?.received(data)
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64,
        totalBytesExpectedToSend: Int64
    ) {
        exchange(task)?.sent()
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        // The Location as the server sent it: swift-corelibs-foundation reads a URL without a host
        // (`file:///etc/passwd`) as a path on the same server, so the proposed request alone
        // does not show where the server pointed.
        var location: URL?
        for (k, v) in response.allHeaderFields where (k as? String)?.lowercased() == "location" {
            location = (v as? String).flatMap { URL(string: $0.trimmingCharacters(in: .whitespaces)) }
        }
        let schemes = [location?.scheme, request.url?.scheme].compactMap { $0?.lowercased() }
        // A refused redirect is not followed and the task ends with the redirect response; it is
        // not cancelled here (see `HTTPExchange.finish`).
        guard request.url != nil, schemes.allSatisfy({ $0 == "http" || $0 == "https" }) else {
            exchange(task)?.refuseRedirect(to: location ?? request.url, status: response.statusCode)
            completionHandler(nil)
            return
        }
        completionHandler(exchange(task)?.mayFollowRedirect() == false ? nil : request)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let e = exchanges.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        e?.completed(error, response: task.response)
    }
}

extension URLSessionTransport {
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
