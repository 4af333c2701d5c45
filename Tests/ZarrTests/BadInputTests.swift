import Foundation
import Testing
@testable import Zarr

/// Corrupt metadata, truncated or corrupt chunks, unknown codecs, hostile keys: each gives a
/// typed error, never a crash or a silently partial result.
@Suite struct BadInputTests {
    let good: JSONValue = [
        "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int32",
        "chunk_grid": ["name": "regular", "configuration": ["chunk_shape": [2]]],
        "chunk_key_encoding": ["name": "default"], "fill_value": 0,
        "codecs": [["name": "bytes", "configuration": ["endian": "little"]], ["name": "crc32c"]],
    ]

    func withMember(_ key: String, _ value: JSONValue?) -> JSONValue {
        var o = good.object ?? [:]
        o[key] = value
        return .object(o)
    }

    func open(_ doc: JSONValue) async throws -> ZarrArray {
        let store = MemoryStore()
        try await store.set("a/zarr.json", doc.serialized())
        return try await ZarrArray.open(store, path: "a")
    }

    func openText(_ text: String) async throws -> ZarrArray {
        let store = MemoryStore()
        try await store.set("a/zarr.json", Array(text.utf8))
        return try await ZarrArray.open(store, path: "a")
    }

    @Test func goodDocumentOpens() async throws {
        #expect(try await open(good).shape == [4])
    }

    @Test(arguments: [
        ("shape", JSONValue.string("4")), ("shape", [-1]), ("shape", [1.5]), ("data_type", "int33"),
        ("data_type", 5), ("fill_value", "x"), ("fill_value", nil), ("codecs", []), ("codecs", [["name": "nope"]]),
        ("codecs", [["name": "zstd"]]), ("codecs", [["name": "bytes"]]), ("chunk_grid", ["name": "rectilinear"]),
        ("chunk_grid", ["name": "regular", "configuration": ["chunk_shape": [0]]]),
        ("chunk_grid", ["name": "regular", "configuration": ["chunk_shape": [2, 2]]]),
        ("chunk_key_encoding", ["name": "default", "configuration": ["separator": "-"]]),
        ("attributes", [1, 2]), ("dimension_names", ["a", "b"]), ("storage_transformers", [["name": "x"]]),
        ("unknown_member", 1), ("unknown_ext", ["name": "x", "must_understand": true]),
        ("codecs", [["name": "bytes", "configuration": ["endian": "little"]], ["name": "blosc", "configuration": ["clevel": "high"]]]),
        ("codecs", [["name": "transpose", "configuration": ["order": [1]]], ["name": "bytes", "configuration": ["endian": "little"]]]),
        ("codecs", [["name": "crc32c"], ["name": "bytes", "configuration": ["endian": "little"]]]),
        ("zarr_format", 4), ("node_type", "table"),
    ] as [(String, JSONValue?)])
    func invalidMetadataIsATypedError(_ key: String, _ value: JSONValue?) async {
        await #expect(throws: ZarrError.self) { _ = try await open(withMember(key, value)) }
    }

    @Test func mustUnderstandFalseIsIgnoredAndKept() async throws {
        let a = try await open(withMember("ext", ["name": "x", "must_understand": false]))
        #expect(a.metadata.extraMembers["ext"] != nil)
        #expect(a.metadata.v3Document()["ext"]?["must_understand"] == false)
        let b = try await open(withMember("codecs", [["name": "bytes", "configuration": ["endian": "little"]],
                                                     ["name": "future-codec", "must_understand": false]]))
        #expect(b.chain.bytesToBytes.isEmpty)
    }

    @Test(arguments: ["", "{", "[]", "null", "{\"zarr_format\": 3}", "{\"zarr_format\": 3, \"node_type\": \"array\"}", "\u{FF}\u{FE}"])
    func invalidJSONIsATypedError(_ text: String) async {
        await #expect(throws: ZarrError.self) { _ = try await openText(text) }
    }

    @Test func corruptChunksAreTypedErrors() async throws {
        let store = MemoryStore()
        let codecs: [[JSONValue]] = [
            [["name": "bytes", "configuration": ["endian": "little"]], ["name": "crc32c"]],
            [["name": "bytes", "configuration": ["endian": "little"]], ["name": "zstd", "configuration": ["level": 1, "checksum": true]]],
            [["name": "bytes", "configuration": ["endian": "little"]]],
            [["name": "vlen-utf8"]],
        ]
        for (i, c) in codecs.enumerated() {
            let type: DataType = i == 3 ? .string : .int64
            let a = try await ZarrArray.create(store, path: "a\(i)", metadata: ArrayMetadata(shape: [64], chunkShape: [64], dataType: type, codecs: c))
            let values = type == .string ? try NDArray(strings: (0..<64).map { "s\($0)" }, shape: [64]) : try NDArray((0..<64).map { Int64($0) }, shape: [64])
            try await a.write(all: values)
            let key = "a\(i)/c/0"
            guard let chunk = try await store.get(key) else { Issue.record("no chunk"); continue }
            var flipped = chunk
            flipped[flipped.count / 2] ^= 0xFF
            var variants: [[UInt8]] = [Array(chunk.prefix(chunk.count / 2)), [], Array(chunk.prefix(3)), chunk + [1, 2, 3]]
            if i != 2 && i != 3 { variants.append(flipped) }
            for bad in variants {
                try await store.set(key, bad)
                await #expect(throws: ZarrError.self, "codecs \(i), \(bad.count) of \(chunk.count) bytes") { _ = try await a.read() }
            }
            // A failed write leaves the earlier data readable.
            try await store.set(key, chunk)
            await #expect(throws: ZarrError.self) {
                try await a.write(try NDArray([Int32](repeating: 1, count: 3), shape: [3]))
            }
            #expect(try await a.read() == values)
        }
    }

    @Test func shardIndexesPointingOutsideTheShardAreTypedErrors() async throws {
        let store = MemoryStore()
        let spec = ChunkSpec(shape: [8], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2], indexCodecs: [["name": "bytes", "configuration": ["endian": "little"]]])
        let a = try await ZarrArray.create(store, path: "s", metadata: ArrayMetadata(shape: [8], chunkShape: [8], dataType: .int32, codecs: [codec.v3JSON]))
        try await a.write(all: try iota([8]))
        guard let shard = try await store.get("s/c/0") else { Issue.record("no shard"); return }
        let indexStart = shard.count - codec.indexSize
        func patched(_ entry: Int, offset: UInt64, size: UInt64) -> [UInt8] {
            var s = shard
            for (k, v) in [offset, size].enumerated() {
                for b in 0..<8 { s[indexStart + entry * 16 + k * 8 + b] = UInt8(v >> (8 * UInt64(b)) & 255) }
            }
            return s
        }
        for (entry, bad) in [(0, patched(0, offset: 1 << 40, size: 8)), (1, patched(1, offset: 0, size: 1 << 50)),
                             (2, patched(2, offset: UInt64.max, size: 8)), (3, patched(3, offset: 0, size: UInt64.max)),
                             (0, Array(shard.prefix(10)))] {
            try await store.set("s/c/0", bad)
            await #expect(throws: ZarrError.self) { _ = try await a.read() }
            // A partial read of the inner chunk that the bad entry describes fails too.
            await #expect(throws: ZarrError.self) { _ = try await a.read([(2 * entry)..<(2 * entry + 1)]) }
        }
    }

    @Test func hostileKeysAndPathsAreRefused() async throws {
        let dir = temporaryDirectory()
        let store = LocalStore(root: dir + "/store")
        for key in ["../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "a\u{0}b", "", ".", "a/./b"] {
            await #expect(throws: ZarrError.self, "\(key)") { try await store.set(key, [1]) }
            await #expect(throws: ZarrError.self, "\(key)") { _ = try await store.get(key) }
        }
        for path in ["../x", "/abs", "a/../b"] {
            await #expect(throws: ZarrError.self) { _ = try await ZarrArray.open(store, path: path) }
            await #expect(throws: ZarrError.self) {
                try await ZarrArray.create(store, path: path, metadata: ArrayMetadata(shape: [1], chunkShape: [1], dataType: .int8))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        await #expect(throws: ZarrError.self) { try await store.deletePrefix("../") }
    }

    @Test func valuesThatDoNotFitAreRefused() async throws {
        let store = MemoryStore()
        let a = try await ZarrArray.create(store, metadata: ArrayMetadata(shape: [4, 4], chunkShape: [2, 2], dataType: .int32))
        await #expect(throws: ZarrError.self) { try await a.write(try iota([5, 4])) }
        await #expect(throws: ZarrError.self) { try await a.write(try iota([2, 2]), at: [3, 3]) }
        await #expect(throws: ZarrError.self) { try await a.write(try NDArray([1.0, 2.0, 3.0, 4.0], shape: [2, 2])) }
        await #expect(throws: ZarrError.self) { _ = try await a.read([0..<5, 0..<4]) }
        await #expect(throws: ZarrError.self) { _ = try await a.read([0..<1]) }
        #expect(throws: ZarrError.self) { try NDArray([Int32(1)], shape: [2]) }
        #expect(throws: ZarrError.self) { try NDArray(packed: [1, 2, 3], dataType: .int32, shape: [1]) }
        #expect(throws: ZarrError.self) { try NDArray(packed: [5, 0, 0, 0, 1], dataType: .string, shape: [1]) }
    }
}

@Suite struct LocalStoreTests {
    @Test func writesAreAtomicAndListingsAreSorted() async throws {
        let dir = temporaryDirectory()
        let store = LocalStore(root: dir)
        try await store.set("a/b/c", [1, 2, 3])
        try await store.set("a/b/c", [4])
        try await store.set("a/d", [])
        try await store.set("z", [9])
        #expect(try await store.get("a/b/c") == [4])
        #expect(try await store.get("a/d") == [])
        #expect(try await store.get("missing") == nil)
        #expect(try await store.get("a/b") == nil)
        #expect(try await store.list(prefix: "") == ["a/b/c", "a/d", "z"])
        #expect(try await store.listDirectory("a/") == StoreListing(keys: ["a/d"], prefixes: ["b"]))
        #expect(try await store.get("a/b/c", range: .suffix(length: 10)) == [4])
        try await store.set("r", Array(0..<100))
        #expect(try await store.get("r", range: .slice(offset: 10, length: 3)) == [10, 11, 12])
        #expect(try await store.get("r", range: .from(offset: 98)) == [98, 99])
        #expect(try await store.get("r", range: .suffix(length: 2)) == [98, 99])
        #expect(try await store.get("r", range: .slice(offset: 99, length: Int.max)) == [99])
        // No temporary files are left behind.
        let names = try FileManager.default.subpathsOfDirectory(atPath: dir)
        #expect(!names.contains { $0.contains(".tmp-") })
        try await store.deletePrefix("a/")
        #expect(try await store.list(prefix: "") == ["r", "z"])
        try await store.delete("nope")
    }

    @Test func aFailedWriteLeavesTheOldValue() async throws {
        let dir = temporaryDirectory()
        let store = LocalStore(root: dir)
        try await store.set("k/v", [1, 2, 3])
        // Make the directory read-only so the temporary file cannot be created.
        chmod(dir + "/k", 0o500)
        defer { chmod(dir + "/k", 0o755) }
        if getuid() != 0 {
            await #expect(throws: ZarrError.self) { try await store.set("k/v", [9]) }
        }
        #expect(try await store.get("k/v") != nil)
    }
}
