import Foundation
import Testing
@testable import Zarr

/// Issue 8, crashes: hostile sizes in codecs, shapes, regions, code points and nesting are
/// typed errors, never an abort, a trap or a silent replacement.
@Suite struct FaultCrashTests {
    static let fixedCodecs: [(String, JSONValue)] = [
        ("zstd", ["name": "zstd", "configuration": ["level": 1, "checksum": false]]),
        ("gzip", ["name": "gzip", "configuration": ["level": 1]]),
        ("zlib", ["name": "numcodecs.zlib", "configuration": ["level": 1]]),
        ("bz2", ["name": "numcodecs.bz2", "configuration": ["level": 1]]),
        ("lz4", ["name": "numcodecs.lz4", "configuration": ["acceleration": 1]]),
        ("blosc", ["name": "blosc", "configuration": ["cname": "lz4", "clevel": 5, "shuffle": "noshuffle", "typesize": 1, "blocksize": 0]]),
    ]

    /// The bytes→bytes codec of a one-compressor v3 chain.
    static func codec(_ json: JSONValue) throws -> any BytesToBytesCodec {
        let spec = ChunkSpec(shape: [1], dataType: .uint8, fillValue: .zero(for: .uint8))
        let chain = try CodecChain(v3: [["name": "bytes"], CodecSpec(json: json)], spec: spec)
        guard let c = chain.bytesToBytes.first else { throw ZarrError.unsupportedCodec("none") }
        return c
    }

    /// A zstd frame of `blocks` RLE blocks of 128 KiB of `byte` each (4 bytes per block: 16 GiB
    /// from 512 KiB). `claimed` puts a content size in the header; without it the size is unknown.
    static func zstdRLEBomb(blocks: Int, byte: UInt8 = 0x41, claimed: UInt64? = nil) -> [UInt8] {
        var f: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        if let claimed {
            f.append(0xE0)  // 8-byte content size, single segment
            for b in 0..<8 { f.append(UInt8(truncatingIfNeeded: claimed >> (8 * UInt64(b)))) }
        } else {
            f += [0x00, 0x38]  // no content size; window 2^(10+7) = 128 KiB
        }
        f.reserveCapacity(f.count + 4 * blocks)
        for i in 0..<blocks {
            let header = (131_072 << 3) | (1 << 1) | (i == blocks - 1 ? 1 : 0)
            f += [UInt8(header & 255), UInt8(header >> 8 & 255), UInt8(header >> 16 & 255), byte]
        }
        return f
    }

    // MARK: Decompression bombs

    @Test func everyDecoderStopsAtItsLimit() throws {
        let payload = [UInt8](repeating: 0, count: 4 << 20)
        for (name, json) in Self.fixedCodecs {
            let c = try Self.codec(json)
            let encoded = try c.encode(payload)
            #expect(try c.decode(encoded, expectedSize: payload.count, limit: payload.count) == payload, "\(name)")
            // More output than the limit is refused, whatever the stream says about itself.
            do {
                _ = try c.decode(encoded, expectedSize: nil, limit: 4096)
                Issue.record("\(name): 4 MiB decoded within a 4 KiB limit")
            } catch {
                #expect("\(error)".contains("4096"), "\(name): \(error)")
            }
            do {
                _ = try c.decode(encoded, expectedSize: 512, limit: 512)
                Issue.record("\(name): 4 MiB decoded for a 512-byte chunk")
            } catch {
                #expect("\(error)".contains("512"), "\(name): \(error)")
            }
        }
    }

    /// A fixed-size chunk whose compressed stream decodes to far more than the chunk: refused
    /// with the chunk's size, for every compressor (bz2 used to decode all of it first).
    @Test func bombsInFixedSizeChunksStopAtTheChunkSize() async throws {
        let bomb = [UInt8](repeating: 0, count: 16 << 20)
        for (name, json) in Self.fixedCodecs {
            let store = MemoryStore()
            let a = try await ZarrArray.create(store, path: "a", metadata: ArrayMetadata(
                shape: [64], chunkShape: [64], dataType: .int64, codecs: [["name": "bytes", "configuration": ["endian": "little"]], CodecSpec(json: json)]))
            try await store.set("a/c/0", try Self.codec(json).encode(bomb))
            do {
                _ = try await a.read()
                Issue.record("\(name): a 16 MiB stream read as a 512-byte chunk")
            } catch let e as ZarrError {
                guard case .corruptChunk(let key, let reason) = e else { Issue.record("\(name): \(e)"); continue }
                #expect(key == "a/c/0")
                // Refused on the header's claim or while decoding, never after decoding it all.
                #expect(reason.contains("512") && !reason.contains("decoded \(16 << 20)"), "\(name): \(reason)")
            }
        }
    }

    /// zstd inside a vlen-utf8 array used to be decoded without any limit (512 KiB → 16 GiB):
    /// now the array's `DecodeLimits` bound it.
    @Test func zstdBombInAVariableLengthArrayIsBounded() async throws {
        let store = MemoryStore()
        let codecs: [CodecSpec] = [["name": "vlen-utf8"], ["name": "zstd", "configuration": ["level": 1, "checksum": false]]]
        try await ZarrArray.create(store, path: "s", metadata: ArrayMetadata(shape: [4], chunkShape: [4], dataType: .string, codecs: codecs))
        let limits = DecodeLimits(maxVariableLengthChunkBytes: 1 << 20)
        let a = try await ZarrArray.open(store, path: "s", decodeLimits: limits)
        // 16 GiB of 'A' without a content size: streamed, and stopped after 1 MiB.
        try await store.set("s/c/0", Self.zstdRLEBomb(blocks: 131_072))
        await #expect(throws: ZarrError.self) { _ = try await a.read() }
        // A frame that claims 16 GiB (with the data to back it): refused before allocating,
        // with the default limits too.
        try await store.set("s/c/0", Self.zstdRLEBomb(blocks: 131_072, claimed: 1 << 34))
        await #expect(throws: ZarrError.self) { _ = try await a.read() }
        let b = try await ZarrArray.open(store, path: "s")
        #expect(b.decodeLimits == .standard)
        await #expect(throws: ZarrError.self) { _ = try await b.read() }
        // Real strings within the limit still read.
        let values = try NDArray(strings: ["a", "bb", "", String(repeating: "x", count: 100_000)], shape: [4])
        try await a.write(all: values)
        #expect(try await a.read() == values)
        // The same strings beyond a smaller limit are refused.
        let tight = try await ZarrArray.open(store, path: "s", decodeLimits: DecodeLimits(maxVariableLengthChunkBytes: 1000))
        await #expect(throws: ZarrError.self) { _ = try await tight.read() }
    }

    @Test func zstdClaimsAreNotTrustedBeyondTheLimit() throws {
        // A 512 KiB frame claiming 16 GiB used to be trusted (32768× its size) and allocated.
        let frame = Self.zstdRLEBomb(blocks: 131_072, claimed: 1 << 34)
        do {
            _ = try ZstdCodec().decode(frame)
            Issue.record("a 16 GiB claim decoded")
        } catch {
            #expect("\(error)".contains("claims \(1 << 34) bytes"), "\(error)")
        }
        #expect(throws: ZarrError.self) { _ = try ZstdCodec().decode(frame, expectedSize: nil, limit: 1 << 20) }
    }

    @Test func vlenCountsBeyondTheInputAreRefusedBeforeAllocating() throws {
        // A count of 2^32-1 elements in 8 bytes: refused before reserving the element list.
        let spec = ChunkSpec(shape: [4_294_967_295], dataType: .string, fillValue: .variable([]))
        #expect(throws: ZarrError.self) { _ = try VlenUTF8Codec().decode([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0], spec: spec) }
        #expect(throws: ZarrError.self) { _ = try VlenUTF8Codec().decode([2, 0, 0, 0, 0, 0, 0, 0], spec: ChunkSpec(shape: [2], dataType: .string, fillValue: .variable([]))) }
        #expect(throws: ZarrError.self) { _ = try VlenBytesCodec().decode([1, 0, 0, 0, 9, 0, 0, 0, 1], spec: ChunkSpec(shape: [1], dataType: .bytes, fillValue: .variable([]))) }
    }

    // MARK: Memory

    @Test func allocationsBeyondWhatCanBeAllocatedAreTypedErrors() throws {
        let available = LargeBuffer.allocatable()
        #expect(available.bytes > 0)
        // 2^31 int64 elements (16 GiB) is refused here when the process cannot have it, and a
        // size beyond any machine always is.
        #expect(throws: ZarrError.self) { try LargeBuffer.checkAllocatable(Int.max / 2, what: "a test") }
        #expect(throws: ZarrError.self) { _ = try LargeBuffer.zeros(Int.max / 2, what: "a test") }
        #expect(throws: ZarrError.self) { _ = try NDArray(filling: .zero(for: .int64), dataType: .int64, shape: [1 << 40, 1 << 20]) }
        #expect(throws: ZarrError.self) { _ = try LargeBuffer.allocateRaw(Int.max / 2, alignment: 64, what: "a test") }
        do {
            try LargeBuffer.checkAllocatable(Int.max / 2, what: "a test")
        } catch {
            guard case .outOfMemory(_, let bytes, _) = error else { Issue.record("\(error)"); return }
            #expect(bytes == Int.max / 2)
        }
        // Small and ordinary sizes pass.
        #expect(try LargeBuffer.zeros(1 << 20, what: "a test").count == 1 << 20)
    }

    // MARK: Overflow in shapes, chunk grids and regions

    @Test func chunkGridsNearIntMaxDoNotOverflow() throws {
        let grid = ChunkGrid(shape: [Int.max], chunkShape: [3])
        #expect(grid.gridShape == [Int.max / 3 + 1])
        let ov = grid.overlaps([(Int.max - 5)..<Int.max])
        #expect(ov.map(\.extent).reduce(0) { $0 + $1[0] } == 5)
        #expect(ov.last?.extent == [Int.max % 3 == 0 ? 3 : Int.max % 3])
        let big = ChunkGrid(shape: [Int.max, 4], chunkShape: [Int.max - 1, 4])
        #expect(big.gridShape == [2, 1])
        #expect(big.overlaps([(Int.max - 2)..<Int.max, 0..<4]).map(\.extent) == [[1, 4], [1, 4]])
    }

    @Test func arraysWithIntMaxShapesReadAndWriteTheirEdges() async throws {
        let store = MemoryStore()
        let doc = #"{"zarr_format":3,"node_type":"array","shape":[9223372036854775807],"data_type":"int8","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#
        try await store.set("big/zarr.json", Array(doc.utf8))
        let a = try await ZarrArray.open(store, path: "big")
        let end = Int.max
        try await a.write(try NDArray([Int8(1), 2, 3], shape: [3]), at: [end - 3])
        #expect(try await a.read([(end - 5)..<end]).bytes == [0, 0, 1, 2, 3])
        // Writes whose end overflows, or that reach past the shape, are typed errors.
        await #expect(throws: ZarrError.self) { try await a.write(try NDArray([Int8(1), 2], shape: [2]), at: [end - 1]) }
        await #expect(throws: ZarrError.self) { try await a.write(try NDArray([Int8(1)], shape: [1]), at: [-1]) }
        await #expect(throws: ZarrError.self) { _ = try await a.read() }
    }

    @Test func elementCountsThatOverflowAreTypedErrors() throws {
        #expect(throws: ZarrError.self) { _ = try NDArray(packed: [1, 2, 3], dataType: .int64, shape: [Int.max]) }
        #expect(throws: ZarrError.self) { _ = try NDArray(packed: [1, 2, 3], dataType: .int8, shape: [1 << 32, 1 << 32]) }
        #expect(throws: ZarrError.self) { _ = try NDArray(packed: [0, 0, 0, 0], dataType: .string, shape: [Int.max]) }
        #expect(throws: ZarrError.self) { _ = try NDArray(dataType: .int64, shape: [Int.max, 2], storage: .fixed([])) }
        #expect(throws: ZarrError.self) { _ = try NDArray([Int8(1)], shape: [1 << 40, 1 << 40]) }
        #expect(throws: ZarrError.self) { _ = try NDArray(filling: .zero(for: .int8), dataType: .int8, shape: [-1]) }
        #expect(ChunkSpec(shape: [1 << 40, 1 << 40], dataType: .int8, fillValue: .zero(for: .int8)).byteCount == nil)
        // A sharding codec whose index size overflows.
        let spec = ChunkSpec(shape: [1 << 40, 1 << 40], dataType: .int8, fillValue: .zero(for: .int8))
        #expect(throws: ZarrError.self) { _ = try ShardingCodec(shardSpec: spec, innerChunkShape: [1, 1]) }
    }

    @Test func regionsOutsideTheShapeAreTypedErrors() async throws {
        let store = MemoryStore()
        let a = try await ZarrArray.create(store, path: "a", metadata: ArrayMetadata(shape: [10], chunkShape: [4], dataType: .int8))
        #expect(throws: ZarrError.self) { try a.checkRegion([0..<Int.max]) }
        await #expect(throws: ZarrError.self) { _ = try await a.read([0..<Int.max]) }
        await #expect(throws: ZarrError.self) { _ = try await a.read([(Int.max - 1)..<Int.max]) }
    }

    // MARK: UTF-32 code points

    @Test(arguments: [UInt32(0xD800), 0xDFFF, 0x110000, 0xFFFF_FFFF])
    func invalidCodePointsInFixedLengthStringsAreTypedErrors(_ bad: UInt32) async throws {
        let store = MemoryStore()
        let doc = #"{"zarr_format":2,"shape":[3],"chunks":[2],"dtype":"<U2","fill_value":"","order":"C","filters":null,"compressor":null}"#
        try await store.set("u/.zarray", Array(doc.utf8))
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        // Chunk 0: "ab", "c"; chunk 1: one element with the bad code unit.
        try await store.set("u/0", le(0x61) + le(0x62) + le(0x63) + le(0))
        try await store.set("u/1", le(0x64) + le(bad) + le(0) + le(0))
        let a = try await ZarrArray.open(store, path: "u")
        #expect(try await a.read([0..<2]).strings() == ["ab", "c"])
        do {
            _ = try await a.read()
            Issue.record("0x\(String(bad, radix: 16)) read as a string")
        } catch let e as ZarrError {
            guard case .corruptChunk(let key, let reason) = e else { Issue.record("\(e)"); return }
            #expect(key == "u/1")
            #expect(reason.contains("'u'") && reason.contains("[2]") && reason.contains(String(bad, radix: 16, uppercase: true)), "\(reason)")
        }
        // The values themselves refuse to become strings (no silent U+FFFD).
        let raw = try NDArray(dataType: .fixedUTF32(length: 2), shape: [1], storage: .fixed(le(0x64) + le(bad)))
        #expect(throws: ZarrError.self) { _ = try raw.strings() }
    }

    // MARK: Nesting beyond the parser's limit

    /// `{"a": {"a": ... 1}}` with `levels` objects.
    static func nested(_ levels: Int) -> JSONValue {
        var v: JSONValue = 1
        for _ in 0..<levels { v = .object(["a": v]) }
        return v
    }

    @Test func nestingDepthMatchesWhatTheParserAccepts() throws {
        for levels in [0, 1, 2, 300, 510, 511, 512, 513] {
            let doc = Self.nested(levels)
            #expect(doc.nestingDepth == levels)
            let parses = (try? JSONValue.parse(doc.serialized(indent: 0))) != nil
            #expect(parses == (levels < JSONValue.maxNestingDepth), "\(levels)")
        }
        #expect(JSONValue.array([[], [[1]]]).nestingDepth == 3)
    }

    @Test(arguments: [ZarrFormat.v3, .v2])
    func consolidationNeverWritesWhatTheParserRefuses(_ format: ZarrFormat) async throws {
        let store = MemoryStore()
        try await ZarrGroup.create(store, format: format)
        // Attributes nested just within the limit in the node's own document (509 levels in
        // zarr.json, 510 in .zattrs): it parses; consolidated, 3 (v3) or 2 (v2) levels deeper, it would not.
        let levels = format == .v3 ? 507 : 509
        try await ZarrGroup.create(store, path: "g/deep", format: format, attributes: ["x": Self.nested(levels)])
        _ = try await NodeMetadata.read(store, path: "g/deep")
        do {
            try await ConsolidatedMetadata.consolidate(store)
            Issue.record("a consolidated document deeper than the parser's limit was written")
        } catch let e as ZarrError {
            guard case .invalidMetadata(let path, let reason) = e else { Issue.record("\(e)"); return }
            #expect(path == "g/deep", "\(e)")
            #expect(reason.contains("\(JSONValue.maxNestingDepth)"), "\(reason)")
        }
        // The store stays readable, without consolidated metadata.
        _ = try await NodeMetadata.read(store, path: "")
        #expect(try await ConsolidatedMetadata.read(store) == nil)
        // Shallower attributes consolidate and read back.
        try await ZarrGroup.create(store, path: "g/deep", format: format, attributes: ["x": Self.nested(400)])
        try await ConsolidatedMetadata.consolidate(store)
        #expect(try await ConsolidatedMetadata.read(store)?["g/deep"]?.attributes["x"] == Self.nested(400))
        // A node document the parser would refuse is not written at all.
        await #expect(throws: ZarrError.self) {
            try await ZarrGroup.create(store, path: "g/deeper", format: format, attributes: ["x": Self.nested(600)])
        }
        #expect(try await store.get("g/deeper/zarr.json") == nil)
        #expect(try await store.get("g/deeper/.zattrs") == nil)
        await #expect(throws: ZarrError.self) {
            try await ZarrGroup.updateAttributes(store, path: "g/deep") { $0["x"] = FaultCrashTests.nested(600) }
        }
    }
}
