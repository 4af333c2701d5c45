import Crypto
import Foundation
import Zarr

/// AWS Signature Version 4 for requests to S3 and S3-compatible servers, with swift-crypto's
/// SHA-256 and HMAC-SHA256. It signs header-based requests (`Authorization` header), not
/// presigned URLs.
public struct SigV4Signer: Sendable, Hashable {
    /// The access key id.
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// A session token from temporary credentials, sent as `x-amz-security-token`.
    public var sessionToken: String?
    /// The region, such as `us-east-1`.
    public var region: String
    /// The service, `s3`.
    public var service: String

    /// A signer for these credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// The SHA-256 of the empty payload, in hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The SHA-256 of `bytes` in lower-case hex.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    /// The MD5 of `bytes` in base64, for a `Content-MD5` header.
    static func md5Base64(_ bytes: [UInt8]) -> String { Data(Insecure.MD5.hash(data: bytes)).base64EncodedString() }

    /// Signs a request: returns `headers` with `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token` (when there is a session token) and `Authorization` added.
    ///
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - host: the `Host` header value as the transport will send it (`host` or `host:port`).
    ///   - encodedPath: the URL path exactly as sent, already percent-encoded (`/bucket/a%20b`).
    ///   - query: the query parameters, not encoded (a parameter without a value has `""`).
    ///   - headers: the other header fields to sign (names any case).
    ///   - payloadHash: the hex SHA-256 of the body (`sha256Hex(body)`).
    ///   - date: the signing time, as seconds since 1970 (UTC).
    public func sign(
        method: String, host: String, encodedPath: String, query: [(String, String)], headers: [String: String],
        payloadHash: String, date: Int64
    ) -> [String: String] {
        let (amzDate, day) = Self.timestamps(date)
        var all: [String: String] = [:]
        for (k, v) in headers { all[k.lowercased()] = v }
        all["host"] = host
        all["x-amz-date"] = amzDate
        all["x-amz-content-sha256"] = payloadHash
        if let sessionToken { all["x-amz-security-token"] = sessionToken }
        let names = all.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(Self.trimHeaderValue(all[$0] ?? ""))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method, encodedPath.isEmpty ? "/" : encodedPath, Self.canonicalQuery(query), canonicalHeaders, signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.sha256Hex(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(day: day)))
        var out = all
        out.removeValue(forKey: "host")  // the transport sets Host from the URL
        out["authorization"] =
            "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return out
    }

    /// The key derived for `day` (`yyyyMMdd`).
    func signingKey(day: String) -> SymmetricKey {
        func mac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let kDate = mac(SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8)), day)
        return mac(mac(mac(kDate, region), service), "aws4_request")
    }

    /// The canonical query string: names and values percent-encoded, sorted by name then value.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (URLPercent.encode($0.0, keepSlash: false), URLPercent.encode($0.1, keepSlash: false)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// A header value with surrounding spaces removed and inner runs of spaces collapsed.
    static func trimHeaderValue(_ v: String) -> String {
        v.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// `(yyyyMMdd'T'HHmmss'Z', yyyyMMdd)` for `seconds` since 1970, UTC.
    static func timestamps(_ seconds: Int64) -> (String, String) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secs = seconds - days * 86400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let day = pad(y, 4) + pad(m, 2) + pad(d, 2)
        let time = pad(secs / 3600, 2) + pad(secs / 60 % 60, 2) + pad(secs % 60, 2)
        return (day + "T" + time + "Z", day)
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
