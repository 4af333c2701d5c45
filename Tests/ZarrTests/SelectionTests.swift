import Foundation
import Testing
@testable import Zarr

/// The selection engine (`ZarrArray.read(_: [DimensionSelection])`) and the partial decoders
/// behind it: results equal an element-by-element reference for every layout, each chunk is
/// fetched once per read, and sharded values are read only where a selection needs them.
@Suite struct SelectionTests {
    static let shape = [11, 9, 5]

    /// The codec layouts read by every selection test: plain chunks, shards with the index at
    /// the end and at the start, a checksum after sharding, nested sharding, sharding behind a
    /// compressor.
    static let layouts: [(name: String, chunks: [Int], codecs: JSONValue)] = {
        let bytes: JSONValue = ["name": "bytes", "configuration": ["endian": "little"]]
        let zstd: JSONValue = ["name": "zstd", "configuration": ["level": 1, "checksum": false]]
        let index: JSONValue = [bytes, ["name": "crc32c"]]
        func sharding(_ inner: [Int], _ codecs: JSONValue, at location: String = "end") -> JSONValue {
            ["name": "sharding_indexed", "configuration": [
                "chunk_shape": .integers(inner), "codecs": codecs, "index_codecs": index, "index_location": .string(location)]]
        }
        return [
            ("plain", [4, 3, 2], [bytes, zstd]),
            ("sharded-end", [8, 6, 4], [sharding([4, 3, 2], [bytes, zstd])]),
            ("sharded-start", [8, 6, 4], [sharding([4, 3, 2], [bytes, zstd], at: "start")]),
            ("sharded-crc32c", [8, 6, 4], [sharding([4, 3, 2], [bytes, zstd]), ["name": "crc32c"]]),
            ("nested", [8, 6, 4], [sharding([4, 3, 2], [sharding([2, 3, 1], [bytes, zstd], at: "start")])]),
            ("sharded-gzip", [8, 6, 4], [sharding([4, 3, 2], [bytes]), ["name": "gzip", "configuration": ["level": 1]]]),
        ]
    }()

    /// Creates an int32 array from a v3 document with `codecs`, filled with 0, 1, 2, ... in C
    /// order.
    static func makeArray(_ store: any WritableStore, path: String, shape: [Int], chunks: [Int], codecs: JSONValue) async throws -> ZarrArray {
        let document: JSONValue = [
            "zarr_format": 3, "node_type": "array", "shape": .integers(shape), "data_type": "int32",
            "chunk_grid": ["name": "regular", "configuration": ["chunk_shape": .integers(chunks)]],
            "chunk_key_encoding": ["name": "default", "configuration": ["separator": "/"]],
            "fill_value": 0, "codecs": codecs, "attributes": [:],
        ]
        let metadata = try ArrayMetadata.parseV3(document, path: path)
        let a = try await ZarrArray.create(store, path: path, metadata: metadata)
        try await a.write(all: try iota(shape))
        return try await ZarrArray.open(store, path: path)
    }

    /// The indices a selection takes on an axis of `extent`, in order.
    static func indices(_ s: DimensionSelection, extent: Int) -> [Int] {
        switch s {
        case .all: return Array(0..<extent)
        case .range(let r): return Array(r)
        case .indices(let i): return i
        case .ranges(let rs): return rs.flatMap { Array($0) }
        case .mask(let m): return m.indices.filter { m[$0] }
        }
    }

    /// The reference: the selected elements of an iota array of `shape`, in C order.
    static func reference(_ selection: [DimensionSelection], shape: [Int]) -> [Int32] {
        let axes = zip(selection, shape).map { indices($0, extent: $1) }
        var out: [Int32] = []
        for i in axes[0] { for j in axes[1] { for k in axes[2] { out.append(Int32((i * shape[1] + j) * shape[2] + k)) } } }
        return out
    }

    static let selections: [[DimensionSelection]] = [
        [.all, .all, .all],
        [.range(2..<9), .range(1..<8), .range(1..<4)],
        [.indices([7, 1, 1, 10, 0]), .range(2..<8), .mask([true, false, false, true, true])],
        [.ranges([5..<9, 0..<2, 6..<7, 6..<7]), .all, .indices([4, 0])],
        [.indices([3]), .indices([8, 0, 4]), .indices([2, 2])],
        [.indices([]), .all, .all],
        [.mask([Bool](repeating: false, count: 11)), .range(0..<0), .all],
    ]

    @Test(arguments: layouts.map(\.name))
    func selectionsMatchTheElementwiseReference(_ layout: String) async throws {
        let store = MemoryStore()
        let spec = try #require(Self.layouts.first { $0.name == layout })
        let a = try await Self.makeArray(store, path: "a", shape: Self.shape, chunks: spec.chunks, codecs: spec.codecs)
        for selection in Self.selections {
            for threads in [1, 3] {
                let out = try await a.read(selection, options: ConcurrencyOptions(codecThreads: threads, ioRequests: 4))
                let expectedShape = zip(selection, Self.shape).map { Self.indices($0, extent: $1).count }
                #expect(out.shape == expectedShape, "\(layout) \(selection)")
                let values = try out.values(as: Int32.self)
                #expect(values == Self.reference(selection, shape: Self.shape), "\(layout) \(selection)")
            }
        }
        // A region read is the range selection.
        let region = try await a.read([3..<10, 2..<9, 0..<5])
        #expect(try region.values(as: Int32.self) == Self.reference([.range(3..<10), .range(2..<9), .all], shape: Self.shape))
    }

    @Test func vFOrderAndVariableLengthArraysTakeSelectionsToo() async throws {
        let store = MemoryStore()
        let f = try await ZarrArray.create(store, path: "f", metadata: ArrayMetadata(
            shape: [6, 4], chunkShape: [4, 3], dataType: .int32, zarrFormat: .v2,
            v2: V2ArrayOptions(order: "F", compressor: ["id": "zstd", "level": 1])))
        try await f.write(all: try iota([6, 4]))
        let part = try await f.read([.indices([5, 0, 5]), .indices([3, 1])])
        #expect(try part.values(as: Int32.self) == [23, 21, 3, 1, 23, 21])
        let s = try await ZarrArray.create(store, path: "s", metadata: ArrayMetadata(shape: [7], chunkShape: [3], dataType: .string))
        try await s.write(all: try NDArray(strings: ["a", "b", "c", "d", "e", "f", "g"], shape: [7]))
        try await store.delete("s/c/1")  // "d", "e", "f" read as the fill value
        #expect(try await s.read([.indices([6, 0, 3, 0])]).strings() == ["g", "a", "", "a"])
    }

    @Test func eachChunkIsFetchedOncePerRead() async throws {
        let store = RecordingStore()
        let a = try await Self.makeArray(store, path: "a", shape: [100], chunks: [10], codecs: [["name": "bytes", "configuration": ["endian": "little"]]])
        store.reset()
        let out = try await a.read([.indices([95, 3, 3, 57, 4, 96, 3, 50])])
        #expect(try out.values(as: Int32.self) == [95, 3, 3, 57, 4, 96, 3, 50])
        let keys = store.log.map(\.key).sorted()
        #expect(keys == ["a/c/0", "a/c/5", "a/c/9"])
        #expect(store.log.allSatisfy { $0.range == .all })
    }

    @Test func shardedReadsFetchTheIndexesAndOnlyTheTouchedInnerChunks() async throws {
        for layout in Self.layouts where layout.name != "plain" {
            let store = RecordingStore()
            let a = try await Self.makeArray(store, path: "a", shape: Self.shape, chunks: layout.chunks, codecs: layout.codecs)
            store.reset()
            // Elements (2, 1, 1) and (1, 1, 1): one inner chunk of shard (0, 0, 0), two
            // innermost chunks of it when nested.
            let out = try await a.read([.indices([2, 1]), .indices([1]), .indices([1])])
            #expect(try out.values(as: Int32.self) == [96, 51], "\(layout.name)")
            let log = store.log
            #expect(log.allSatisfy { $0.key == "a/c/0/0/0" }, "\(layout.name)")
            switch layout.name {
            case "sharded-gzip":
                // A compressor after sharding: the shard is read whole, once.
                #expect(log.count == 1 && log.first?.range == .all, "\(layout.name)")
            case "nested":
                // Outer index, inner index, two innermost chunks.
                #expect(log.count == 4 && !log.contains { $0.range == .all }, "\(layout.name): \(log)")
            default:
                // Index, then one inner chunk; never the whole shard.
                #expect(log.count == 2 && !log.contains { $0.range == .all }, "\(layout.name): \(log)")
            }
        }
    }

    @Test func readGranuleIsTheInnermostChunk() async throws {
        let store = MemoryStore()
        var granules: [String: [Int]] = [:]
        for layout in Self.layouts {
            granules[layout.name] = try await Self.makeArray(store, path: layout.name, shape: Self.shape, chunks: layout.chunks, codecs: layout.codecs).readGranule
        }
        #expect(granules == ["plain": [4, 3, 2], "sharded-end": [4, 3, 2], "sharded-start": [4, 3, 2],
                             "sharded-crc32c": [4, 3, 2], "nested": [2, 3, 1], "sharded-gzip": [4, 3, 2]])
    }

    @Test func aCorruptInnerChecksumIsFoundWhenTheWholeShardIsRead() async throws {
        let store = MemoryStore()
        let layout = try #require(Self.layouts.first { $0.name == "sharded-crc32c" })
        let a = try await Self.makeArray(store, path: "a", shape: Self.shape, chunks: layout.chunks, codecs: layout.codecs)
        var shard = try #require(try await store.get("a/c/0/0/0"))
        shard[shard.count - 1] ^= 0xFF
        try await store.set("a/c/0/0/0", shard)
        await #expect(throws: ZarrError.self) { _ = try await a.read([0..<8, 0..<6, 0..<4]) }
    }

    @Test func readIntoACallersBuffer() async throws {
        let store = MemoryStore()
        let a = try await Self.makeArray(store, path: "a", shape: Self.shape, chunks: [4, 3, 2], codecs: Self.layouts[0].codecs)
        let selection: [DimensionSelection] = [.indices([10, 2]), .range(3..<5), .all]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * 2 * 5 * 4, alignment: 16)
        defer { buffer.deallocate() }
        try await a.read(selection, into: buffer)
        let values = Array(buffer.bindMemory(to: Int32.self))
        #expect(values == Self.reference(selection, shape: Self.shape))
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 16)
        defer { small.deallocate() }
        await #expect(throws: ZarrError.self) { try await a.read(selection, into: small) }
        let s = try await ZarrArray.create(store, path: "s", metadata: ArrayMetadata(shape: [2], chunkShape: [2], dataType: .string))
        await #expect(throws: ZarrError.self) { try await s.read([.all], into: small) }
    }

    @Test func badSelectionsAreTypedErrors() async throws {
        let store = MemoryStore()
        let a = try await Self.makeArray(store, path: "a", shape: [4, 3], chunks: [2, 2], codecs: Self.layouts[0].codecs)
        let bad: [[DimensionSelection]] = [
            [.indices([4]), .all], [.indices([-1]), .all], [.all, .mask([true, false])],
            [.range(0..<5), .all], [.ranges([2..<5]), .all], [.all], [.all, .all, .all],
        ]
        for selection in bad {
            await #expect(throws: ZarrError.self, "\(selection)") { _ = try await a.read(selection) }
        }
        // Ranges whose lengths add up beyond Int.max are refused, not summed into a trap.
        let huge = try await ZarrArray.create(store, path: "huge", metadata: ArrayMetadata(shape: [1 << 62], chunkShape: [1 << 20], dataType: .int8))
        await #expect(throws: ZarrError.self) { _ = try await huge.read([.ranges([0..<(1 << 62), 0..<(1 << 62)])]) }
    }

    @Test func cancellingAReadStopsItsFetches() async throws {
        // Each fetch takes two minutes unless cancelled: a read that ignored cancellation would
        // take at least that long, one that stops its fetches ends at once (the bound is wide
        // for a loaded machine).
        let store = SlowStore(base: MemoryStore(), delay: .seconds(120))
        let a = try await Self.makeArray(store.base, path: "a", shape: [64], chunks: [1], codecs: Self.layouts[0].codecs)
        let slow = try ZarrArray(store: store, path: "a", metadata: a.metadata)
        let started = ContinuousClock.now
        let task = Task { try await slow.read() }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: (any Error).self) { _ = try await task.value }
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}

/// A store whose chunk reads take `delay` (or until the task is cancelled).
final class SlowStore: ReadableStore {
    let base: MemoryStore
    let delay: Duration
    init(base: MemoryStore, delay: Duration) { self.base = base; self.delay = delay }
    var storeDescription: String { "slow" }
    func get(_ key: String) async throws -> [UInt8]? { try await get(key, range: .all) }
    func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        try await Task.sleep(for: delay)
        return try await base.get(key, range: range)
    }
}
