import Foundation

/// zarr-python's chunk-shape guess (`_guess_chunks`), which anndata relies on for every array,
/// and anndata 0.13's automatic shard shape.
public enum ChunkGuess {
    /// Starts from the full shape (zero-length axes count as 1), targets
    /// `256 KiB * 2**log10(bytes / 1 MiB)` clamped to [128 KiB, `maxBytes`], and halves axes
    /// round-robin until the chunk is below the target (or within 50 % of it) and below `maxBytes`.
    /// Variable-length items count as 1 byte.
    public static func chunks(shape: [Int], itemSize: Int, maxBytes: Double = 64 * 1024 * 1024) -> [Int] {
        if shape.isEmpty { return [] }
        let typesize = Double(max(itemSize, 1))
        var chunks = shape.map { Double(max($0, 1)) }
        let incrementBytes = 256.0 * 1024, minBytes = 128.0 * 1024
        let datasetSize = chunks.reduce(1, *) * typesize
        var target = incrementBytes * pow(2, log10(datasetSize / (1024.0 * 1024)))
        if target > maxBytes { target = maxBytes } else if target < minBytes { target = minBytes }
        var idx = 0
        while true {
            let count = chunks.reduce(1, *)
            let chunkBytes = count * typesize
            if (chunkBytes < target || abs(chunkBytes - target) / target < 0.5) && chunkBytes < maxBytes { break }
            if count == 1 { break }
            let i = idx % chunks.count
            chunks[i] = (chunks[i] / 2).rounded(.up)
            idx += 1
        }
        return chunks.map { Int($0) }
    }

    /// anndata 0.13's `shards="auto"` with `array.target_shard_size_bytes`: inner chunks guessed
    /// with a 1 MiB ceiling, then every axis multiplied by the same factor while the shard stays
    /// within `targetBytes` and inside the array. Returns `(inner, shard)`.
    public static func autoShard(shape: [Int], itemSize: Int, targetBytes: Int) -> (inner: [Int], shard: [Int]) {
        let inner = chunks(shape: shape, itemSize: itemSize, maxBytes: 1024 * 1024)
        guard !shape.isEmpty else { return ([], []) }
        let innerBytes = inner.reduce(1, *) * max(itemSize, 1)
        var factor = max(1, zip(shape, inner).map { max($0, 1) / $1 }.min() ?? 1)
        let byBytes = pow(Double(targetBytes) / Double(max(innerBytes, 1)), 1 / Double(shape.count))
        if byBytes.isFinite { factor = min(factor, max(1, Int(byBytes.rounded(.down)) + 1)) }
        while factor > 1 && Double(innerBytes) * pow(Double(factor), Double(shape.count)) > Double(targetBytes) { factor -= 1 }
        return (inner, inner.map { $0 * factor })
    }
}
