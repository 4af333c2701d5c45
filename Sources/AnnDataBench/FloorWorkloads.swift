import CZstd
import Dispatch
import Synchronization
import Zarr

/// The codec floor of a full read, measured in the same run as the peers: every chunk of
/// `stores/dense_zstd.zarr` decoded by libzstd alone (`ZSTD_decompressDCtx`, one context per
/// thread, on the codec threads) into a destination that is already faulted in. No store, no
/// metadata, no Zarr pipeline: `dense-read-full`'s seconds divided by these are the engine's
/// overhead over the codec (the target is at most 1.3).
///
///   zstd-floor   chunk files read into memory before the timer; timed: decoding them all.
enum FloorWorkloads {
    static let all: [BenchWorkload] = [
        BenchWorkload(name: "zstd-floor", variants: ["zstd"],
                      summary: "libzstd alone decoding every chunk of dense_zstd.zarr (the floor of dense-read-full)",
                      run: zstdFloor),
    ]

    @Sendable static func zstdFloor(_ c: BenchContext) async throws -> BenchResult {
        let root = c.store("dense_zstd.zarr")
        let array = try await ZarrArray.open(LocalStore(root: root))
        let meta = array.metadata
        guard meta.dataType == .float32, meta.shape.count == 2 else { throw BenchError("zstd-floor expects a 2-D float32 array") }
        let grid = zip(meta.shape, meta.chunkShape).map { ($0 + $1 - 1) / $1 }
        let chunkBytes = meta.chunkShape.reduce(4, *)
        var frames: [[UInt8]] = []
        for i in 0..<grid[0] {
            for j in 0..<grid[1] { frames.append(try BenchFiles.readFile(BenchFiles.join(root, array.chunkKey([i, j])))) }
        }
        let count = frames.count
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: count * chunkBytes, alignment: 64)
        defer { out.deallocate() }
        out.initializeMemory(as: UInt8.self, repeating: 0)  // faulted in: the floor is the codec only
        let threads = c.options.codecThreads
        let failures = FailureCount()
        let input = frames
        // Each chunk has its own region of `out`, so the threads write disjoint bytes.
        let base = Int(bitPattern: out.baseAddress)
        let (_, secs) = await BenchClock.time {
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                guard let dctx = ZSTD_createDCtx() else { failures.add(); return }
                defer { ZSTD_freeDCtx(dctx) }
                for k in stride(from: t, to: count, by: threads) {
                    let n = input[k].withUnsafeBytes { src in
                        ZSTD_decompressDCtx(dctx, UnsafeMutableRawPointer(bitPattern: base + k * chunkBytes), chunkBytes, src.baseAddress, src.count)
                    }
                    if ZSTD_isError(n) != 0 || n != chunkBytes { failures.add() }
                }
            }
        }
        guard failures.value == 0 else { throw BenchError("zstd-floor: \(failures.value) chunks did not decode to \(chunkBytes) bytes") }
        // The values are counts (integers), so the sum does not depend on the chunk order.
        var sum = 0.0
        for v in out.bindMemory(to: Float.self) { sum += Double(v) }
        return BenchResult(seconds: secs, bytes: count * chunkBytes,
                           check: BenchCheck.array(shape: meta.shape, sum: sum),
                           extra: ["chunks": .integer(count), "threads": .integer(threads)])
    }
}

/// A counter that threads of `concurrentPerform` can bump.
final class FailureCount: Sendable {
    private let n = Mutex(0)
    func add() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
