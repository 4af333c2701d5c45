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
        // Few big chunks (one shard, say): parallelise inside each; many: one chunk per task.
        let innerThreads = overlaps.count >= threads ? 1 : threads
        let valuesCopy = v
        _ = try await Parallel.map(overlaps, limit: max(threads, 2)) { ov in
            try await self.writeChunk(ov, values: valuesCopy, store: store, innerThreads: innerThreads)
        }
    }

    /// Writes the whole array from `values`.
    public func write(all values: NDArray, options: ConcurrencyOptions = .automatic) async throws {
        guard values.shape == shape else {
            throw ZarrError.valueMismatch("values of shape \(values.shape) for an array of shape \(shape) at '\(path)'")
        }
        try await write(values, at: nil, options: options)
    }

    func writeChunk(_ ov: ChunkGrid.Overlap, values: NDArray, store: any WritableStore, innerThreads: Int) async throws {
        let key = chunkKey(ov.chunk)
        var chunkShape = metadata.chunkShape
        if shardingCodec != nil {
            // A shard at the array's edge is built only up to the edge: the sharding codec
            // leaves out the inner chunks beyond it without materialising them.
            let start = zip(ov.chunk, chunkShape).map { $0 * $1 }
            chunkShape = (0..<chunkShape.count).map { min(chunkShape[$0], shape[$0] - start[$0]) }
        }
        if let sharding = shardingCodec, ov.extent == chunkShape {
            // The values cover the whole shard (up to the array's edge): encode its inner
            // chunks straight from them, never building the shard.
            let shard = try sharding.encodeShard(from: values, origin: ov.inRegion, extent: ov.extent, threads: innerThreads)
            if shard.stored { try await store.set(key, shard.bytes) } else { try await store.delete(key) }
            return
        }
        var chunk: NDArray
        if ov.coversChunk {
            // Every element is copied in just below: no fill to write first.
            chunk = try NDArray.uninitialized(dataType: dataType, shape: chunkShape)
        } else if let old = try await store.get(key, range: .all, limit: encodedChunkLimit) {
            do throws(ZarrError) {
                chunk = try chain.decode(old, limits: decodeLimits)
            } catch {
                throw error.inChunk(key)
            }
        } else {
            chunk = try NDArray(filling: metadata.fillValue, dataType: dataType, shape: chunkShape)
        }
        RegionCopy.copy(from: values, srcOrigin: ov.inRegion, to: &chunk, dstOrigin: ov.inChunk, extent: ov.extent)
        if chunk.isAll(metadata.fillValue) {
            try await store.delete(key)
            return
        }
        let encoded: [UInt8]
        if let sharding = shardingCodec {
            encoded = try sharding.encode(chunk, threads: innerThreads)
        } else {
            encoded = try chain.encode(chunk)
        }
        try await store.set(key, encoded)
    }
}
