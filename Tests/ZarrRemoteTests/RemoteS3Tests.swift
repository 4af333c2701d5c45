import Foundation
import Testing
@testable import Zarr
@testable import ZarrRemote

extension RemoteStoreTests {
    @Test func s3PutGetRangeHeadDelete() async throws {
        let s = try servers
        let metrics = StoreMetrics()
        let store = try await s.newBucket("basic", metrics: metrics)
        let blob = randomBytes(70_000, seed: 3)
        try await store.set("a/b/blob.bin", blob)
        try await store.set("a/grüße a+b=c.json", Array("{}".utf8))
        try await store.set("a/empty", [])
        #expect(try await store.get("a/b/blob.bin") == blob)
        #expect(try await store.get("a/grüße a+b=c.json") == Array("{}".utf8))
        #expect(try await store.get("a/empty") == [])
        #expect(try await store.get("a/b/blob.bin", range: .slice(offset: 100, length: 28)) == Array(blob[100..<128]))
        #expect(try await store.get("a/b/blob.bin", range: .suffix(length: 12)) == Array(blob.suffix(12)))
        #expect(try await store.get("a/b/blob.bin", range: .from(offset: 69_990)) == Array(blob[69_990...]))
        #expect(try await store.get("a/b/blob.bin", range: .slice(offset: 69_999, length: 10)) == [blob[69_999]])
        #expect(try await store.get("a/b/blob.bin", range: .slice(offset: 80_000, length: 10)) == [])
        #expect(try await store.get("a/b/blob.bin", range: .slice(offset: 0, length: 0)) == [])
        #expect(try await store.get("a/missing") == nil)
        #expect(try await store.get("a/missing", range: .suffix(length: 4)) == nil)
        #expect(try await store.exists("a/b/blob.bin"))
        #expect(try await !store.exists("a/missing"))
        #expect(try await store.size(of: "a/b/blob.bin") == 70_000)
        let parts = try await store.get("a/b/blob.bin", ranges: [.slice(offset: 0, length: 10), .slice(offset: 10, length: 10)])
        #expect(parts == [Array(blob[0..<10]), Array(blob[10..<20])])

        // Overwrite, delete, delete again.
        try await store.set("a/b/blob.bin", [9, 9])
        #expect(try await store.get("a/b/blob.bin") == [9, 9])
        try await store.delete("a/b/blob.bin")
        #expect(try await store.get("a/b/blob.bin") == nil)
        try await store.delete("a/b/blob.bin")
        #expect(metrics.snapshot.failures == 0)

        // A store under a prefix sees only its own keys.
        var c = s.s3Configuration(bucket: store.configuration.bucket, prefix: "nested/root")
        c.prefix = "/nested/root"
        let sub = try S3Store(configuration: c)
        #expect(sub.storeDescription == "s3://\(store.configuration.bucket)/nested/root/")
        try await sub.set("k", [1])
        #expect(try await store.get("nested/root/k") == [1])
        #expect(try await sub.list(prefix: "") == ["k"])
        #expect(try await store.list(prefix: "") == ["a/empty", "a/grüße a+b=c.json", "nested/root/k"])
    }

    @Test func s3VirtualHostedAddressing() async throws {
        let s = try servers
        let pathStyle = try await s.newBucket("vhost")
        var c = pathStyle.configuration
        // curl resolves *.localhost to the loopback address; the server knows "localhost" as its domain.
        c.endpoint = URL(string: "http://localhost:\(s.s3Port)")
        c.addressingStyle = .virtualHosted
        let virtual = try S3Store(configuration: c)
        #expect(virtual.host == "\(c.bucket).localhost:\(s.s3Port)")
        #expect(virtual.encodedPath(objectKey: "k/v") == "/k/v")
        try await virtual.set("k/v", [1, 2, 3])
        #expect(try await pathStyle.get("k/v") == [1, 2, 3])
        #expect(try await virtual.get("k/v", range: .suffix(length: 2)) == [2, 3])
        #expect(try await virtual.list(prefix: "") == ["k/v"])
        #expect(try await virtual.listDirectory("") == StoreListing(keys: [], prefixes: ["k"]))
        try await virtual.delete("k/v")
        #expect(try await pathStyle.get("k/v") == nil)
    }

    @Test func s3ListingPaginatesPastOneThousandKeysAndHonoursTheDelimiter() async throws {
        let s = try servers
        let metrics = StoreMetrics()
        let store = try await s.newBucket("list", metrics: metrics)
        let keys = (0..<1_050).map { String(format: "many/k%05d", $0) } + ["many/sub/x", "many/sub/deeper/y", "many/sub2/z", "top"]
        _ = try await Parallel.map(keys, limit: 16) { k in try await store.set(k, Array(k.utf8)); return 0 }

        metrics.reset()
        let all = try await store.list(prefix: "")
        #expect(all == keys.sorted())
        #expect(metrics.snapshot.requestsByMethod["GET"] == 2, "1,054 keys take two pages of 1,000")
        let many = try await store.list(prefix: "many/")
        #expect(many.count == 1_053)
        #expect(try await store.list(prefix: "many/sub/") == ["many/sub/deeper/y", "many/sub/x"])
        #expect(try await store.list(prefix: "nothing/") == [])

        metrics.reset()
        let dir = try await store.listDirectory("many/")
        #expect(dir.keys.count == 1_050 && dir.keys.first == "many/k00000" && dir.keys.last == "many/k01049")
        #expect(dir.prefixes == ["sub", "sub2"])
        #expect(metrics.snapshot.requestsByMethod["GET"] ?? 0 >= 2)
        #expect(try await store.listDirectory("") == StoreListing(keys: ["top"], prefixes: ["many"]))
        #expect(try await store.listDirectory("many/sub/") == StoreListing(keys: ["many/sub/x"], prefixes: ["deeper"]))

        // Small pages: many continuation tokens.
        var small = store.configuration
        small.listPageSize = 100
        let paged = try S3Store(configuration: small, metrics: metrics)
        metrics.reset()
        #expect(try await paged.list(prefix: "many/") == many)
        #expect(metrics.snapshot.requestsByMethod["GET"] == 11)

        try await store.deletePrefix("many/")
        #expect(try await store.list(prefix: "") == ["top"])
        try await store.deletePrefix("")
        #expect(try await store.list(prefix: "") == [])
    }

    @Test func s3MultipartUploadOfALargeObject() async throws {
        let s = try servers
        let metrics = StoreMetrics()
        let store = try await s.newBucket("multipart", metrics: metrics) {
            $0.multipartThreshold = 6 << 20
            $0.partSize = 5 << 20
        }
        let big = randomBytes(13 << 20 | 12_345, seed: 4)
        metrics.reset()
        try await store.set("big/object.bin", big)
        let snap = metrics.snapshot
        #expect(snap.requestsByMethod["PUT"] == 3, "three parts of 5 MiB, 5 MiB and the rest")
        #expect(snap.requestsByMethod["POST"] == 2, "create and complete")
        #expect(snap.bytesSent > big.count)
        #expect(try await store.size(of: "big/object.bin") == big.count)
        #expect(try await store.get("big/object.bin") == big)
        let boundary = 5 << 20
        #expect(try await store.get("big/object.bin", range: .slice(offset: boundary - 10, length: 20))
            == Array(big[(boundary - 10)..<(boundary + 10)]))
        // Below the threshold: one PUT.
        metrics.reset()
        try await store.set("small.bin", Array(big[0..<(1 << 20)]))
        #expect(metrics.snapshot.requestsByMethod == ["PUT": 1])
        #expect(try await store.list(prefix: "") == ["big/object.bin", "small.bin"])
    }

    @Test func s3WrongCredentialsNameForbiddenAndWriteNothing() async throws {
        let s = try servers
        let good = try await s.newBucket("auth")
        try await good.set("present", [1, 2, 3])
        for (key, secret) in [(RemoteServers.accessKey, "wrong-secret"), ("unknown-key", RemoteServers.secretKey)] {
            var c = good.configuration
            c.accessKeyID = key
            c.secretAccessKey = secret
            let metrics = StoreMetrics()
            let bad = try S3Store(configuration: c, metrics: metrics)
            for attempt in 0..<3 {
                do {
                    switch attempt {
                    case 0: try await bad.set("intruder", [6, 6, 6])
                    case 1: _ = try await bad.get("present")
                    default: _ = try await bad.list(prefix: "")
                    }
                    Issue.record("wrong credentials should fail (\(attempt))")
                } catch let e as ZarrError {
                    guard case .io(_, let reason) = e else { Issue.record("unexpected \(e)"); continue }
                    #expect(reason.contains("HTTP 403 Forbidden") && reason.contains("authentication failed"), "\(reason)")
                }
            }
            #expect(metrics.snapshot.retries == 0, "a 403 is never retried")
            #expect(metrics.snapshot.requests == 3)
        }
        #expect(try await good.list(prefix: "") == ["present"])
        #expect(try await !good.exists("intruder"))
    }

    @Test func zarrPythonReadsAnArrayWrittenToS3() async throws {
        let s = try servers
        let store = try await s.newBucket("zarr")
        var c = store.configuration
        c.prefix = "data/run1.zarr"
        let root = try S3Store(configuration: c)
        try await ZarrGroup.create(root, format: .v3, attributes: ["source": "swift"])
        let a = try await ZarrArray.create(root, path: "matrix", metadata: ArrayMetadata(
            shape: [6, 4], chunkShape: [4, 3], dataType: .int32, attributes: ["unit": "count"]))
        let values = try iota([6, 4])
        try await a.write(all: values)
        try await ConsolidatedMetadata.consolidate(root)

        // Read back through S3 directly.
        let group = try await ZarrGroup.open(root)
        #expect(try await group.children().map(\.name) == ["matrix"])
        #expect(try await group.array("matrix").read() == values)

        // Download object by object and let zarr-python read the copy.
        let dir = temporaryDirectory("s3-download")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let local = LocalStore(root: dir + "/run1.zarr")
        let keys = try await root.list(prefix: "")
        #expect(keys.contains("zarr.json") && keys.contains("matrix/zarr.json") && keys.contains("matrix/c/1/1"))
        for k in keys { try await local.set(k, try #require(try await root.get(k))) }
        let python = packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(python) is missing: run scripts/setup")
            return
        }
        let script = """
        import sys, zarr, numpy as np
        g = zarr.open_consolidated(sys.argv[1], zarr_format=3)
        assert dict(g.attrs) == {'source': 'swift'}, dict(g.attrs)
        a = g['matrix']
        assert a.dtype == np.int32 and a.shape == (6, 4) and dict(a.attrs) == {'unit': 'count'}
        assert a[:].tolist() == np.arange(24, dtype=np.int32).reshape(6, 4).tolist(), a[:]
        print('zarr-python read the array written to S3')
        """
        let path = dir + "/check.py"
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        let r = try run(python, [path, dir + "/run1.zarr"])
        #expect(r.status == 0, "\(r.output)")
    }
}

extension RemoteStoreTests {
    @Test func shardedReadOverS3MergesAdjacentInnerChunksIntoOneRequest() async throws {
        let s = try servers
        let metrics = StoreMetrics()
        let store = try await s.newBucket("coalesce", metrics: metrics)
        // One shard of 64×64 int32 values with 8×8 inner chunks, written in C order of the
        // inner grid, so the inner chunks of one inner-chunk row lie next to each other.
        let spec = ChunkSpec(shape: [64, 64], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [8, 8])
        let meta = ArrayMetadata(shape: [64, 64], chunkShape: [64, 64], dataType: .int32, codecs: [codec.codecSpec])
        let a = try await ZarrArray.create(store, path: "sharded", metadata: meta)
        let values = try iota([64, 64])
        try await a.write(all: values)

        let back = try await ZarrArray.open(store, path: "sharded")
        metrics.reset()
        // Rows 8..<16, columns 0..<32: four adjacent inner chunks of one inner row.
        let part = try await back.read([8..<16, 0..<32])
        var expected: [Int32] = []
        for r in 8..<16 { for c in 0..<32 { expected.append(Int32(r * 64 + c)) } }
        #expect(try part.values(as: Int32.self) == expected)
        // The shard index, then one request for the four inner chunks.
        #expect(metrics.snapshot.requestsByMethod["GET"] == 2)
    }
}
