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
        let codecs: [[CodecSpec]] = [
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
            // A failed write (the store refuses the chunk after it was encoded) leaves the
            // earlier data readable, byte for byte.
            try await store.set(key, chunk)
            let failing = try await ZarrArray.open(FailingStore(store, failingKeys: [key]), path: "a\(i)")
            let other = type == .string ? try NDArray(strings: (0..<64).map { "t\($0)" }, shape: [64]) : try NDArray((0..<64).map { Int64(1000 + $0) }, shape: [64])
            await #expect(throws: ZarrError.self) { try await failing.write(all: other) }
            #expect(try await store.get(key) == chunk)
            #expect(try await a.read() == values)
        }
    }

    /// A zstd frame: magic, a single-segment header whose 8-byte content size says `claimed`,
    /// then one raw block holding `payload`.
    static func zstdFrame(claimed: UInt64, payload: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        for b in 0..<8 { f.append(UInt8(truncatingIfNeeded: claimed >> (8 * UInt64(b)))) }
        let header = 1 | (payload.count << 3)
        f += [UInt8(header & 255), UInt8(header >> 8 & 255), UInt8(header >> 16 & 255)]
        return f + payload
    }

    @Test func zstdFramesClaimingAbsurdSizesAreTypedErrors() async throws {
        let payload = [UInt8](repeating: 7, count: 512)
        // The hand-made frame is valid when it tells the truth.
        #expect(try ZstdCodec().decode(Self.zstdFrame(claimed: 512, payload: payload)) == payload)
        for claimed: UInt64 in [1 << 61, UInt64(Int.max), UInt64.max - 5, 1 << 40, 513] {
            let frame = Self.zstdFrame(claimed: claimed, payload: payload)
            // Without a known decoded size, and with the chunk's size.
            #expect(throws: ZarrError.self, "\(claimed)") { _ = try ZstdCodec().decode(frame) }
            #expect(throws: ZarrError.self, "\(claimed)") { _ = try ZstdCodec().decode(frame, expectedSize: 512) }
            // Through an array whose chunks hold 512 bytes.
            let store = MemoryStore()
            let a = try await ZarrArray.create(store, path: "z", metadata: ArrayMetadata(
                shape: [64], chunkShape: [64], dataType: .int64,
                codecs: [["name": "bytes", "configuration": ["endian": "little"]], ["name": "zstd", "configuration": ["level": 1, "checksum": false]]]))
            try await store.set("z/c/0", frame)
            await #expect(throws: ZarrError.self, "\(claimed)") { _ = try await a.read() }
            await #expect(throws: ZarrError.self, "\(claimed)") { _ = try await a.read([0..<3]) }
        }
        // A claim within bounds but larger than the chunk is refused before decoding.
        #expect(throws: ZarrError.self) { _ = try ZstdCodec().decode(Self.zstdFrame(claimed: 1024, payload: payload + payload), expectedSize: 512) }
    }

    @Test(arguments: [
        // Shapes whose element or byte count overflows, chunks that are too large.
        #"{"zarr_format":2,"shape":[4611686018427387904,4],"chunks":[1,1],"dtype":"<i8","fill_value":0,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1152921504606846976],"chunks":[1],"dtype":"<i8","fill_value":0,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[10],"chunks":[1099511627776],"dtype":"<i8","fill_value":0,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[10],"chunks":[4294967296,4294967296],"dtype":"|u1","fill_value":0,"order":"C","filters":null,"compressor":null}"#,
        // Element sizes that overflow or are absurd.
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"<U4611686018427387904","fill_value":"","order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"|S99999999999999999","fill_value":"","order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"|S99999999999999999999999","fill_value":"","order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"|V99999999999","fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"<U","fill_value":"","order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":"<","fill_value":"","order":"C","filters":null,"compressor":null}"#,
        // Structured fields: negative, overflowing or ill-typed shapes, object fields.
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","<i4",[-1]]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","<i4",[4294967296,4294967296]]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","<i4",["x"]]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","<i4"],["b","|O"]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","<U4611686018427387904"]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
        #"{"zarr_format":2,"shape":[1],"chunks":[1],"dtype":[["a","|S9000000"],["b","|S9000000"]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#,
    ])
    func hostileV2ShapesAndTypesAreTypedErrors(_ text: String) async {
        let store = MemoryStore()
        await #expect(throws: ZarrError.self) {
            try await store.set("a/.zarray", Array(text.utf8))
            _ = try await ZarrArray.open(store, path: "a")
        }
    }

    @Test(arguments: [
        ("data_type", ["name": "fixed_length_utf32", "configuration": ["length_bytes": 9_223_372_036_854_775_804]]),
        ("data_type", ["name": "null_terminated_bytes", "configuration": ["length_bytes": 99_999_999_999_999]]),
        ("data_type", "r9223372036854775800"),
        ("data_type", ["name": "structured", "configuration": ["fields": [["a", "int32"], ["b", "string"]]]]),
        ("data_type", ["name": "structured", "configuration": ["fields": [["a", "int32", [-2]]]]]),
        ("data_type", ["name": "struct", "configuration": ["fields": [["name": "a", "data_type": "bytes"]]]]),
        ("shape", [4_611_686_018_427_387_904, 4]),
        ("chunk_grid", ["name": "regular", "configuration": ["chunk_shape": [549_755_813_888]]]),
    ] as [(String, JSONValue)])
    func hostileV3ShapesAndTypesAreTypedErrors(_ key: String, _ value: JSONValue) async {
        var doc = withMember(key, value)
        if key == "data_type" {
            var o = doc.object ?? [:]
            o["fill_value"] = 0
            o["codecs"] = [["name": "bytes"]]
            doc = .object(o)
        }
        await #expect(throws: ZarrError.self) { _ = try await open(doc) }
    }

    @Test func readsLargerThanMemoryAreTypedErrors() async throws {
        // A valid, empty array of 2^50 bytes: reading all of it cannot be allocated.
        let store = MemoryStore()
        let a = try await ZarrArray.create(store, path: "big", metadata: ArrayMetadata(shape: [1 << 50], chunkShape: [1 << 20], dataType: .int8))
        await #expect(throws: ZarrError.self) { _ = try await a.read() }
        #expect(try await a.read([5..<9]).bytes == [0, 0, 0, 0])
        #expect(throws: ZarrError.self) { _ = try NDArray.uninitialized(dataType: .int64, shape: [1 << 40, 1 << 30]) }
    }

    @Test func shardIndexesPointingOutsideTheShardAreTypedErrors() async throws {
        let store = MemoryStore()
        let spec = ChunkSpec(shape: [8], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2], indexCodecs: [["name": "bytes", "configuration": ["endian": "little"]]])
        let a = try await ZarrArray.create(store, path: "s", metadata: ArrayMetadata(shape: [8], chunkShape: [8], dataType: .int32, codecs: [codec.codecSpec]))
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
        #expect(!names.contains { $0.contains(".zarr-tmp.") })
        try await store.deletePrefix("a/")
        #expect(try await store.list(prefix: "") == ["r", "z"])
        try await store.delete("nope")
    }

    @Test func aFailedWriteLeavesTheOldValue() async throws {
        // The temporary file's write fails (injected: paths are relative to directory
        // descriptors, so no path length makes it fail for root): nothing is renamed.
        let dir = temporaryDirectory()
        let store = LocalStore(root: dir)
        let old: [UInt8] = [1, 2, 3]
        try await store.set("d/v", old)
        #expect(throws: ZarrError.self) {
            try store.write("d/v", [9, 9, 9, 9]) { fd, buf in
                _ = LocalFS.writeAll(fd, UnsafeRawBufferPointer(rebasing: buf.prefix(2)))
                return "disk full (injected)"
            }
        }
        #expect(try await store.get("d/v") == old)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/d")
        #expect(leftovers == ["v"])
    }
}
