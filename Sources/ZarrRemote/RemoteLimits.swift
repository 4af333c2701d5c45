import Foundation
import Zarr

/// Bounds in time and size that a remote store (`HTTPStore`, `S3Store`) holds every request
/// to, so that a hostile or broken server gives an error rather than a hang or a process that
/// runs out of memory.
///
/// The time limits are held by the transport's own timers (`URLSessionTransport`), per attempt;
/// `RetryPolicy` bounds the attempts. The size limits are checked while the body arrives: a
/// `Content-Length` over the limit is refused before the body is read, and a body that grows
/// past it is aborted.
public struct RemoteLimits: Sendable, Hashable {
    /// The longest wait for any progress on a request (response head, a byte of body).
    public var idleTimeout: Duration
    /// The longest one attempt of a request may take, from sending it to its last byte, however
    /// steadily the server trickles bytes.
    public var requestDeadline: Duration
    /// The most bytes of a metadata document (`zarr.json`, `.zarray`, `.zgroup`, `.zattrs`,
    /// `.zmetadata`) and of a server's reply to a listing or another request without a value.
    public var maxMetadataBytes: Int
    /// The most bytes of any other whole value, and of the whole value that a server which
    /// ignores `Range` sends in reply to a ranged read.
    public var maxObjectBytes: Int
    /// How many bytes a 206 reply may carry beyond the range asked for.
    public var rangeSlack: Int
    /// The most pages of one S3 listing (ListObjectsV2) before it is an error.
    public var maxListPages: Int

    /// Limits; the defaults are 60 s idle, 10 min per attempt, 256 MiB of metadata, 4 GiB per
    /// value, 64 KiB of slack on ranges and 100,000 listing pages.
    public init(
        idleTimeout: Duration = .seconds(60), requestDeadline: Duration = .seconds(600), maxMetadataBytes: Int = 256 << 20,
        maxObjectBytes: Int = 4 << 30, rangeSlack: Int = 64 << 10, maxListPages: Int = 100_000
    ) {
        self.idleTimeout = max(.milliseconds(1), idleTimeout)
        self.requestDeadline = max(.milliseconds(1), requestDeadline)
        self.maxMetadataBytes = max(0, maxMetadataBytes)
        self.maxObjectBytes = max(0, maxObjectBytes)
        self.rangeSlack = max(0, rangeSlack)
        self.maxListPages = max(1, maxListPages)
    }

    /// The default limits.
    public static var standard: RemoteLimits { RemoteLimits() }

    /// Whether `key` names a metadata document (its last segment is `zarr.json`, `.zarray`,
    /// `.zgroup`, `.zattrs` or `.zmetadata`).
    public static func isMetadataKey(_ key: String) -> Bool {
        let name = key.split(separator: "/").last.map(String.init) ?? key
        return ["zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"].contains(name)
    }

    /// The most bytes of the whole value at `key`.
    public func maxValueBytes(for key: String) -> Int {
        Self.isMetadataKey(key) ? maxMetadataBytes : maxObjectBytes
    }

    /// The body limits of a GET of `range` of `key`: the whole value (a 200, also from a server
    /// that ignores `Range`) and a 206 (the range and `rangeSlack` more).
    func bodyLimits(key: String, range: ByteRange) -> (whole: Int, partial: Int) {
        let whole = maxValueBytes(for: key)
        switch range {
        case .slice(_, let l), .suffix(let l):
            let (n, overflow) = max(l, 0).addingReportingOverflow(rangeSlack)
            return (whole, overflow ? whole : min(n, whole))
        case .all, .from:
            return (whole, whole)
        }
    }
}

/// The `Content-Encoding` of a response.
enum ContentCoding {
    /// The coding applied to a body, or `nil` for none (`identity` or no header).
    static func applied(_ value: String?) -> String? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty, v.lowercased() != "identity" else { return nil }
        return v
    }
}
