import Testing
@testable import Zarr

@Suite struct ArrayTests {
    func meta(_ shape: [Int], _ chunks: [Int], _ type: DataType = .int32, fill: FillValue? = nil,
              codecs: [CodecSpec]? = nil, format: ZarrFormat = .v3, v2: V2ArrayOptions = V2ArrayOptions()) -> ArrayMetadata {
        ArrayMetadata(shape: shape, chunkShape: chunks, dataType: type, fillValue: fill, codecs: codecs, zarrFormat: format, v2: v2)
    }

    @Test(arguments: [ZarrFormat.v2, .v3])
    func writeAndReadRegions(_ format: ZarrFormat) async throws {
        let store = MemoryStore()
        let a = try await ZarrArray.create(store, path: "g/a", metadata: meta([7, 5, 3], [3, 2, 2], format: format,
            v2: V2ArrayOptions(compressor: ["id": "zstd", "level": 1])))
        let values = try iota([7, 5, 3])
        try await a.write(all: values)
        let back = try await ZarrArray.open(store, path: "g/a")
        #expect(try await back.read() == values)
        let part = try await back.read([2..<6, 1..<4, 0..<3])
        var expected: [Int32] = []
        for i in 2..<6 { for j in 1..<4 { for k in 0..<3 { expected.append(Int32(i * 15 + j * 3 + k)) } } }
        #expect(try part.values(as: Int32.self) == expected)
        // Parent groups were created in the same format.
        if case .group(let g) = try await NodeMetadata.read(store, path: "g") { #expect(g.zarrFormat == format) } else { Issue.record("no group") }
    }

    @Test func missingChunksReadAsFillAndFillChunksAreNotWritten() async throws {
        let store = RecordingStore()
        let a = try await ZarrArray.create(store, metadata: meta([4, 4], [2, 2], fill: .fixed([7, 0, 0, 0])))
        try await a.write(try NDArray([Int32](repeating: 1, count: 4), shape: [2, 2]), at: [2, 2])
        try await a.write(try NDArray([Int32](repeating: 7, count: 4), shape: [2, 2]), at: [0, 0])
        let keys = try await store.list(prefix: "")
        #expect(keys == ["c/1/1", "zarr.json"])
        let all = try await a.read().values(as: Int32.self)
        #expect(all == [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1, 1, 7, 7, 1, 1])
        // Overwriting with fill removes the chunk.
        try await a.write(try NDArray([Int32](repeating: 7, count: 4), shape: [2, 2]), at: [2, 2])
        #expect(try await store.list(prefix: "") == ["zarr.json"])
    }

    @Test func zeroDimensionalAndEmptyArrays() async throws {
        let store = MemoryStore()
        for format in [ZarrFormat.v2, .v3] {
            let s = try await ZarrArray.create(store, path: "s\(format.rawValue)", metadata: meta([], [], .float64, format: format))
            try await s.write(all: try NDArray([2.5], shape: []))
            #expect(try await s.read().values(as: Double.self) == [2.5])
            let key = format == .v3 ? "s3/c" : "s2/0"
            #expect(try await store.get(key) != nil)
            let e = try await ZarrArray.create(store, path: "e\(format.rawValue)", metadata: meta([3, 0], [2, 1], format: format))
            #expect(try await e.read().shape == [3, 0])
        }
    }

    @Test(arguments: [
        ChunkKeyEncoding(.default), ChunkKeyEncoding(.default, separator: "."),
        ChunkKeyEncoding(.v2), ChunkKeyEncoding(.v2, separator: "/"),
    ])
    func chunkKeyEncodings(_ enc: ChunkKeyEncoding) async throws {
        let store = MemoryStore()
        var m = meta([3, 3], [2, 2])
        m.chunkKeyEncoding = enc
        let a = try await ZarrArray.create(store, path: "a", metadata: m)
        try await a.write(all: try iota([3, 3]))
        var expected: [String] = []
        for i in 0..<2 { for j in 0..<2 { expected.append("a/" + enc.key([i, j])) } }
        #expect(try await store.list(prefix: "a/").filter { $0 != "a/zarr.json" } == expected.sorted())
        let sep = enc.separator
        let want: String = enc.kind == .default ? "c" + sep + "1" + sep + "12" : "1" + sep + "12"
        #expect(enc.key([1, 12]) == want)
        #expect(try await ZarrArray.open(store, path: "a").read() == (try iota([3, 3])))
    }

    @Test func everyFixedTypeAndBigEndianAndFOrder() async throws {
        let store = MemoryStore()
        let cases: [(DataType, Int)] = [(.bool, 1), (.int8, 1), (.uint16, 2), (.int64, 8), (.float16, 2), (.float32, 4),
                                        (.complex64, 8), (.complex128, 16), (.fixedUTF32(length: 3), 12), (.fixedBytes(length: 5), 5)]
        for (i, (type, size)) in cases.enumerated() {
            var raw: [UInt8] = []
            for k in 0..<(6 * 4 * size) { raw.append(UInt8((k * 37 + i) % 251)) }
            if type == .bool { raw = raw.map { $0 & 1 } }
            if case .fixedUTF32 = type {
                raw = []
                for k in 0..<(6 * 4 * 3) { raw += [UInt8(65 + k % 26), 0, 0, 0] }
            }
            let values = try NDArray(dataType: type, shape: [6, 4], storage: .fixed(raw))
            for (j, opts) in [V2ArrayOptions(order: "F", bigEndian: true), V2ArrayOptions(order: "C", bigEndian: false)].enumerated() {
                let a = try await ZarrArray.create(store, path: "v2_\(i)_\(j)", metadata: meta([6, 4], [4, 3], type, format: .v2, v2: opts))
                try await a.write(all: values)
                #expect(try await ZarrArray.open(store, path: "v2_\(i)_\(j)").read() == values, "\(type) \(opts)")
            }
            let big: [CodecSpec] = [["name": "transpose", "configuration": ["order": [1, 0]]],
                                    ["name": "bytes", "configuration": ["endian": "big"]], ["name": "crc32c"]]
            let a = try await ZarrArray.create(store, path: "v3_\(i)", metadata: meta([6, 4], [4, 3], type, codecs: big))
            try await a.write(all: values)
            #expect(try await ZarrArray.open(store, path: "v3_\(i)").read() == values, "\(type)")
        }
    }

    @Test func stringsAndBytes() async throws {
        let store = MemoryStore()
        let strings = try NDArray(strings: ["", "a", "grüße", "😀", "x\u{0}y", "long string here", "q"], shape: [7])
        let v3 = try await ZarrArray.create(store, path: "s3", metadata: meta([7], [3], .string, fill: .variable(Array("fill".utf8))))
        try await v3.write(try NDArray(strings: ["p", "q"], shape: [2]), at: [5])
        #expect(try await v3.read().strings() == ["fill", "fill", "fill", "fill", "fill", "p", "q"])
        try await v3.write(all: strings)
        #expect(try await v3.read() == strings)
        let v2 = try await ZarrArray.create(store, path: "s2", metadata: meta([7], [3], .string, format: .v2,
            v2: V2ArrayOptions(filters: [["id": "vlen-utf8"]], compressor: ["id": "zstd", "level": 0])))
        try await v2.write(all: strings)
        #expect(try await ZarrArray.open(store, path: "s2").read() == strings)
        let b = try NDArray(dataType: .bytes, shape: [2], storage: .variable([[0, 255], []]))
        let vb = try await ZarrArray.create(store, path: "b", metadata: meta([2], [2], .bytes))
        try await vb.write(all: b)
        #expect(try await vb.read() == b)
    }

    @Test func shardedReadsFetchOnlyTheIndexAndTouchedInnerChunks() async throws {
        let store = RecordingStore()
        let spec = ChunkSpec(shape: [8, 8], dataType: .int32, fillValue: .zero(for: .int32))
        for location in [ShardingCodec.IndexLocation.end, .start] {
            let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2, 4], indexLocation: location)
            let a = try await ZarrArray.create(store, path: "sh", metadata: meta([13, 11], [8, 8], codecs: [codec.codecSpec]))
            let values = try iota([13, 11])
            try await a.write(all: values)
            store.reset()
            let back = try await ZarrArray.open(store, path: "sh")
            #expect(try await back.read() == values)
            store.reset()
            let part = try await back.read([1..<2, 1..<3])
            #expect(try part.values(as: Int32.self) == [12, 13])
            let log = store.log
            // One index request plus one inner-chunk request, both ranged, on shard (0, 0) only.
            #expect(log.count == 2)
            #expect(log.allSatisfy { $0.key == "sh/c/0/0" && $0.range != .all })
            #expect(log.first?.range == codec.indexRange)
        }
    }

    @Test func edgeShardsStoreOnlyInnerChunksInsideTheArrayAndUpdateInPlace() async throws {
        let store = MemoryStore()
        // Shards of 8×8 with 2×4 inner chunks on a 5×3 array: one edge shard, of which only the
        // inner chunks (0..2, 0) hold array elements.
        let spec = ChunkSpec(shape: [8, 8], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2, 4])
        let a = try await ZarrArray.create(store, path: "e", metadata: meta([5, 3], [8, 8], codecs: [codec.codecSpec]))
        let values = try iota([5, 3])
        try await a.write(all: values)
        #expect(try await a.read() == values)
        let shard = try #require(try await store.get("e/c/0/0"))
        let index = try codec.decodeIndex(try codec.indexBytes(of: shard), shardSize: shard.count)
        let stored = index.enumerated().filter { $0.element != nil }.map(\.offset)
        #expect(stored == [0, 2, 4])   // inner chunks (0,0), (1,0), (2,0) of the 4×2 inner grid
        // A partial write into the edge shard keeps the rest of it.
        try await a.write(try NDArray([Int32](repeating: -1, count: 2), shape: [1, 2]), at: [4, 1])
        var expected = try values.values(as: Int32.self)
        expected[13] = -1; expected[14] = -1
        #expect(try await ZarrArray.open(store, path: "e").read().values(as: Int32.self) == expected)
        // Shard values larger than the shard are refused.
        #expect(throws: ZarrError.self) { try codec.encode(try iota([9, 8]), threads: 1) }
    }

    @Test func shardsWithEmptyInnerChunksAndNestedSharding() async throws {
        let store = MemoryStore()
        let outer = ChunkSpec(shape: [8], dataType: .float64, fillValue: .zero(for: .float64))
        let inner = ChunkSpec(shape: [4], dataType: .float64, fillValue: .zero(for: .float64))
        let nested = try ShardingCodec(shardSpec: inner, innerChunkShape: [2])
        let codec = try ShardingCodec(shardSpec: outer, innerChunkShape: [4], innerCodecs: [nested.codecSpec])
        let a = try await ZarrArray.create(store, path: "n", metadata: meta([10], [8], .float64, codecs: [codec.codecSpec]))
        var v = [Double](repeating: 0, count: 10)
        v[1] = 1.5; v[9] = -2
        try await a.write(all: try NDArray(v, shape: [10]))
        #expect(try await ZarrArray.open(store, path: "n").read().values(as: Double.self) == v)
        #expect(try await ZarrArray.open(store, path: "n").read([1..<2]).values(as: Double.self) == [1.5])
    }

    @Test func consolidatedMetadataRoundTripsAndDetectsStaleness() async throws {
        for format in [ZarrFormat.v2, .v3] {
            let dir = temporaryDirectory()
            let store = LocalStore(root: dir)
            try await ZarrGroup.create(store, format: format, attributes: ["k": "v"])
            try await ZarrGroup.create(store, path: "g/h", format: format, attributes: ["n": 1])
            try await ZarrArray.create(store, path: "g/a", metadata: meta([3], [3], format: format))
            try await ConsolidatedMetadata.consolidate(store)
            let c = try await ConsolidatedMetadata.read(store)
            #expect(c?.nodes.map(\.path) == ["g", "g/a", "g/h"])
            let actual = try await ConsolidatedMetadata.collect(store, format: format)
            #expect(c?.staleEntries(comparedWith: actual) == [])
            try await ZarrArray.create(store, path: "g/b", metadata: meta([2], [2], format: format))
            let after = try await ConsolidatedMetadata.collect(store, format: format)
            #expect(c?.staleEntries(comparedWith: after) == ["g/b: not in the consolidated metadata"])
            let root = try await ZarrGroup.open(store)
            #expect(root.attributes["k"] == "v")
            #expect(try await root.children().map(\.name) == ["g"])
        }
    }

    @Test func attributeUpdatesKeepOtherKeys() async throws {
        let store = MemoryStore()
        try await ZarrGroup.create(store, path: "g", attributes: ["a": 1])
        try await ZarrGroup.updateAttributes(store, path: "g") { $0["b"] = 2 }
        try await ZarrGroup.updateAttributes(store, path: "g") { $0["c"] = [1, 2] }
        #expect(try await ZarrGroup.open(store, path: "g").attributes == ["a": 1, "b": 2, "c": [1, 2]])
    }

    @Test func v2AttributeUpdatesWriteOnlyZattrs() async throws {
        let store = MemoryStore()
        // Documents as another writer spelled them (key order, spacing, an extra member).
        let zarray = Array(#"{"zarr_format": 2, "shape": [2], "chunks": [2], "dtype": "|u1", "fill_value": 0, "order": "C", "filters": null, "compressor": null, "x_writer": "other"}"#.utf8)
        let zgroup = Array(#"{ "zarr_format": 2 }"#.utf8)
        try await store.set("g/.zgroup", zgroup)
        try await store.set("g/a/.zarray", zarray)
        try await store.set("g/a/.zattrs", Array(#"{"keep": true}"#.utf8))
        try await ZarrGroup.updateAttributes(store, path: "g") { $0["b"] = 2 }
        try await ZarrGroup.updateAttributes(store, path: "g/a") { $0["c"] = 3 }
        #expect(try await store.get("g/.zgroup") == zgroup)
        #expect(try await store.get("g/a/.zarray") == zarray)
        #expect(try await ZarrGroup.open(store, path: "g").attributes == ["b": 2])
        #expect(try await ZarrArray.open(store, path: "g/a").attributes == ["keep": true, "c": 3])
    }
}
