import Foundation
import Testing
@testable import Zarr
@testable import ZarrRemote

/// Remote stores against real servers on 127.0.0.1 that `scripts/remote-servers` starts once
/// for the suite (nginx, `python3 -m http.server`, SeaweedFS) and stops after it. A server that
/// cannot be installed or started fails the suite with the script's message.
@Suite(.remoteServers, .timeLimit(.minutes(10))) struct RemoteStoreTests {
    var servers: RemoteServers { get throws { try RemoteServers.shared() } }
}

extension RemoteStoreTests {
    @Test func httpRangeSuffixAndHeadOnNginx() async throws {
        let s = try servers
        let blob = randomBytes(100_000, seed: 1)
        try s.serve("basic/blob.bin", blob)
        try s.serve("basic/grüße a+b.bin", [1, 2, 3])
        try s.serve("basic/empty.bin", [])
        let metrics = StoreMetrics()
        let store = try HTTPStore(url: s.nginxURL + "/basic/", metrics: metrics)
        #expect(store.storeDescription == s.nginxURL + "/basic")

        #expect(try await store.get("blob.bin") == blob)
        #expect(try await store.get("blob.bin", range: .slice(offset: 10, length: 100)) == Array(blob[10..<110]))
        #expect(try await store.get("blob.bin", range: .from(offset: 99_990)) == Array(blob[99_990...]))
        #expect(try await store.get("blob.bin", range: .suffix(length: 16)) == Array(blob.suffix(16)))
        #expect(try await store.get("blob.bin", range: .suffix(length: 1_000_000)) == blob)
        #expect(try await store.get("blob.bin", range: .slice(offset: 99_995, length: 100)) == Array(blob[99_995...]))
        #expect(try await store.get("blob.bin", range: .slice(offset: 200_000, length: 10)) == [])
        #expect(try await store.get("blob.bin", range: .slice(offset: 5, length: 0)) == [])
        #expect(try await store.get("missing.bin") == nil)
        #expect(try await store.get("missing.bin", range: .suffix(length: 8)) == nil)
        #expect(try await store.get("grüße a+b.bin") == [1, 2, 3])
        #expect(try await store.get("empty.bin") == [])
        #expect(try await store.exists("blob.bin"))
        #expect(try await !store.exists("missing.bin"))
        #expect(try await store.size(of: "blob.bin") == 100_000)
        #expect(try await store.size(of: "missing.bin") == nil)

        // The suffix request really was a 206 of 16 bytes, not the whole body.
        metrics.reset()
        _ = try await store.get("blob.bin", range: .suffix(length: 16))
        #expect(metrics.snapshot.bytesReceived == 16)

        // Redirects are followed, and the Range header survives them.
        let redirected = try HTTPStore(url: s.nginxURL + "/redirect/basic", metrics: metrics)
        metrics.reset()
        #expect(try await redirected.get("blob.bin", range: .slice(offset: 1000, length: 24)) == Array(blob[1000..<1024]))
        #expect(metrics.snapshot.bytesReceived == 24)
        #expect(try await redirected.size(of: "blob.bin") == 100_000)

        // Several ranges: adjacent ones share a request.
        metrics.reset()
        let parts = try #require(try await store.get("blob.bin", ranges: [
            .slice(offset: 0, length: 100), .slice(offset: 100, length: 50), .slice(offset: 150, length: 10),
            .suffix(length: 8), .slice(offset: 50_000, length: 4),
        ]))
        #expect(parts == [Array(blob[0..<100]), Array(blob[100..<150]), Array(blob[150..<160]), Array(blob.suffix(8)),
                          Array(blob[50_000..<50_004])])
        #expect(metrics.snapshot.requests == 3)
        #expect(metrics.snapshot.bytesReceived == 160 + 8 + 4)
        #expect(try await store.get("missing.bin", ranges: [.slice(offset: 0, length: 1)]) == nil)
    }

    @Test func httpErrorsNameTheStatus() async throws {
        let s = try servers
        try s.serve("errors/dir/file.bin", [1])
        let store = try HTTPStore(url: s.nginxURL + "/errors")
        // A directory: nginx redirects to dir/ and then refuses the listing with 403.
        do {
            _ = try await store.get("dir")
            Issue.record("reading a directory over HTTP should fail")
        } catch let e as ZarrError {
            guard case .io(let key, let reason) = e else { Issue.record("unexpected \(e)"); return }
            #expect(key == "dir")
            #expect(reason.contains("HTTP 403 Forbidden"), "\(reason)")
        }
        await #expect(throws: ZarrError.self) { try await store.get("../etc/passwd") }
        // Nothing listens on this port: a connection error, retried, then reported.
        let dead = try HTTPStore(url: "http://127.0.0.1:1/x", retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1)))
        do {
            _ = try await dead.get("a")
            Issue.record("a closed port should fail")
        } catch let e as ZarrError {
            #expect("\(e)".contains("connection error") && "\(e)".contains("after 2 attempts"), "\(e)")
        }
    }

    @Test func rangeIgnoringServerStillGivesCorrectSlices() async throws {
        let s = try servers
        let blob = randomBytes(50_000, seed: 2)
        try s.serve("ignore/blob.bin", blob)
        let metrics = StoreMetrics()
        let store = try HTTPStore(url: s.pyhttpURL + "/ignore", metrics: metrics)
        #expect(try await store.get("blob.bin", range: .slice(offset: 7, length: 9)) == Array(blob[7..<16]))
        // The server sent everything: it ignored the Range header, and the store sliced locally.
        #expect(metrics.snapshot.bytesReceived == blob.count)
        #expect(try await store.get("blob.bin", range: .suffix(length: 5)) == Array(blob.suffix(5)))
        #expect(try await store.get("blob.bin", range: .from(offset: 49_000)) == Array(blob[49_000...]))
        #expect(try await store.get("blob.bin", range: .slice(offset: 60_000, length: 5)) == [])
        #expect(try await store.get("blob.bin") == blob)
        #expect(try await store.get("nope.bin", range: .suffix(length: 5)) == nil)
        #expect(try await store.size(of: "blob.bin") == blob.count)
        let parts = try await store.get("blob.bin", ranges: [.slice(offset: 0, length: 3), .slice(offset: 3, length: 3)])
        #expect(parts == [Array(blob[0..<3]), Array(blob[3..<6])])
        // The store remembers that the server ignores Range: ranges far apart (each its own
        // request on a server that honours Range) are sliced from one whole GET.
        #expect(store.serverIgnoresRange)
        metrics.reset()
        let far: [ByteRange] = [.slice(offset: 0, length: 10), .slice(offset: 20_000, length: 10), .suffix(length: 7),
                                .from(offset: 49_990), .slice(offset: 70_000, length: 3)]
        let farParts = try await store.get("blob.bin", ranges: far)
        #expect(farParts == [Array(blob[0..<10]), Array(blob[20_000..<20_010]), Array(blob.suffix(7)), Array(blob[49_990...]), []])
        #expect(metrics.snapshot.requests == 1 && metrics.snapshot.bytesReceived == blob.count)
        #expect(try await store.get("nope.bin", ranges: far) == nil)
        // nginx honours Range: the same ranges are separate small requests, and no flag is set.
        try s.serve("ignore-not/blob.bin", blob)
        let honouring = try HTTPStore(url: s.nginxURL + "/ignore-not", metrics: metrics)
        metrics.reset()
        #expect(try await honouring.get("blob.bin", ranges: far) == farParts)
        #expect(!honouring.serverIgnoresRange)
        #expect(metrics.snapshot.requests >= 3 && metrics.snapshot.bytesReceived < blob.count / 10, "\(metrics.snapshot)")
    }

    /// Writes a v3 hierarchy (group attributes, nested groups, a plain array, a sharded array
    /// whose index sits at the end) into `dir`, optionally consolidated.
    static func writeHierarchy(_ store: any WritableStore & ListableStore, consolidated: Bool) async throws -> (NDArray, NDArray) {
        try await ZarrGroup.create(store, format: .v3, attributes: ["title": "remote", "n": 3])
        try await ZarrGroup.create(store, path: "obs/grüße", format: .v3, attributes: ["k": [1, 2]])
        let plain = try await ZarrArray.create(store, path: "obs/grüße/values", metadata: ArrayMetadata(
            shape: [7, 5], chunkShape: [3, 2], dataType: .float64))
        let values = try NDArray((0..<35).map { Double($0) * 0.5 }, shape: [7, 5])
        try await plain.write(all: values)
        let spec = ChunkSpec(shape: [8, 8], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2, 4], indexLocation: .end)
        let sharded = try await ZarrArray.create(store, path: "X", metadata: ArrayMetadata(
            shape: [13, 11], chunkShape: [8, 8], dataType: .int32, codecs: [codec.codecSpec]))
        let ints = try iota([13, 11])
        try await sharded.write(all: ints)
        if consolidated { try await ConsolidatedMetadata.consolidate(store) }
        return (values, ints)
    }

    @Test func consolidatedHierarchyReadsOverHTTP() async throws {
        let s = try servers
        let local = LocalStore(root: s.serveDir + "/hier.zarr")
        let (values, ints) = try await Self.writeHierarchy(local, consolidated: true)
        for base in [s.nginxURL, s.pyhttpURL] {
            let metrics = StoreMetrics()
            let store = try HTTPStore(url: base + "/hier.zarr", metrics: metrics)
            let root = try await ZarrGroup.open(store)
            #expect(root.consolidated != nil)
            #expect(root.metadata.attributes["title"] == "remote")
            #expect(try await root.children().map(\.name).sorted() == ["X", "obs"])
            let sub = try await root.node("obs/grüße")
            guard case .group(let g) = sub else { Issue.record("obs/grüße is not a group"); continue }
            #expect(g.attributes["k"] == [1, 2])
            #expect(try await root.array("obs/grüße/values").read() == values)
            let x = try await root.array("X")
            #expect(try await x.read() == ints)
            #expect(try await x.read([1..<2, 1..<3]).values(as: Int32.self) == [12, 13])
            let opened = try await ZarrArray.open(store, path: "X")
            #expect(try await opened.read([12..<13, 0..<11]) == (try iota([13, 11]).slice([12..<13, 0..<11])))
            #expect(metrics.snapshot.requests > 0 && metrics.snapshot.failures == 0)
        }
    }

    @Test func unconsolidatedHierarchyOverHTTPGivesAClearError() async throws {
        let s = try servers
        let local = LocalStore(root: s.serveDir + "/plain.zarr")
        let (values, _) = try await Self.writeHierarchy(local, consolidated: false)
        let store = try HTTPStore(url: s.nginxURL + "/plain.zarr")
        let root = try await ZarrGroup.open(store)
        #expect(root.consolidated == nil)
        do {
            _ = try await root.children()
            Issue.record("listing over HTTP without consolidated metadata should fail")
        } catch let e as ZarrError {
            #expect(e == .unsupportedOperation(
                "the store \(s.nginxURL)/plain.zarr cannot list and the group '' has no consolidated metadata"))
            #expect("\(e)".contains("cannot list") && "\(e)".contains("consolidated metadata"))
        }
        // Paths that are known still open without listing.
        #expect(try await ZarrArray.open(store, path: "obs/grüße/values").read() == values)
    }
}

extension NDArray {
    /// The part `region` of a 2-D Int32 array, for comparisons.
    func slice(_ region: [Range<Int>]) throws -> NDArray {
        let all = try values(as: Int32.self)
        var out: [Int32] = []
        for i in region[0] { for j in region[1] { out.append(all[i * shape[1] + j]) } }
        return try NDArray(out, shape: region.map(\.count))
    }
}
