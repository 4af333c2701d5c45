extension ZarrArray {
    /// Writes `values` into the box that starts at `origin` (the array's start when `nil`) and
    /// has `values.shape`. Chunks the box covers whole are encoded straight from the values;
    /// chunks it covers in part are read, updated and rewritten. A chunk that ends up all fill
    /// value is deleted rather than written, as zarr-python does. Each chunk is replaced
    /// atomically by the store, so a failed write leaves every chunk old or new.
    public func write(_ values: NDArray, at origin: [Int]? = nil, options: ConcurrencyOptions = .automatic) async throws {
        guard let store = store as? any WritableStore else {
            throw ZarrError.unsupportedOperation("the store \(self.store.storeDescription) is read-only")
        }
        let origin = origin ?? [Int](repeating: 0, count: shape.count)
        guard origin.count == shape.count, values.shape.count == shape.count else {
            throw ZarrError.valueMismatch("values of rank \(values.shape.count) for an array of rank \(shape.count) at '\(path)'")
        }
        var region: [Range<Int>] = []
        for d in 0..<shape.count {
            let (end, overflow) = origin[d].addingReportingOverflow(values.shape[d])
            guard !overflow, origin[d] >= 0, values.shape[d] >= 0 else {
                throw ZarrError.invalidSelection("values of shape \(values.shape) at \(origin) are outside 0:\(shape[d]) on axis \(d) at '\(path)'")
            }
            region.append(origin[d]..<end)
        }
        try checkRegion(region)
        var v = values
        if v.dataType != dataType {
            // Same bytes, other spelling (a U<n> written as a v3 fixed string, say) is not allowed.
            throw ZarrError.valueMismatch("values of type \(values.dataType) for an array of \(dataType) at '\(path)'")
        }
        if case .variable = v.storage, !dataType.isVariableLength { throw ZarrError.valueMismatch("variable-length values for \(dataType)") }
        v.shape = values.shape
        let overlaps = metadata.grid.overlaps(region)
        let threads = options.codecThreads
        // Few big chunks (one shard, say): parallelise inside each; many: one chunk per thread.
        let innerThreads = overlaps.count >= threads ? 1 : threads
        try await writeChunks(overlaps, values: v, store: store, threads: threads, innerThreads: innerThreads,
                              ioRequests: options.ioRequests)
    }

    /// Writes the whole array from `values`.
    public func write(all values: NDArray, options: ConcurrencyOptions = .automatic) async throws {
        guard values.shape == shape else {
            throw ZarrError.valueMismatch("values of shape \(values.shape) for an array of shape \(shape) at '\(path)'")
        }
        try await write(values, at: nil, options: options)
    }

    /// What writing one chunk comes to: its encoded bytes, or `nil` to delete it (all fill value).
    struct ChunkUpdate: Sendable {
        let key: String
        let bytes: [UInt8]?
    }

    /// Writes the chunks of `overlaps` in batches of four per thread (fewer waits for a batch's
    /// slowest chunk; measured level with one task per chunk): the chunks a batch covers only in
    /// part are read (async, `ioRequests` at once), the batch is encoded on at most `threads`
    /// threads (`Parallel.forEach`, the bounded pool reads decode on, not the cooperative pool),
    /// and its values are stored (async) while the next batch is read and encoded.
    func writeChunks(
        _ overlaps: [ChunkGrid.Overlap], values: NDArray, store: any WritableStore, threads: Int, innerThreads: Int,
        ioRequests: Int
    ) async throws {
        let batchSize = max(4 * threads, 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var storing = false
            var start = 0
            while start < overlaps.count {
                let batch = Array(overlaps[start..<min(start + batchSize, overlaps.count)])
                start += batch.count
                let old: [[UInt8]?] = try await Parallel.map(batch, limit: ioRequests) { ov in
                    guard self.needsOldValue(ov) else { return nil }
                    return try await store.get(self.chunkKey(ov.chunk), range: .all, limit: self.encodedChunkLimit)
                }
                var updates = [ChunkUpdate?](repeating: nil, count: batch.count)
                try updates.withUnsafeMutableBufferPointer { (out) throws(ZarrError) in
                    let out = out
                    try Parallel.forEach(batch.count, threads: threads) { (i: Int) throws(ZarrError) in
                        out[i] = try self.encodeChunk(batch[i], old: old[i], values: values, innerThreads: innerThreads)
                    }
                }
                // At most one batch is being stored while the next one encodes.
                if storing { try await group.next() }
                let ready = updates.compactMap { $0 }
                group.addTask {
                    _ = try await Parallel.map(ready, limit: ioRequests) { update in
                        if let bytes = update.bytes { try await store.set(update.key, bytes) } else { try await store.delete(update.key) }
                    }
                }
                storing = true
            }
            try await group.waitForAll()
        }
    }

    /// The shape a chunk is built with: a shard at the array's edge only up to the edge (the
    /// region encoder, sharding, leaves out the inner chunks beyond it without materialising them).
    func writeShape(_ ov: ChunkGrid.Overlap) -> [Int] {
        var chunkShape = metadata.chunkShape
        if regionEncoder != nil {
            let start = zip(ov.chunk, chunkShape).map { $0 * $1 }
            chunkShape = (0..<chunkShape.count).map { min(chunkShape[$0], shape[$0] - start[$0]) }
        }
        return chunkShape
    }

    /// Whether writing `ov` starts from the chunk's stored value (the values cover it in part).
    func needsOldValue(_ ov: ChunkGrid.Overlap) -> Bool {
        if regionEncoder != nil, ov.extent == writeShape(ov) { return false }
        return !ov.coversChunk
    }

    /// The encoded chunk for `ov`: the values copied into its stored value `old` (or the fill
    /// value), or `nil` bytes when the result is all fill value.
    func encodeChunk(_ ov: ChunkGrid.Overlap, old: [UInt8]?, values: NDArray, innerThreads: Int) throws(ZarrError) -> ChunkUpdate {
        let key = chunkKey(ov.chunk)
        let chunkShape = writeShape(ov)
        if let encoder = regionEncoder, ov.extent == chunkShape {
            // The values cover the whole shard (up to the array's edge): encode its inner
            // chunks straight from them, never building the shard.
            let shard = try encoder.encodeRegion(from: values, origin: ov.inRegion, extent: ov.extent, threads: innerThreads)
            return ChunkUpdate(key: key, bytes: shard.stored ? shard.bytes : nil)
        }
        var chunk: NDArray
        if ov.coversChunk {
            // Every element is copied in just below: no fill to write first.
            chunk = try NDArray.uninitialized(dataType: dataType, shape: chunkShape)
        } else if let old {
            do throws(ZarrError) {
                chunk = try chain.decode(old, limits: decodeLimits)
            } catch {
                throw error.inChunk(key)
            }
        } else {
            chunk = try NDArray(filling: metadata.fillValue, dataType: dataType, shape: chunkShape)
        }
        RegionCopy.copy(from: values, srcOrigin: ov.inRegion, to: &chunk, dstOrigin: ov.inChunk, extent: ov.extent)
        if chunk.isAll(metadata.fillValue) { return ChunkUpdate(key: key, bytes: nil) }
        if let encoder = regionEncoder {
            return ChunkUpdate(key: key, bytes: try encoder.encode(chunk, threads: innerThreads))
        }
        return ChunkUpdate(key: key, bytes: try chain.encode(chunk))
    }
}
