/// When and how often a remote store repeats a failed request.
///
/// A request is retried on connection errors, timeouts, HTTP 5xx and HTTP 429, and never on any
/// other 4xx status (a missing key, bad credentials or a bad request will not improve). The wait
/// before retry `n` (1-based) is drawn uniformly from `0...min(maxDelay, baseDelay · 2^(n-1))`
/// ("full jitter"), so many clients that failed together do not retry together. A request is
/// tried at most `maxAttempts` times in all, and no retry starts once `maxElapsed` has passed
/// since the first attempt, so a request loop is bounded in count and in time.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (at least 1).
    public var maxAttempts: Int
    /// The cap of the first backoff.
    public var baseDelay: Duration
    /// The largest backoff.
    public var maxDelay: Duration
    /// No retry starts once this much time has passed since the first attempt.
    public var maxElapsed: Duration

    /// A policy; the defaults try 5 times with backoffs capped at 0.1 s, 0.2 s, 0.4 s and 0.8 s.
    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5),
        maxElapsed: Duration = .seconds(60)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.maxElapsed = max(.zero, maxElapsed)
    }

    /// The default policy.
    public static var standard: RetryPolicy { RetryPolicy() }
    /// One attempt, no retries.
    public static var never: RetryPolicy { RetryPolicy(maxAttempts: 1) }

    /// Whether a response with HTTP `status` is worth retrying: 5xx and 429.
    public static func isRetryable(status: Int) -> Bool { status == 429 || (500...599).contains(status) }

    /// The largest backoff before retry `retry` (1 for the first retry), before jitter.
    public func backoffCap(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let cap = baseDelay * (1 << exponent)
        return cap > maxDelay ? maxDelay : cap
    }

    /// The wait before retry `retry` (1 for the first retry): uniform in `0...backoffCap`.
    public func delay<G: RandomNumberGenerator>(beforeRetry retry: Int, using generator: inout G) -> Duration {
        let cap = backoffCap(beforeRetry: retry)
        let (seconds, attoseconds) = cap.components
        let nanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// The wait before retry `retry`, drawn from the system's random source.
    public func delay(beforeRetry retry: Int) -> Duration {
        var g = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &g)
    }
}
