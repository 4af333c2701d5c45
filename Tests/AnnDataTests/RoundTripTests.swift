import AnnData
import Foundation
import Testing
import Zarr

/// Swift writes and reads back, in memory: every element kind, both formats, every
/// compressor, sharding, dispatch decisions, element-level updates.
@Suite("Round trips")
struct RoundTripTests {
    static let optionSets: [(String, WriteOptions)] = [
        ("v3 zstd", WriteOptions()),
        ("v3 blosc", WriteOptions(compressor: .blosc)),
        ("v3 gzip", WriteOptions(compressor: .gzip)),
        ("v3 none", WriteOptions(compressor: .none)),
        ("v3 auto-shard", WriteOptions(sharding: .auto)),
        ("v3 unconsolidated", WriteOptions(consolidate: false)),
        ("v2 zstd", WriteOptions(zarrFormat: .v2)),
        ("v2 blosc", WriteOptions(zarrFormat: .v2, compressor: .blosc)),
    ]

    @Test(arguments: Variant.allCases)
    func kitchenSinkRoundTrips(_ variant: Variant) async throws {
        let ref = Reference.kitchenSink(variant, extras: true)
        for (name, options) in Self.optionSets {
            let store = MemoryStore()
            try await ref.write(to: store, options: options)
            let back = try await AnnData.read(from: store)
            let problems = Compare.anndata(back, ref)
            #expect(problems.isEmpty, "\(variant) \(name): \(problems.prefix(10).joined(separator: "\n"))")
            #expect(await validate(store).isEmpty, "\(variant) \(name)")
        }
    }

    /// The default compressor is chosen per data type: blosc(zstd, shuffle, 2) for integer
    /// arrays of two bytes or more, zstd level 0 for the rest; an explicit one applies to all.
    @Test func defaultCompressorsArePerDataType() async throws {
        func last(_ store: MemoryStore, _ path: String) async throws -> CodecSpec? {
            guard case .array(let m) = try await NodeMetadata.read(store, path: path) else { return nil }
            return m.codecs.last
        }
        let store = MemoryStore()
        try await Reference.kitchenSink(.csr).write(to: store, options: WriteOptions())
        #expect(try await last(store, "X/indices") == .blosc(cname: "zstd", clevel: 2, shuffle: .byteShuffle, typesize: 4))
        #expect(try await last(store, "X/indptr")?.name == "blosc")
        #expect(try await last(store, "X/data") == .zstd(level: 0))
        let explicit = MemoryStore()
        try await Reference.kitchenSink(.csr).write(to: explicit, options: WriteOptions(compressor: .zstd))
        #expect(try await last(explicit, "X/indices") == .zstd(level: 0))
    }

    @Test func autoShardWritesOneShardForSmallArrays() async throws {
        let store = MemoryStore()
        try await Reference.kitchenSink(.dense).write(to: store, options: WriteOptions(sharding: .auto))
        guard case .array(let x) = try await NodeMetadata.read(store, path: "X") else { Issue.record("X"); return }
        #expect(x.chunkShape == [40, 25])
        #expect(x.codecs.first?.json["name"]?.string == "sharding_indexed")
        #expect(x.codecs.first?.json["configuration"]?["chunk_shape"] == .integers([40, 25]))
        guard case .array(let s) = try await NodeMetadata.read(store, path: "uns/py_int") else { Issue.record("py_int"); return }
        #expect(s.codecs.first?.json["name"]?.string == "bytes", "scalars are never sharded")
        guard case .array(let r) = try await NodeMetadata.read(store, path: "uns/np_scalars/int8") else { Issue.record("int8"); return }
        #expect(r.shape == [])
    }

    @Test func chunkGuessMatchesZarrPython() {
        #expect(ChunkGuess.chunks(shape: [10_000, 2_000], itemSize: 4) == [1250, 250])
        #expect(ChunkGuess.chunks(shape: [100_000, 30_000], itemSize: 4) == [1563, 938])
        #expect(ChunkGuess.chunks(shape: [100_000], itemSize: 8) == [25000])
        #expect(ChunkGuess.chunks(shape: [100_000], itemSize: 1) == [100_000])
        #expect(ChunkGuess.chunks(shape: [1_000_000], itemSize: 1) == [250_000])
        #expect(ChunkGuess.chunks(shape: [100_001], itemSize: 4) == [50001])
        #expect(ChunkGuess.chunks(shape: [50_000_000], itemSize: 4) == [390625])
        #expect(ChunkGuess.chunks(shape: [100_000, 50], itemSize: 4) == [12500, 13])
        #expect(ChunkGuess.chunks(shape: [0], itemSize: 8) == [1])
        #expect(ChunkGuess.chunks(shape: [0, 25], itemSize: 8) == [1, 25])
        #expect(ChunkGuess.chunks(shape: [], itemSize: 8) == [])
        let a = ChunkGuess.autoShard(shape: [10_000, 2_000], itemSize: 4, targetBytes: 1_000_000_000)
        #expect(a.inner == [625, 250] && a.shard == [5000, 2000])
        let b = ChunkGuess.autoShard(shape: [50_000_000], itemSize: 4, targetBytes: 1_000_000_000)
        #expect(b.inner == [195313] && b.shard == [49_804_815])
        let c = ChunkGuess.autoShard(shape: [40, 25], itemSize: 4, targetBytes: 1_000_000_000)
        #expect(c.inner == [40, 25] && c.shard == [40, 25])
    }

    @Test func writeOptionsProduceTheExpectedMetadata() async throws {
        let store = MemoryStore()
        try await Small.make().write(to: store, options: WriteOptions(zarrFormat: .v2, compressor: .blosc))
        let zarray = try JSONValue.parse(try #require(try await store.get("X/.zarray")))
        #expect(zarray["compressor"] == ["id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0])
        #expect(zarray["dtype"] == "<f4")
        let idx = try JSONValue.parse(try #require(try await store.get("obs/cell/.zarray")))
        #expect(idx["filters"] == [["id": "vlen-utf8"]])
        #expect(idx["dtype"] == "|O")
        let scalar = try JSONValue.parse(try #require(try await store.get("uns/k/.zarray")))
        #expect(scalar["fill_value"] == .null)
        let attrs = try JSONValue.parse(try #require(try await store.get("obs/.zattrs")))
        #expect(attrs["_index"] == "cell" && attrs["column-order"] == ["group", "n"])
        #expect(try await store.get(".zmetadata") != nil)
        #expect(try await store.get("raw/.zarray") != nil, "a missing raw is written as a null array")

        let v3 = MemoryStore()
        try await Small.make().write(to: v3, options: WriteOptions(compressor: .gzip))
        let x = try JSONValue.parse(try #require(try await v3.get("X/zarr.json")))
        #expect(x["codecs"] == [["name": "bytes", "configuration": ["endian": "little"]], ["name": "gzip", "configuration": ["level": 5]]])
        #expect(x["attributes"] == ["encoding-type": "array", "encoding-version": "0.2.0"])
        let root = try JSONValue.parse(try #require(try await v3.get("zarr.json")))
        #expect(root["consolidated_metadata"]?["kind"] == "inline")
    }

    @Test func dispatchCanSkipReplaceAndOverride() async throws {
        let seen = SeenPaths()
        let options = WriteOptions(dispatch: { path, type, _ in
            seen.add("\(path)=\(type)")
            if path == "uns/k" { return .replace(.string("replaced")) }
            if path == "layers/sparse" { return .skip }
            if path == "X" { return .writeWith(ArrayOverrides(chunks: [2, 3], shards: [4, 3])) }
            return .write
        })
        let store = MemoryStore()
        try await Small.make().write(to: store, options: options)
        #expect(seen.all.contains("=anndata") && seen.all.contains("obs/group/codes=array") && seen.all.contains("obs/cell=string-array"))
        let a = try await AnnData.read(from: store)
        #expect(a.uns["k"] == .string("replaced"))
        #expect(a.layers["sparse"] == nil)
        #expect(a.X == (try Small.make()).X)
        guard case .array(let x) = try await NodeMetadata.read(store, path: "X") else { Issue.record("X"); return }
        #expect(x.chunkShape == [4, 3])
        #expect(x.codecs.first?.json["configuration"]?["chunk_shape"] == .integers([2, 3]))
    }

    @Test func v2RefusesSharding() async throws {
        let options = WriteOptions(zarrFormat: .v2, dispatch: { path, _, _ in
            path == "X" ? .writeWith(ArrayOverrides(chunks: [2, 3], shards: [4, 3])) : .write
        })
        await #expect(throws: AnnDataError.unsupported(path: "X", reason: "sharding needs Zarr v3")) {
            try await Small.make().write(to: MemoryStore(), options: options)
        }
    }

    @Test(arguments: [ZarrFormat.v3, .v2])
    func elementUpdatesReconsolidate(_ format: ZarrFormat) async throws {
        let store = MemoryStore()
        try await Small.make().write(to: store, options: WriteOptions(zarrFormat: format))
        try await writeElement(.dict(["x": .strings(["p", "q"])]), store: store, path: "uns/new/deeper")
        #expect(await validate(store).isEmpty)
        let a = try await AnnData.read(from: store)
        #expect(a.uns["new"] == .dict(["deeper": .dict(["x": .strings(["p", "q"])])]))
        #expect(try await readElement(store, path: "uns/new/deeper/x") == .strings(["p", "q"]))
        try await deleteElement(store: store, path: "uns/new")
        #expect(await validate(store).isEmpty)
        #expect(try await AnnData.read(from: store).uns["new"] == nil)
        await #expect(throws: AnnDataError.missingElement(path: "uns/nothing")) { try await deleteElement(store: store, path: "uns/nothing") }
    }
}

/// Paths a dispatch callback saw (thread-safe).
final class SeenPaths: @unchecked Sendable {
    private var paths: [String] = []
    private let lock = NSLock()
    func add(_ p: String) { lock.lock(); paths.append(p); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return paths }
}
