import Testing
@testable import Zarr

/// numcodecs' CRC32C and the v3 names written for numcodecs compressors.
@Suite struct CodecNamingTests {
    let bytesCodec: JSONValue = ["name": "bytes", "configuration": ["endian": "little"]]

    @Test func numcodecsCrc32cHasTheV3Format() async throws {
        // numcodecs 0.16.6 and 0.17.1: CRC32C().encode(bytes(range(20))), checksum at the end, LE.
        let expected: [UInt8] = Array(0..<20) + [0xE6, 0xEB, 0x79, 0xCC]
        #expect(try Crc32cCodec().encode(Array(0..<20)) == expected)
        let spec = ChunkSpec(shape: [5], dataType: .int32, fillValue: .zero(for: .int32))
        let v2 = try Crc32cCodec(v2Configuration: ["id": "crc32c", "location": "end"], spec: spec)
        #expect(try v2.decode(expected) == Array(0..<20))
        #expect(throws: ZarrError.self) { try Crc32cCodec(v2Configuration: ["id": "crc32c", "location": "start"], spec: spec) }
        // In v3 metadata as zarr-python writes it, and in v2 as a compressor.
        let store = MemoryStore()
        let values = try iota([5])
        let v3 = try await ZarrArray.create(store, path: "v3", metadata: ArrayMetadata(
            shape: [5], chunkShape: [5], dataType: .int32, codecs: [CodecSpec(json: bytesCodec), ["name": "numcodecs.crc32c", "configuration": [:]]]))
        try await v3.write(all: values)
        #expect(try await store.get("v3/c/0") == Array(values.bytes) + Array(CRC32C.checksum(values.bytes).littleEndianBytes))
        #expect(try await ZarrArray.open(store, path: "v3").read() == values)
        let a2 = try await ZarrArray.create(store, path: "v2", metadata: ArrayMetadata(
            shape: [5], chunkShape: [5], dataType: .int32, zarrFormat: .v2, v2: V2ArrayOptions(compressor: ["id": "crc32c"])))
        try await a2.write(all: values)
        var chunk = try #require(try await store.get("v2/0"))
        #expect(try v2.decode(chunk) == values.bytes)
        chunk[0] ^= 1
        try await store.set("v2/0", chunk)
        await #expect(throws: ZarrError.self) { _ = try await ZarrArray.open(store, path: "v2").read() }
    }

    @Test(arguments: ["zlib", "lz4", "bz2"])
    func bareNumcodecsNamesAreReadButWrittenWithThePrefix(_ name: String) async throws {
        let store = MemoryStore()
        let values = try iota([6, 4])
        // Read: a document that says the bare name (written here by hand).
        var doc = ArrayMetadata(shape: [6, 4], chunkShape: [3, 4], dataType: .int32, codecs: [CodecSpec(json: bytesCodec)]).v3Document().object ?? [:]
        doc["codecs"] = [bytesCodec, .string(name)]
        try await store.set("bare/zarr.json", JSONValue.object(doc).serialized())
        let bare = try await ZarrArray.open(store, path: "bare")
        try await bare.write(all: values)
        #expect(try await bare.read() == values)
        // Written: create, a codec's own entry, and a sharding inner chain.
        let shard: JSONValue = ["name": "sharding_indexed", "configuration": [
            "chunk_shape": [3, 2], "codecs": [bytesCodec, ["name": .string(name)]],
            "index_codecs": [bytesCodec, ["name": "crc32c"]], "index_location": "end"]]
        for (path, codecs) in [("a", [bytesCodec, JSONValue.string(name)]), ("b", [bytesCodec, ["name": .string(name)]]), ("s", [shard])] {
            let a = try await ZarrArray.create(store, path: path, metadata: ArrayMetadata(shape: [6, 4], chunkShape: [3, 4], dataType: .int32, codecs: codecs.map(CodecSpec.init(json:))))
            try await a.write(all: values)
            let text = String(decoding: try #require(try await store.get(path + "/zarr.json")), as: UTF8.self)
            #expect(text.contains("\"numcodecs.\(name)\""), "\(path)")
            #expect(!text.contains("\"\(name)\""), "\(path): \(text)")
            #expect(try await ZarrArray.open(store, path: path).read() == values)
        }
        let codec = try CodecRegistry.standard.makeV3(.string(name), spec: ChunkSpec(shape: [1], dataType: .uint8, fillValue: .zero(for: .uint8)))
        #expect(codec.v3WrittenName == "numcodecs." + name)
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { [UInt8(self & 255), UInt8(self >> 8 & 255), UInt8(self >> 16 & 255), UInt8(self >> 24)] }
}
