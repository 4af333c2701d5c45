#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ZarrArray {
    /// One piece of work for the decoders: the encoded bytes of a chunk (or `nil` for a missing
    /// one) and where its overlap goes.
    struct DecodeJob: Sendable {
        var key: String
        var bytes: [UInt8]?
        var chain: CodecChain
        var inChunk: [Int]
        var inRegion: [Int]
        var extent: [Int]
        var chunkShape: [Int]
        var coversChunk: Bool
    }

    /// Reads `region` (the whole array when `nil`). Only the chunks the region touches are
    /// fetched; for sharded arrays, only the shard indexes and the inner chunks it touches.
    /// Missing chunks read as the fill value.
    public func read(_ region: [Range<Int>]? = nil, options: ConcurrencyOptions = .automatic) async throws -> NDArray {
        let region = region ?? fullRegion
        try checkRegion(region)
        let outShape = region.map(\.count)
        var out = try NDArray.uninitialized(dataType: dataType, shape: outShape, hugePages: options.hugePages)
        let overlaps = metadata.grid.overlaps(region)
        // Work in batches so that encoded bytes in memory stay bounded (two batches at most):
        // the next batch is fetched while the current one is decoded.
        let batch = max(4 * options.codecThreads, 16)
        let scratch = ScratchBuffers(count: options.codecThreads)
        var start = 0
        func nextFetch() -> Task<[DecodeJob], any Error>? {
            guard start < overlaps.count else { return nil }
            let part = Array(overlaps[start..<min(start + batch, overlaps.count)])
            start += part.count
            return Task { try await self.fetchJobs(part, options: options) }
        }
        var pending = nextFetch()
        while let current = pending {
            let jobs = try await current.value
            pending = nextFetch()
            do {
                try decode(jobs, into: &out, options: options, scratch: scratch)
            } catch {
                pending?.cancel()
                _ = try? await pending?.value
                throw error
            }
        }
        try checkCodePoints(out, region: region)
        return out
    }

    /// For `U<n>` (UTF-32) arrays: every code unit must be a Unicode scalar value (not a
    /// surrogate, at most U+10FFFF) or the zero padding. Anything else is a typed error naming
    /// the chunk that holds it, never a silent U+FFFD later.
    func checkCodePoints(_ values: NDArray, region: [Range<Int>]) throws(ZarrError) {
        guard case .fixedUTF32(let length) = dataType, length > 0, case .fixed(let b) = values.storage else { return }
        let bad: Int? = b.withUnsafeBytes { raw in
            let units = raw.count / 4
            for u in 0..<units {
                let v = raw.loadUnaligned(fromByteOffset: 4 * u, as: UInt32.self).littleEndian
                if v > 0x10FFFF || (0xD800...0xDFFF).contains(v) { return u }
            }
            return nil
        }
        guard let unit = bad else { return }
        // The element's index in the region, then in the array, then its chunk.
        var rest = unit / length
        var index = [Int](repeating: 0, count: region.count)
        for d in stride(from: region.count - 1, through: 0, by: -1) {
            let n = Swift.max(region[d].count, 1)
            index[d] = region[d].lowerBound + rest % n
            rest /= n
        }
        let chunk = zip(index, metadata.chunkShape).map { $0 / $1 }
        let v = b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4 * unit, as: UInt32.self).littleEndian }
        let hex = String(v, radix: 16, uppercase: true)
        throw ZarrError.corruptChunk(
            key: chunkKey(chunk),
            reason: "element \(index) of \(dataType.name) array '\(path)' holds 0x\(hex), not a Unicode scalar value")
    }

    /// Fetches what the overlaps need: whole chunks, or shard indexes then inner chunks.
    func fetchJobs(_ overlaps: [ChunkGrid.Overlap], options: ConcurrencyOptions) async throws -> [DecodeJob] {
        let store = self.store
        if let sharding = shardingCodec {
            let nested = try await Parallel.map(overlaps, limit: options.ioRequests) { ov in
                try await self.shardJobs(ov, sharding: sharding, store: store, options: options)
            }
            return nested.flatMap { $0 }
        }
        let chain = self.chain
        let chunkShape = metadata.chunkShape
        let limit = encodedChunkLimit
        return try await Parallel.map(overlaps, limit: options.ioRequests) { ov in
            let key = self.chunkKey(ov.chunk)
            let bytes = try await store.get(key, range: .all, limit: limit)
            return DecodeJob(key: key, bytes: bytes, chain: chain, inChunk: ov.inChunk, inRegion: ov.inRegion,
                             extent: ov.extent, chunkShape: chunkShape, coversChunk: ov.coversChunk)
        }
    }

    /// The inner-chunk jobs of one shard overlap.
    func shardJobs(_ ov: ChunkGrid.Overlap, sharding: ShardingCodec, store: any ReadableStore, options: ConcurrencyOptions) async throws -> [DecodeJob] {
        let key = chunkKey(ov.chunk)
        let innerShape = sharding.innerChunkShape
        let innerGrid = ChunkGrid(shape: metadata.chunkShape, chunkShape: innerShape)
        let region = (0..<ov.extent.count).map { ov.inChunk[$0]..<(ov.inChunk[$0] + ov.extent[$0]) }
        let inner = innerGrid.overlaps(region)
        @Sendable func job(_ io: ChunkGrid.Overlap, _ bytes: [UInt8]?) -> DecodeJob {
            DecodeJob(key: key, bytes: bytes, chain: sharding.innerChain, inChunk: io.inChunk,
                      inRegion: zip(ov.inRegion, io.inRegion).map(+), extent: io.extent, chunkShape: innerShape,
                      coversChunk: io.coversChunk)
        }
        do {
            if ov.coversChunk || inner.count * 2 >= sharding.innerCount {
                // Most of the shard is needed: one request for all of it.
                guard let shard = try await store.get(key, range: .all, limit: encodedChunkLimit) else { return inner.map { job($0, nil) } }
                let index = try sharding.decodeIndex(try sharding.indexBytes(of: shard), shardSize: shard.count)
                return inner.map { io in
                    guard let e = index[sharding.innerNumber(io.chunk)] else { return job(io, nil) }
                    return job(io, Array(shard[e.offset..<e.offset + e.size]))
                }
            }
            guard let indexBytes = try await store.get(key, range: sharding.indexRange) else { return inner.map { job($0, nil) } }
            let index = try sharding.decodeIndex(indexBytes, shardSize: nil)
            if let multi = store as? any MultiRangeReadableStore {
                // A remote store: one call for every inner chunk, adjacent ones merged into one
                // request by the store.
                let wanted = inner.compactMap { io in index[sharding.innerNumber(io.chunk)] }
                guard let parts = try await multi.get(key, ranges: wanted.map { .slice(offset: $0.offset, length: $0.size) }) else {
                    throw ZarrError.corruptChunk(key: key, reason: "the shard disappeared while it was read")
                }
                var next = 0
                return try inner.map { io in
                    guard let e = index[sharding.innerNumber(io.chunk)] else { return job(io, nil) }
                    defer { next += 1 }
                    guard next < parts.count, parts[next].count == e.size else {
                        throw ZarrError.corruptChunk(key: key, reason: "inner chunk at \(e.offset)+\(e.size) lies outside the shard")
                    }
                    return job(io, parts[next])
                }
            }
            let innerLimit = encodedInnerChunkLimit(sharding)
            return try await Parallel.map(inner, limit: options.ioRequests) { io in
                guard let e = index[sharding.innerNumber(io.chunk)] else { return job(io, nil) }
                guard let bytes = try await store.get(key, range: .slice(offset: e.offset, length: e.size), limit: innerLimit),
                      bytes.count == e.size else {
                    throw ZarrError.corruptChunk(key: key, reason: "inner chunk at \(e.offset)+\(e.size) lies outside the shard")
                }
                return job(io, bytes)
            }
        } catch let error as ZarrError {
            if case .codecFailure(_, let reason) = error { throw ZarrError.corruptChunk(key: key, reason: reason) }
            throw error
        }
    }

    /// Decodes jobs into `out` on up to `options.codecThreads` threads.
    func decode(_ jobs: [DecodeJob], into out: inout NDArray, options: ConcurrencyOptions, scratch: ScratchBuffers) throws(ZarrError) {
        let shape = out.shape
        let fill = metadata.fillValue
        let type = dataType
        let limits = decodeLimits
        switch out.storage {
        case .fixed(var buffer):
            out.storage = .fixed([])
            defer { out.storage = .fixed(buffer) }
            let size = type.itemSize ?? 1
            let element = fill.elementBytes(for: type)
            let failure: ZarrError? = buffer.withUnsafeMutableBytes { dst in
                guard let base = dst.baseAddress else { return nil }
                let target = UncheckedBox(base)
                do throws(ZarrError) { try Parallel.forEach(jobs.count, threads: options.codecThreads) { (worker: Int, i: Int) throws(ZarrError) in
                    let job = jobs[i]
                    let dstBase = target.value
                    guard let bytes = job.bytes else {
                        RegionCopy.fill(dstBase, shape: shape, origin: job.inRegion, extent: job.extent, element: element)
                        return
                    }
                    do throws(ZarrError) {
                        if job.coversChunk, job.chain.decodesInPlace,
                            RegionCopy.isContiguous(shape: shape, origin: job.inRegion, extent: job.extent)
                        {
                            let off = RegionCopy.offset(of: job.inRegion, shape: shape, itemSize: size)
                            let span = UnsafeMutableRawBufferPointer(start: dstBase + off, count: job.extent.reduce(1, *) * size)
                            if try job.chain.decode(bytes, into: span) { return }
                        }
                        if job.chain.decodesInPlace {
                            // Decode into this worker's reused buffer (no fresh pages per chunk), then copy.
                            let chunkBytes = try LargeBuffer.checkedBytes(
                                count: try LargeBuffer.checkedCount(job.chunkShape, what: "a chunk"), itemSize: size, what: "a chunk")
                            let buf = try scratch.buffer(worker, bytes: chunkBytes)
                            if try job.chain.decode(bytes, into: buf), let s = buf.baseAddress {
                                RegionCopy.copy(from: s, srcShape: job.chunkShape, srcOrigin: job.inChunk, to: dstBase, dstShape: shape,
                                                dstOrigin: job.inRegion, extent: job.extent, itemSize: size)
                                return
                            }
                        }
                        let chunk = try job.chain.decode(bytes, limits: limits)
                        chunk.bytes.withUnsafeBytes { src in
                            guard let s = src.baseAddress else { return }
                            RegionCopy.copy(from: s, srcShape: job.chunkShape, srcOrigin: job.inChunk, to: dstBase, dstShape: shape,
                                            dstOrigin: job.inRegion, extent: job.extent, itemSize: size)
                        }
                    } catch {
                        throw error.inChunk(job.key)
                    }
                } } catch { return error }
                return nil
            }
            if let failure { throw failure }
        case .variable:
            // Variable-length chunks decode in parallel, then are placed in order.
            let slots = UncheckedBox(UnsafeMutableBufferPointer<NDArray?>.allocate(capacity: jobs.count))
            slots.value.initialize(repeating: nil)
            defer { slots.value.deinitialize(); slots.value.deallocate() }
            try Parallel.forEach(jobs.count, threads: options.codecThreads) { (i) throws(ZarrError) in
                guard let bytes = jobs[i].bytes else { return }
                do throws(ZarrError) {
                    slots.value[i] = try jobs[i].chain.decode(bytes, limits: limits)
                } catch {
                    throw error.inChunk(jobs[i].key)
                }
            }
            for (i, job) in jobs.enumerated() {
                let chunk: NDArray
                if let decoded = slots.value[i] { chunk = decoded } else { chunk = try NDArray(filling: fill, dataType: type, shape: job.chunkShape) }
                RegionCopy.copy(from: chunk, srcOrigin: job.inChunk, to: &out, dstOrigin: job.inRegion, extent: job.extent)
            }
        }
    }
}

extension NDArray {
    /// An array whose fixed-size bytes are not yet written (every byte is written by the read
    /// before it is returned); variable-length arrays start empty. `hugePages`: see
    /// `ConcurrencyOptions.hugePages`.
    /// Throws instead of trapping when the size overflows or exceeds what can be allocated.
    static func uninitialized(dataType: DataType, shape: [Int], hugePages: Bool = false) throws(ZarrError) -> NDArray {
        let n = try LargeBuffer.checkedCount(shape, what: "an array")
        if let size = dataType.itemSize {
            let total = try LargeBuffer.checkedBytes(count: n, itemSize: size, what: "an array of shape \(shape)")
            let bytes = try LargeBuffer.bytes(total, what: "an array of shape \(shape)") { buffer in
                if hugePages { LargeBuffer.adviseHugePages(UnsafeMutableRawBufferPointer(buffer)) }
                return total
            }
            return NDArray(unchecked: dataType, shape: shape, storage: .fixed(bytes))
        }
        _ = try LargeBuffer.checkedBytes(count: n, itemSize: MemoryLayout<[UInt8]>.stride, what: "an array of shape \(shape)")
        return NDArray(unchecked: dataType, shape: shape, storage: .variable([[UInt8]](repeating: [], count: n)))
    }

    init(unchecked dataType: DataType, shape: [Int], storage: Storage) {
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }
}

extension ZarrError {
    /// The error of decoding the chunk at `key`: `corruptChunk` with this error's reason,
    /// except memory that cannot be had, which says so.
    func inChunk(_ key: String) -> ZarrError {
        if case .outOfMemory(let w, let b, let a) = self { return .outOfMemory(what: "\(w) for chunk '\(key)'", bytes: b, available: a) }
        return .corruptChunk(key: key, reason: reasonText)
    }

    /// The reason part of a codec error, for wrapping into `corruptChunk`.
    var reasonText: String {
        switch self {
        case .codecFailure(let c, let r): return "\(c): \(r)"
        case .corruptChunk(_, let r): return r
        default: return description
        }
    }
}

/// One reusable decode buffer per worker, for the duration of one read.
final class ScratchBuffers: @unchecked Sendable {
    // Each worker touches only its own slot of this fixed table, so no lock is needed.
    private let slots: UnsafeMutableBufferPointer<UnsafeMutableRawBufferPointer>

    init(count: Int) {
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// Worker `worker`'s buffer, exactly `bytes` long (grown when needed); memory that
    /// cannot be had is a typed error.
    func buffer(_ worker: Int, bytes: Int) throws(ZarrError) -> UnsafeMutableRawBufferPointer {
        let w = worker % slots.count
        if slots[w].count < bytes {
            free(slots[w].baseAddress)
            slots[w] = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            slots[w] = try LargeBuffer.allocateRaw(bytes, alignment: 64, what: "a chunk buffer")
        }
        return UnsafeMutableRawBufferPointer(rebasing: slots[w][0..<bytes])
    }

    deinit {
        for b in slots { free(b.baseAddress) }
        slots.deallocate()
    }
}
