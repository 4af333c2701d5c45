import Foundation
import Testing
@testable import Zarr
@testable import ZarrRemote

/// The parts of the remote stores that need no server: SigV4 against AWS's published examples,
/// range planning, the XML reader, configuration and retry rules.
@Suite struct RemoteUnitTests {
    static let exampleSigner = SigV4Signer(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    static let exampleDate: Int64 = 1_369_353_600  // 2013-05-24T00:00:00Z

    @Test func sigV4MatchesAWSGetObjectExample() {
        #expect(SigV4Signer.timestamps(Self.exampleDate) == ("20130524T000000Z", "20130524"))
        let h = Self.exampleSigner.sign(
            method: "GET", host: "examplebucket.s3.amazonaws.com", encodedPath: "/test.txt", query: [],
            headers: ["Range": "bytes=0-9"], payloadHash: SigV4Signer.emptyPayloadHash, date: Self.exampleDate)
        #expect(h["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(h["x-amz-date"] == "20130524T000000Z")
        #expect(h["host"] == nil)
    }

    @Test func sigV4MatchesAWSListObjectsExample() {
        let h = Self.exampleSigner.sign(
            method: "GET", host: "examplebucket.s3.amazonaws.com", encodedPath: "/", query: [("max-keys", "2"), ("prefix", "J")],
            headers: [:], payloadHash: SigV4Signer.emptyPayloadHash, date: Self.exampleDate)
        #expect(h["authorization"]?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true,
                "\(h["authorization"] ?? "")")
    }

    @Test func multipartPartsStayWithinS3sTenThousandLimit() {
        let preferred = 16 << 20
        #expect(S3Store.partSize(for: 100 << 20, preferred: preferred) == preferred)
        #expect(S3Store.partSize(for: 10_000 * preferred, preferred: preferred) == preferred)
        for count in [10_000 * preferred + 1, 200 << 30, 5 << 40] {
            let size = S3Store.partSize(for: count, preferred: preferred)
            #expect((count + size - 1) / size <= 10_000, "\(count) bytes in parts of \(size)")
        }
    }

    @Test func timestampsAcrossLeapYearsAndCenturies() {
        #expect(SigV4Signer.timestamps(0).0 == "19700101T000000Z")
        #expect(SigV4Signer.timestamps(951_782_400).0 == "20000229T000000Z")
        #expect(SigV4Signer.timestamps(4_102_444_799).0 == "20991231T235959Z")
        #expect(SigV4Signer.timestamps(4_107_542_400).0 == "21000301T000000Z")
        #expect(SigV4Signer.canonicalQuery([("b", "x y"), ("a", "1/2+3"), ("uploads", "")]) == "a=1%2F2%2B3&b=x%20y&uploads=")
    }

    @Test func rangePlansMergeAdjacentSlicesOnly() {
        let plan = RangeCoalescing().plan([
            .slice(offset: 10, length: 5), .slice(offset: 0, length: 10), .suffix(length: 4), .slice(offset: 100, length: 1),
            .slice(offset: 12, length: 2),
        ])
        #expect(plan.requests == [.suffix(length: 4), .slice(offset: 0, length: 15), .slice(offset: 100, length: 1)])
        #expect(plan.pieces.map(\.request) == [1, 1, 0, 2, 1])
        #expect(plan.pieces.map(\.offset) == [10, 0, nil, 0, 12])
        let gap = RangeCoalescing(maxGap: 100).plan([.slice(offset: 0, length: 10), .slice(offset: 100, length: 1)])
        #expect(gap.requests == [.slice(offset: 0, length: 101)])
        let none = RangeCoalescing.none.plan([.slice(offset: 0, length: 10), .slice(offset: 10, length: 10)])
        #expect(none.requests.count == 2)
    }

    @Test func rangeExtractionHandlesIgnoredAndPartialResponses() {
        let whole = HTTPResponse(status: 200, body: Array(0..<100))
        #expect(ByteRange.slice(offset: 10, length: 3).extract(from: whole) == [10, 11, 12])
        #expect(ByteRange.suffix(length: 2).extract(from: whole) == [98, 99])
        #expect(ByteRange.from(offset: 99).extract(from: whole) == [99])
        #expect(ByteRange.slice(offset: 200, length: 3).extract(from: whole) == [])
        let partial = HTTPResponse(status: 206, headers: ["Content-Range": "bytes 10-12/100"], body: [10, 11, 12])
        #expect(ByteRange.slice(offset: 10, length: 3).extract(from: partial) == [10, 11, 12])
        #expect(ByteRange.slice(offset: 11, length: 3).extract(from: partial) == [11, 12])
        #expect(ByteRange.slice(offset: 9, length: 3).extract(from: partial) == nil)
        #expect(ByteRange.slice(offset: 500, length: 3).extract(from: HTTPResponse(status: 416)) == [])
        #expect(ByteRange.slice(offset: 0, length: 3).extract(from: HTTPResponse(status: 403)) == nil)
        #expect(ByteRange.slice(offset: 5, length: 10).httpHeader == "bytes=5-14")
        #expect(ByteRange.suffix(length: 8).httpHeader == "bytes=-8")
        #expect(ByteRange.from(offset: 7).httpHeader == "bytes=7-")
    }

    @Test func xmlReaderHandlesS3Documents() throws {
        let doc = try #require(S3XML.parse(Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
            <Contents><Key>a&amp;b &lt;c&gt; &#x263A;</Key><Size>3</Size></Contents>
            <Contents><Key><![CDATA[x&y]]></Key></Contents><Empty/>
            <IsTruncated>true</IsTruncated><NextContinuationToken>t/+=</NextContinuationToken></ListBucketResult>
            """.utf8)))
        #expect(doc.name == "ListBucketResult")
        #expect(doc.all("Contents").compactMap { $0.value("Key") } == ["a&b <c> ☺", "x&y"])
        #expect(doc.value("IsTruncated") == "true")
        #expect(doc.value("NextContinuationToken") == "t/+=")
        #expect(S3XML.parse(Array("<a><b></a".utf8)) == nil)
        #expect(S3XML.parse([]) == nil)
    }

    @Test func configurationFromEnvironment() throws {
        let env = [
            "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "TOK", "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        ]
        let c = try S3Configuration.fromEnvironment(url: "s3://my-bucket/some/prefix/", environment: env)
        #expect(c.bucket == "my-bucket" && c.prefix == "some/prefix/")
        #expect(c.accessKeyID == "AK" && c.secretAccessKey == "SK" && c.sessionToken == "TOK" && c.region == "eu-west-1")
        #expect(c.endpoint?.absoluteString == "http://127.0.0.1:9000" && c.usesPathStyle)
        let aws = try S3Configuration.fromEnvironment(bucket: "my-bucket", environment: ["AWS_REGION": "us-west-2"])
        #expect(!aws.usesPathStyle && aws.region == "us-west-2" && aws.accessKeyID == nil)
        #expect(S3Configuration(bucket: "My_Bucket").usesPathStyle)
        #expect(throws: ZarrError.self) { try S3Configuration.fromEnvironment(url: "s3:///x", environment: [:]) }
        #expect(throws: ZarrError.self) { try S3Configuration.fromEnvironment(url: "s3://b/../x", environment: [:]) }
        let store = try S3Store(configuration: aws)
        #expect(store.origin == "https://my-bucket.s3.us-west-2.amazonaws.com")
        #expect(store.encodedPath(objectKey: "a b/ü") == "/a%20b/%C3%BC")
        let pathStyle = try S3Store(configuration: c)
        #expect(pathStyle.origin == "http://127.0.0.1:9000" && pathStyle.host == "127.0.0.1:9000")
        #expect(pathStyle.encodedPath(objectKey: "some/prefix/k") == "/my-bucket/some/prefix/k")
    }

    @Test func retryRulesAndBackoff() {
        #expect(RetryPolicy.isRetryable(status: 503) && RetryPolicy.isRetryable(status: 500) && RetryPolicy.isRetryable(status: 429))
        for s in [400, 401, 403, 404, 409, 416] { #expect(!RetryPolicy.isRetryable(status: s)) }
        let p = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300))
        #expect(p.backoffCap(beforeRetry: 1) == .milliseconds(100))
        #expect(p.backoffCap(beforeRetry: 2) == .milliseconds(200))
        #expect(p.backoffCap(beforeRetry: 3) == .milliseconds(300))
        #expect(p.backoffCap(beforeRetry: 40) == .milliseconds(300))
        for n in 1...10 {
            let d = p.delay(beforeRetry: n)
            #expect(d >= .zero && d <= .milliseconds(300))
        }
        #expect(HTTPTransportError.connection("x").isRetryable && HTTPTransportError.timedOut("x").isRetryable)
        #expect(!HTTPTransportError.failed("x").isRetryable && !HTTPTransportError.tooLarge("x").isRetryable)
    }

    @Test func remoteLimitsBoundBodiesByKeyAndRange() throws {
        let limits = RemoteLimits(maxMetadataBytes: 1000, maxObjectBytes: 50_000, rangeSlack: 10)
        for key in ["zarr.json", "a/.zarray", "a/b/.zgroup", ".zattrs", ".zmetadata"] {
            #expect(RemoteLimits.isMetadataKey(key) && limits.maxValueBytes(for: key) == 1000, "\(key)")
        }
        #expect(!RemoteLimits.isMetadataKey("c/0/0") && !RemoteLimits.isMetadataKey("zarr.json/x"))
        #expect(limits.bodyLimits(key: "c/0", range: .all) == (50_000, 50_000))
        #expect(limits.bodyLimits(key: "c/0", range: .slice(offset: 5, length: 100)) == (50_000, 110))
        #expect(limits.bodyLimits(key: "c/0", range: .suffix(length: 16)) == (50_000, 26))
        #expect(limits.bodyLimits(key: "c/0", range: .from(offset: 7)) == (50_000, 50_000))
        #expect(limits.bodyLimits(key: "c/0", range: .slice(offset: 0, length: Int.max)) == (50_000, 50_000))
        #expect(limits.bodyLimits(key: "zarr.json", range: .all) == (1000, 1000))
        #expect(ContentCoding.applied(nil) == nil && ContentCoding.applied(" identity ") == nil && ContentCoding.applied("") == nil)
        #expect(ContentCoding.applied("gzip") == "gzip" && ContentCoding.applied("IDENTITY") == nil)

        let url = try #require(URL(string: "http://127.0.0.1/x"))
        let request = HTTPRequest(method: "GET", url: url, maxBodyBytes: 100, maxPartialBodyBytes: 10)
        #expect(request.bodyLimit(status: 206) == 10 && request.bodyLimit(status: 200) == 100 && request.bodyLimit(status: 404) == 100)
        func usable(_ r: HTTPResponse) -> String? {
            do { try RemoteClient.checkUsable(r, request: request); return nil } catch { return "\(error)" }
        }
        #expect(usable(HTTPResponse(status: 200, body: [UInt8](repeating: 0, count: 100))) == nil)
        #expect(usable(HTTPResponse(status: 200, body: [UInt8](repeating: 0, count: 101)))?.contains("over the limit of 100") == true)
        #expect(usable(HTTPResponse(status: 206, body: [UInt8](repeating: 0, count: 11)))?.contains("over the limit of 10") == true)
        #expect(usable(HTTPResponse(status: 200, headers: ["Content-Encoding": "gzip"]))?.contains("Content-Encoding: gzip") == true)
        #expect(usable(HTTPResponse(status: 404, headers: ["Content-Encoding": "gzip"])) == nil)
        #expect(usable(HTTPResponse(status: 301, headers: ["Location": "file:///etc/passwd"]))?.contains("to 'file:///etc/passwd'") == true)
        #expect(usable(HTTPResponse(status: 304))?.contains("without a Location") == true)
    }

    @Test func httpStoreRejectsOtherSchemes() {
        #expect(throws: ZarrError.self) { try HTTPStore(url: "ftp://example.org/x") }
        #expect(throws: ZarrError.self) { try HTTPStore(url: "/local/path") }
    }
}
