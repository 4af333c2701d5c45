import Foundation
import Testing
@testable import Zarr

/// Reads into recycled memory: the pool's rules, and that recycling never changes a value
/// anyone holds (a buffer still shared is copied before it is reused).
@Suite struct BufferRecyclingTests {
    @Test func thePoolGivesTheSmallestBufferThatFitsAndKeepsWithinItsLimits() {
        let pool = BufferRecycler(limit: 3, byteLimit: 1000)
        pool.recycle([UInt8](repeating: 1, count: 100))
        pool.recycle([UInt8](repeating: 2, count: 300))
        pool.recycle([UInt8](repeating: 3, count: 200))
        #expect(pool.count == 3)
        // Best fit: 150 bytes come from the 200-byte buffer, resized within its capacity.
        let b = pool.reused(150)
        #expect(b?.count == 150 && b?.first == 3)
        #expect(pool.reused(5000) == nil)
        #expect(pool.count == 2)
        // Beyond `limit` buffers, or `byteLimit` bytes, the smallest go.
        pool.recycle([UInt8](repeating: 4, count: 250))
        pool.recycle([UInt8](repeating: 5, count: 260))
        #expect(pool.count == 3)
        #expect(pool.reused(50)?.first == 4, "the 100-byte buffer was dropped first")
        pool.recycle([UInt8](repeating: 6, count: 900))
        #expect(pool.count == 1, "900 + 260 + 300 bytes exceed 1000: only the biggest stays")
        pool.recycle([UInt8](repeating: 7, count: 2000))
        #expect(pool.count == 1, "a buffer bigger than the whole budget is not kept")
        // A grown buffer: zeroes past the old count, within capacity.
        let grown = pool.reused(900)
        #expect(grown?.count == 900)
    }

    @Test func recycledReadsEqualFreshOnesAndNeverChangeHeldValues() async throws {
        let dir = temporaryDirectory("recycle")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalStore(root: dir)
        let spec = ChunkSpec(shape: [64], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [8])   // bytes + zstd inside
        let values = (0..<500).map { Int32($0 * 3 - 700) }
        let a = try await ZarrArray.create(store, path: "a", metadata: ArrayMetadata(
            shape: [500], chunkShape: [64], dataType: .int32, codecs: [codec.codecSpec]))
        try await a.write(all: try NDArray(values, shape: [500]))
        let back = try await ZarrArray.open(store, path: "a")
        let pool = BufferRecycler(limit: 4)
        var held: [(NDArray, [Int32])] = []
        for (k, runs) in [[3..<90, 200..<260], [0..<500], [17..<18, 400..<499], [5..<300], [250..<251]].enumerated() {
            let sel: [DimensionSelection] = [.ranges(runs)]
            let got = try await back.read(sel, recycling: pool)
            let expected = runs.flatMap { values[$0] }
            #expect(try got.values(as: Int32.self) == expected, "read \(k)")
            #expect(try await back.read(sel) == got)
            // Hand the storage back while still holding the value: the next reads must copy
            // rather than write into it.
            pool.recycle(got)
            held.append((got, expected))
        }
        for (k, (value, expected)) in held.enumerated() {
            #expect(try value.values(as: Int32.self) == expected, "held read \(k) changed after its buffer was recycled")
        }
    }

    @Test func localMultiRangeReadsMatchSingleReadsAndRecycledBuffers() async throws {
        let dir = temporaryDirectory("ranges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalStore(root: dir)
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try await store.set("k/v", bytes)
        // More ranges than one pool job takes, overlapping, empty, past the end, and a suffix.
        var ranges: [ByteRange] = (0..<70).map { .slice(offset: $0 * 140, length: 50 + $0) }
        ranges += [.slice(offset: 9_990, length: 100), .slice(offset: 5, length: 0), .suffix(length: 16), .from(offset: 9_000), .all]
        let got = try #require(try await store.get("k/v", ranges: ranges))
        #expect(got.count == ranges.count)
        for (r, part) in zip(ranges, got) {
            #expect(part == (try await store.get("k/v", range: r)), "range \(r)")
        }
        // Buffers handed back are refilled by later reads; a held one keeps its contents.
        let held = got[3]
        store.recycle(got)
        let again = try #require(try await store.get("k/v", ranges: ranges))
        #expect(again == got)
        #expect(held == Array(bytes[420..<473]))
        #expect(try await store.get("missing", ranges: ranges) == nil)
        #expect(try await store.get("k/v", ranges: []) == [])
    }
}
