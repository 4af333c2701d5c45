import Foundation
import Zarr

/// Everything an `S3Store` needs: where the objects live, how to sign, and how to behave.
///
/// A plain value: build one explicitly, or read the usual `AWS_*` variables with
/// `fromEnvironment(...)`. Nothing reads the environment behind your back.
public struct S3Configuration: Sendable, Hashable {
    /// How the bucket appears in request URLs.
    public enum AddressingStyle: String, Sendable, Hashable {
        /// `https://endpoint/bucket/key`: works with any endpoint and any bucket name.
        case path
        /// `https://bucket.endpoint/key`: AWS's default for DNS-compatible bucket names.
        case virtualHosted
        /// Path-style when a custom endpoint is set or the bucket name is not a DNS label
        /// (dots, capitals, underscores), virtual-hosted otherwise.
        case automatic
    }

    /// The bucket.
    public var bucket: String
    /// The key prefix inside the bucket under which the store lives: `""` or `a/b/` (a missing
    /// trailing `/` is added).
    public var prefix: String {
        didSet { prefix = Self.normalizePrefix(prefix) }
    }
    /// The region used in signatures and in the default AWS endpoint.
    public var region: String
    /// The access key id; with `secretAccessKey` nil, requests are sent unsigned (public buckets).
    public var accessKeyID: String?
    /// The secret access key.
    public var secretAccessKey: String?
    /// A session token from temporary credentials.
    public var sessionToken: String?
    /// A custom endpoint such as `http://127.0.0.1:8333` (MinIO, SeaweedFS, R2, ...); `nil` for
    /// AWS (`https://s3.<region>.amazonaws.com`).
    public var endpoint: URL?
    /// How the bucket appears in URLs.
    public var addressingStyle: AddressingStyle
    /// Values of at least this many bytes are uploaded in parts (multipart upload).
    public var multipartThreshold: Int
    /// The size of each part but the last; at least 5 MiB, as S3 requires.
    public var partSize: Int
    /// Requests in flight at once for this store.
    public var maxConcurrentRequests: Int
    /// Retries on connection errors, timeouts, 5xx and 429.
    public var retry: RetryPolicy
    /// Time and size limits of every request, and the most pages of a listing.
    public var limits: RemoteLimits
    /// The longest wait for progress on one request (`limits.idleTimeout`).
    public var requestTimeout: Duration {
        get { limits.idleTimeout }
        set { limits.idleTimeout = max(.milliseconds(1), newValue) }
    }
    /// Keys asked for in one ListObjectsV2 page (1...1000).
    public var listPageSize: Int
    /// How `get(_:ranges:)` merges nearby ranges.
    public var coalescing: RangeCoalescing

    /// The smallest part S3 accepts (except for the last part).
    public static let minimumPartSize = 5 << 20

    /// A configuration; credentials, endpoint and the rest are explicit values. A
    /// `requestTimeout` replaces the idle timeout of `limits`.
    public init(
        bucket: String, prefix: String = "", region: String = "us-east-1",
        accessKeyID: String? = nil, secretAccessKey: String? = nil, sessionToken: String? = nil,
        endpoint: URL? = nil, addressingStyle: AddressingStyle = .automatic,
        multipartThreshold: Int = 16 << 20, partSize: Int = 16 << 20, maxConcurrentRequests: Int = 16,
        retry: RetryPolicy = .standard, requestTimeout: Duration? = nil, listPageSize: Int = 1000,
        coalescing: RangeCoalescing = RangeCoalescing(), limits: RemoteLimits = .standard
    ) {
        self.bucket = bucket
        self.prefix = Self.normalizePrefix(prefix)
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.endpoint = endpoint
        self.addressingStyle = addressingStyle
        self.multipartThreshold = max(1, multipartThreshold)
        self.partSize = max(Self.minimumPartSize, partSize)
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
        self.retry = retry
        self.limits = limits
        if let requestTimeout { self.limits.idleTimeout = max(.milliseconds(1), requestTimeout) }
        self.listPageSize = min(1000, max(1, listPageSize))
        self.coalescing = coalescing
    }

    /// A configuration from the usual variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`) and
    /// `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`). With an endpoint set, addressing is
    /// path-style. `environment` defaults to the process environment.
    public static func fromEnvironment(
        bucket: String, prefix: String = "", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ZarrError) -> S3Configuration {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        var endpoint: URL?
        if let text = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL") {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  url.host != nil
            else { throw .invalidKey(text, reason: "AWS_ENDPOINT_URL is not an http(s) URL") }
            endpoint = url
        }
        return S3Configuration(
            bucket: bucket, prefix: prefix, region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1",
            accessKeyID: value("AWS_ACCESS_KEY_ID"), secretAccessKey: value("AWS_SECRET_ACCESS_KEY"),
            sessionToken: value("AWS_SESSION_TOKEN"), endpoint: endpoint,
            addressingStyle: endpoint == nil ? .automatic : .path)
    }

    /// A configuration for an `s3://bucket/prefix` URL, the rest from the environment.
    public static func fromEnvironment(
        url: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ZarrError) -> S3Configuration {
        let (bucket, prefix) = try parseURL(url)
        return try fromEnvironment(bucket: bucket, prefix: prefix, environment: environment)
    }

    /// The bucket and prefix of an `s3://bucket/prefix` URL.
    public static func parseURL(_ url: String) throws(ZarrError) -> (bucket: String, prefix: String) {
        guard url.lowercased().hasPrefix("s3://") else { throw .invalidKey(url, reason: "not an s3:// URL") }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else { throw .invalidKey(url, reason: "no bucket in the s3:// URL") }
        let prefix = String(rest.dropFirst(bucket.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !prefix.isEmpty { try StoreKey.validate(prefix) }
        return (bucket, prefix)
    }

    static func normalizePrefix(_ p: String) -> String {
        var s = Substring(p)
        while s.hasPrefix("/") { s = s.dropFirst() }
        while s.hasSuffix("/") { s = s.dropLast() }
        return s.isEmpty ? "" : s + "/"
    }

    /// Whether requests use path-style URLs.
    public var usesPathStyle: Bool {
        switch addressingStyle {
        case .path: return true
        case .virtualHosted: return false
        case .automatic: return endpoint != nil || !Self.isDNSCompatible(bucket)
        }
    }

    /// Whether `bucket` can be a host name label: 3-63 lower-case letters, digits and hyphens.
    static func isDNSCompatible(_ bucket: String) -> Bool {
        guard (3...63).contains(bucket.utf8.count), bucket.first != "-", bucket.last != "-" else { return false }
        return bucket.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// The signer, or `nil` for unsigned requests.
    var signer: SigV4Signer? {
        guard let accessKeyID, let secretAccessKey else { return nil }
        return SigV4Signer(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken, region: region)
    }
}
