import Synchronization

/// Counts the requests a store sends and the bytes it moves: HTTP requests for the remote
/// stores, file operations for `LocalStore` and entry reads for `ZipStore`.
///
/// Give one to a store (several stores may share one) and read
/// `snapshot` at any time. It is a reference type so that every copy of a store reports into the
/// same counters; the counters sit behind a `Mutex`, so it is safe to use from any task.
public final class StoreMetrics: Sendable {
    /// The counters at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Requests sent, retries included (every attempt counts).
        public var requests: Int = 0
        /// Requests by method (`GET`, `PUT`, `HEAD`, `DELETE`, `LIST`, ...), retries included.
        public var requestsByMethod: [String: Int] = [:]
        /// Response body bytes received.
        public var bytesReceived: Int = 0
        /// Request body bytes sent.
        public var bytesSent: Int = 0
        /// Attempts that were repeated after a retryable failure.
        public var retries: Int = 0
        /// Attempts that failed: a transport error or an HTTP status of 400 or more, except the
        /// 404 of a missing key and the 416 of a range that starts past the end.
        public var failures: Int = 0

        /// Zero counts.
        public init() {}
    }

    private let state = Mutex(Snapshot())

    /// New counters at zero.
    public init() {}

    /// The counters now.
    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Sets every counter back to zero.
    public func reset() { state.withLock { $0 = Snapshot() } }

    /// Records one request sent with `method` carrying `bytesSent` body bytes.
    public func recordRequest(method: String, bytesSent: Int) {
        state.withLock {
            $0.requests += 1
            $0.requestsByMethod[method, default: 0] += 1
            $0.bytesSent += bytesSent
        }
    }

    /// Records `count` response body bytes received.
    public func recordReceived(_ count: Int) {
        state.withLock { $0.bytesReceived += count }
    }

    /// Records a retry of a failed attempt.
    public func recordRetry() {
        state.withLock { $0.retries += 1 }
    }

    /// Records a failed attempt.
    public func recordFailure() {
        state.withLock { $0.failures += 1 }
    }
}
