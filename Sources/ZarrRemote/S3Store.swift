import Foundation
import Synchronization
import Zarr

/// A store in an S3 bucket (AWS or any S3-compatible server), read, write and list.
///
/// Keys map to objects `prefix + key`. Requests are signed with SigV4 (`SigV4Signer`) unless
/// the configuration has no credentials. Reads use ranged GETs (suffix ranges for shard
/// indexes); `exists` is a HEAD; listing is ListObjectsV2 with pagination, with `/` as
/// delimiter for `listDirectory`; values of `multipartThreshold` bytes or more are uploaded in
/// parts, and an upload that fails is aborted, so no partial object appears. `deletePrefix`
/// lists and deletes in batches of 1,000.
///
/// At most `maxConcurrentRequests` requests are in flight; failed requests are retried as the
/// `RetryPolicy` says (connection errors, timeouts, 5xx and 429 only). Errors are `ZarrError`s:
/// `.io(key:reason:)` names the HTTP status and S3's error code, e.g. `HTTP 403 Forbidden
/// (SignatureDoesNotMatch: ...)`; a 401/403 reason starts with `authentication failed`; a
/// bucket that does not exist is reported as such (`the bucket 'b' does not exist ...`), never
/// as a missing key.
public final class S3Store: WritableStore, ListableStore, MultiRangeReadableStore {
    /// The configuration.
    public let configuration: S3Configuration
    /// The metrics the store reports into, if any.
    public let metrics: StoreMetrics?
    let client: RemoteClient
    let origin: String  // scheme://host[:port]
    let host: String  // the Host header as sent
    let bucketPath: String  // the endpoint's own path, then "/bucket" for path-style; no trailing '/'
    /// Whether the bucket is known to exist (or could not be checked): a HEAD that answers 404
    /// has no body to tell a missing object from a missing bucket, so the first one checks the
    /// bucket once.
    let bucketChecked = Mutex(false)

    /// A store for `configuration`, sending requests through `transport` (by default a
    /// `URLSessionTransport` with the timeouts of the configuration's `limits`).
    public init(configuration: S3Configuration, transport: (any HTTPTransport)? = nil, metrics: StoreMetrics? = nil) throws(ZarrError) {
        let c = configuration
        guard !c.bucket.isEmpty, !c.bucket.contains("/") else { throw .invalidKey(c.bucket, reason: "not a bucket name") }
        if !c.prefix.isEmpty { try StoreKey.validatePrefix(c.prefix) }
        let endpoint = c.endpoint ?? URL(string: "https://s3.\(c.region).amazonaws.com")
        guard let endpoint, let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let endpointHost = endpoint.host, !endpointHost.isEmpty
        else { throw .invalidKey(c.endpoint?.absoluteString ?? c.region, reason: "not a usable S3 endpoint") }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = endpoint.port.flatMap { $0 == defaultPort ? nil : $0 }
        let hostName = c.usesPathStyle ? endpointHost : c.bucket + "." + endpointHost
        let hostWithPort = port.map { "\(hostName):\($0)" } ?? hostName
        var path = endpoint.path
        while path.hasSuffix("/") { path.removeLast() }
        self.configuration = c
        self.metrics = metrics
        self.host = hostWithPort
        self.origin = "\(scheme)://\(hostWithPort)"
        self.bucketPath = path + (c.usesPathStyle ? "/" + URLPercent.encode(c.bucket, keepSlash: false) : "")
        let limits = c.limits
        self.client = RemoteClient(
            transport: transport
                ?? URLSessionTransport(
                    timeout: limits.idleTimeout, deadline: limits.requestDeadline,
                    maxBodyBytes: max(limits.maxObjectBytes, limits.maxMetadataBytes)),
            maxConcurrentRequests: c.maxConcurrentRequests, retry: c.retry, limits: limits, metrics: metrics)
    }

    /// `s3://bucket/prefix`.
    public var storeDescription: String { "s3://\(configuration.bucket)/\(configuration.prefix)" }

    // MARK: Requests

    /// The URL path (encoded) of an object key, or of the bucket for `nil`.
    func encodedPath(objectKey: String?) -> String {
        guard let objectKey else { return bucketPath.isEmpty ? "/" : bucketPath }
        return bucketPath + "/" + URLPercent.encode(objectKey, keepSlash: true)
    }

    /// Builds and signs a request. `query` values are raw; they are encoded here.
    func makeRequest(
        _ method: String, objectKey: String?, query: [(String, String)] = [], headers: [String: String] = [:],
        body: [UInt8] = []
    ) throws -> HTTPRequest {
        let path = encodedPath(objectKey: objectKey)
        let queryText = query.isEmpty ? "" : "?" + SigV4Signer.canonicalQuery(query)
        guard let url = URL(string: origin + path + queryText) else {
            throw ZarrError.invalidKey(objectKey ?? configuration.bucket, reason: "cannot form a URL")
        }
        var h = headers
        if let signer = configuration.signer {
            let hash = body.isEmpty ? SigV4Signer.emptyPayloadHash : SigV4Signer.sha256Hex(body)
            let now = Int64(Date().timeIntervalSince1970)
            h = signer.sign(method: method, host: host, encodedPath: path, query: query, headers: headers,
                            payloadHash: hash, date: now)
        }
        return HTTPRequest(method: method, url: url, headers: h, body: body)
    }

    /// Sends a request (retrying as configured) and returns the response, whatever its status.
    /// Its body may have `maxBody` bytes (`maxPartialBody` for a 206); by default the metadata
    /// limit, which bounds S3's XML replies.
    func send(
        _ method: String, key: String, objectKey: String?, query: [(String, String)] = [], headers: [String: String] = [:],
        body: [UInt8] = [], maxBody: Int? = nil, maxPartialBody: Int? = nil
    ) async throws -> HTTPResponse {
        try await client.send(key: key, maxBody: maxBody, maxPartialBody: maxPartialBody) {
            try makeRequest(method, objectKey: objectKey, query: query, headers: headers, body: body)
        }
    }

    /// The error for an unexpected response: the status, S3's error code and message.
    func failure(_ response: HTTPResponse, method: String, key: String) -> ZarrError {
        if Self.isNoSuchBucket(response) { return noSuchBucket(method: method, key: key) }
        var detail = ""
        if let doc = S3XML.parse(response.body), doc.name == "Error" {
            let code = doc.value("Code") ?? ""
            let message = doc.value("Message") ?? ""
            detail = " (" + [code, message].filter { !$0.isEmpty }.joined(separator: ": ") + ")"
            if detail == " ()" { detail = "" }
        }
        let auth = response.status == 401 || response.status == 403 ? "authentication failed: " : ""
        return .io(key: key, reason: "\(auth)\(response.statusLine)\(detail) from \(method) \(storeDescription)\(key)")
    }

    func objectKey(_ key: String) -> String { configuration.prefix + key }

    /// Whether a response is S3's "no such bucket" (404 with the code `NoSuchBucket`).
    static func isNoSuchBucket(_ response: HTTPResponse) -> Bool {
        guard response.status == 404, let doc = S3XML.parse(response.body), doc.name == "Error" else { return false }
        return doc.value("Code") == "NoSuchBucket"
    }

    /// The error for a bucket that does not exist: it names the bucket and the endpoint, so
    /// that it is not mistaken for a missing key.
    func noSuchBucket(method: String, key: String) -> ZarrError {
        .io(key: key, reason: "the bucket '\(configuration.bucket)' does not exist at \(origin) "
            + "(HTTP 404 NoSuchBucket from \(method) \(storeDescription)\(key))")
    }

    /// After a 404 without a body (a HEAD): checks once per store, with a HEAD on the bucket,
    /// that the bucket exists; throws `noSuchBucket` when it does not. Any other answer (a
    /// credential that may not read the bucket itself, say) leaves the 404 as "no such key".
    func confirmBucket(method: String, key: String) async throws {
        if bucketChecked.withLock({ $0 }) { return }
        let response = try await send("HEAD", key: key, objectKey: nil)
        if response.status == 404 { throw noSuchBucket(method: method, key: key) }
        bucketChecked.withLock { $0 = true }
    }

    // MARK: ReadableStore

    /// The whole value at `key`, or `nil` if there is no such object.
    public func get(_ key: String) async throws -> [UInt8]? {
        try await get(key, range: .all)
    }

    /// Part of the value at `key` (a ranged GET), or `nil` if there is no such object.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        try StoreKey.validate(key)
        if range.isEmptyRange { return try await exists(key) ? [] : nil }
        var headers: [String: String] = [:]
        if let r = range.httpHeader { headers["range"] = r }
        let (whole, partial) = configuration.limits.bodyLimits(key: key, range: range)
        let response = try await send(
            "GET", key: key, objectKey: objectKey(key), headers: headers, maxBody: whole, maxPartialBody: partial)
        if response.status == 404 {
            if Self.isNoSuchBucket(response) { throw noSuchBucket(method: "GET", key: key) }
            bucketChecked.withLock { $0 = true }
            return nil
        }
        if response.status == 416 { return try await exists(key) ? [] : nil }
        guard let bytes = range.extract(from: response) else {
            throw failure(response, method: "GET", key: key)
        }
        return bytes
    }

    /// Whether an object exists at `key` (a HEAD).
    public func exists(_ key: String) async throws -> Bool {
        try await size(of: key) != nil
    }

    /// The size of the object at `key` (a HEAD's `Content-Length`), or `nil` if there is none.
    /// Throws `unsupportedOperation` when the server sends no length (as `HTTPStore` does), and
    /// an error naming the bucket when the bucket does not exist.
    public func size(of key: String) async throws -> Int? {
        try StoreKey.validate(key)
        let response = try await send("HEAD", key: key, objectKey: objectKey(key))
        switch response.status {
        case 200..<300:
            guard let text = response.header("content-length"), let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ZarrError.unsupportedOperation("\(storeDescription)\(key): the server sent no Content-Length")
            }
            return n
        case 404:
            if Self.isNoSuchBucket(response) { throw noSuchBucket(method: "HEAD", key: key) }
            try await confirmBucket(method: "HEAD", key: key)
            return nil
        default: throw failure(response, method: "HEAD", key: key)
        }
    }

    /// The parts `ranges` of `key`, nearby ranges merged into one request as `coalescing` says.
    public func get(_ key: String, ranges: [ByteRange]) async throws -> [[UInt8]]? {
        try StoreKey.validate(key)
        return try await configuration.coalescing.read(key, ranges: ranges, limit: configuration.maxConcurrentRequests) {
            [self] r in try await self.get(key, range: r)
        }
    }

    // MARK: WritableStore

    /// Stores `value` at `key`: one PUT, or a multipart upload from `multipartThreshold` bytes.
    /// S3 makes an object visible only once it is complete, so readers never see a mix.
    public func set(_ key: String, _ value: [UInt8]) async throws {
        try StoreKey.validate(key)
        if value.count >= configuration.multipartThreshold && value.count > configuration.partSize {
            try await multipartUpload(key, value)
            return
        }
        let response = try await send(
            "PUT", key: key, objectKey: objectKey(key), headers: ["content-type": "application/octet-stream"], body: value)
        guard (200..<300).contains(response.status) else { throw failure(response, method: "PUT", key: key) }
    }

    /// Uploads `value` in parts of `partSize` bytes, several at once; aborts the upload if any
    /// step fails, so that no object and no stray parts remain.
    func multipartUpload(_ key: String, _ value: [UInt8]) async throws {
        let object = objectKey(key)
        // CreateMultipartUpload runs in a task of its own: were it cancelled in flight, the server
        // could hold an upload whose id we never learn and so could not abort. Cancellation is
        // seen right after it, by the parts, and the upload is then aborted.
        let initiated = try await Task { [self] in
            try await self.send(
                "POST", key: key, objectKey: object, query: [("uploads", "")], headers: ["content-type": "application/octet-stream"])
        }.value
        guard (200..<300).contains(initiated.status) else { throw failure(initiated, method: "POST ?uploads", key: key) }
        guard let doc = S3XML.parse(initiated.body), let uploadID = doc.value("UploadId"), !uploadID.isEmpty else {
            throw ZarrError.io(key: key, reason: "the server's reply to CreateMultipartUpload has no UploadId")
        }
        do {
            let size = Self.partSize(for: value.count, preferred: configuration.partSize)
            let parts = Array(stride(from: 0, to: value.count, by: size).enumerated())
            let etags = try await Parallel.map(parts, limit: configuration.maxConcurrentRequests) {
                [self] (item: (offset: Int, element: Int)) -> String in
                let number = item.offset + 1
                let start = item.element
                let body = Array(value[start..<min(start + size, value.count)])
                let response = try await self.send(
                    "PUT", key: key, objectKey: object, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body)
                guard (200..<300).contains(response.status) else {
                    throw self.failure(response, method: "PUT part \(number)", key: key)
                }
                guard let etag = response.header("etag") else {
                    throw ZarrError.io(key: key, reason: "part \(number) was uploaded but the server sent no ETag")
                }
                return etag
            }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (i, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(S3XML.escape(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let completed = try await send(
                "POST", key: key, objectKey: object, query: [("uploadId", uploadID)],
                headers: ["content-type": "application/xml"], body: Array(xml.utf8))
            // S3 may answer 200 and still report an error in the body.
            let reply = S3XML.parse(completed.body)
            guard (200..<300).contains(completed.status), reply?.name != "Error" else {
                throw failure(completed, method: "POST ?uploadId (complete)", key: key)
            }
        } catch {
            await abortMultipartUpload(key: key, objectKey: object, uploadID: uploadID)
            throw error
        }
    }

    /// S3 allows at most 10,000 parts: the preferred part size, grown as needed so that
    /// `count` bytes fit.
    static func partSize(for count: Int, preferred: Int) -> Int {
        max(preferred, (count + 9_999) / 10_000)
    }

    /// Aborts a multipart upload, ignoring failures (the upload is being abandoned anyway). The
    /// request runs in a task of its own, so that it is still sent when the upload failed
    /// because its task was cancelled (a cancelled task's requests are refused).
    func abortMultipartUpload(key: String, objectKey: String, uploadID: String) async {
        let abort = Task { [self] in
            _ = try? await self.send("DELETE", key: key, objectKey: objectKey, query: [("uploadId", uploadID)])
        }
        await abort.value
    }

    /// Removes the object at `key`; a missing object is not an error (a missing bucket is).
    public func delete(_ key: String) async throws {
        try StoreKey.validate(key)
        let response = try await send("DELETE", key: key, objectKey: objectKey(key))
        guard (200..<300).contains(response.status) || (response.status == 404 && !Self.isNoSuchBucket(response)) else {
            throw failure(response, method: "DELETE", key: key)
        }
    }

    /// Removes every object under `prefix`, 1,000 keys per DeleteObjects request.
    public func deletePrefix(_ prefix: String) async throws {
        try StoreKey.validatePrefix(prefix)
        let keys = try await list(prefix: prefix)
        var batches: [[String]] = []
        var i = 0
        while i < keys.count {
            batches.append(Array(keys[i..<min(i + 1000, keys.count)]))
            i += 1000
        }
        _ = try await Parallel.map(batches, limit: configuration.maxConcurrentRequests) { [self] batch in
            try await self.deleteObjects(batch, prefix: prefix)
            return 0
        }
    }

    /// One DeleteObjects request for up to 1,000 keys; throws if the server reports any key
    /// that it could not delete.
    func deleteObjects(_ keys: [String], prefix: String) async throws {
        var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for k in keys { xml += "<Object><Key>\(S3XML.escape(objectKey(k)))</Key></Object>" }
        xml += "</Delete>"
        let body = Array(xml.utf8)
        let response = try await send(
            "POST", key: prefix, objectKey: nil, query: [("delete", "")],
            headers: ["content-type": "application/xml", "content-md5": SigV4Signer.md5Base64(body)], body: body)
        guard (200..<300).contains(response.status) else { throw failure(response, method: "POST ?delete", key: prefix) }
        if let doc = S3XML.parse(response.body) {
            if doc.name == "Error" { throw failure(response, method: "POST ?delete", key: prefix) }
            if let e = doc.all("Error").first {
                let k = e.value("Key") ?? prefix
                throw ZarrError.io(key: k, reason: "delete failed: \(e.value("Code") ?? "") \(e.value("Message") ?? "")")
            }
        }
    }

    // MARK: ListableStore

    /// Every key under `prefix` (`""` for all), at any depth, sorted. Follows ListObjectsV2
    /// continuation tokens page by page.
    public func list(prefix: String) async throws -> [String] {
        try StoreKey.validatePrefix(prefix)
        let (keys, _) = try await listObjects(prefix: prefix, delimiter: nil)
        return keys.sorted()
    }

    /// The keys and child prefixes directly under `prefix` (ListObjectsV2 with delimiter `/`).
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        try StoreKey.validatePrefix(prefix)
        let (keys, prefixes) = try await listObjects(prefix: prefix, delimiter: "/")
        let names = prefixes.compactMap { p -> String? in
            guard p.hasPrefix(prefix), p.hasSuffix("/") else { return nil }
            let name = String(p.dropFirst(prefix.count).dropLast())
            return name.isEmpty ? nil : name
        }
        return StoreListing(keys: keys.sorted(), prefixes: Array(Set(names)).sorted())
    }

    /// All pages of a listing: store keys (prefix stripped) and common prefixes (store-relative).
    /// A continuation token seen before (a server going round in circles) and a listing longer
    /// than `limits.maxListPages` pages are errors naming the bucket and prefix.
    func listObjects(prefix: String, delimiter: String?) async throws -> (keys: [String], prefixes: [String]) {
        let root = configuration.prefix
        var keys: [String] = []
        var prefixes: [String] = []
        var token: String?
        var seenTokens: Set<String> = []
        var pages = 0
        let maxPages = configuration.limits.maxListPages
        let listing = "the listing of s3://\(configuration.bucket)/\(root + prefix)"
        repeat {
            pages += 1
            var query: [(String, String)] = [("list-type", "2"), ("prefix", root + prefix), ("max-keys", String(configuration.listPageSize))]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("GET", key: prefix, objectKey: nil, query: query)
            guard response.status == 200 else { throw failure(response, method: "GET ?list-type=2", key: prefix) }
            guard let doc = S3XML.parse(response.body), doc.name == "ListBucketResult" else {
                throw ZarrError.io(key: prefix, reason: "the server's ListObjectsV2 reply is not a ListBucketResult")
            }
            for c in doc.all("Contents") {
                guard let k = c.value("Key"), k.hasPrefix(root) else { continue }
                let rel = String(k.dropFirst(root.count))
                if !rel.isEmpty && !rel.hasSuffix("/") { keys.append(rel) }
            }
            for p in doc.all("CommonPrefixes") {
                guard let k = p.value("Prefix"), k.hasPrefix(root) else { continue }
                prefixes.append(String(k.dropFirst(root.count)))
            }
            let truncated = doc.value("IsTruncated")?.lowercased() == "true"
            let next = doc.value("NextContinuationToken")
            if truncated {
                guard let next, !next.isEmpty else {
                    throw ZarrError.io(key: prefix, reason: "\(listing) is truncated but has no continuation token (page \(pages))")
                }
                guard seenTokens.insert(next).inserted else {
                    throw ZarrError.io(key: prefix, reason: "\(listing) goes round in circles: page \(pages) gives the "
                        + "continuation token '\(next)' that an earlier page gave")
                }
                if pages >= maxPages {
                    throw ZarrError.io(key: prefix, reason: "\(listing) did not end after \(pages) pages (the limit)")
                }
                token = next
            } else {
                token = nil
            }
        } while token != nil
        return (keys, prefixes)
    }

    // MARK: Buckets

    /// Creates the bucket (a PUT on the bucket). An existing bucket that this account owns is
    /// not an error.
    public func createBucket() async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                + S3XML.escape(configuration.region) + "</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        let response = try await send("PUT", key: configuration.bucket, objectKey: nil, body: body)
        if (200..<300).contains(response.status) { return }
        if response.status == 409, let doc = S3XML.parse(response.body), doc.value("Code") == "BucketAlreadyOwnedByYou" { return }
        throw failure(response, method: "PUT bucket", key: "")
    }
}

extension S3Store: RemoteStore {}
