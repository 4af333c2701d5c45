extension ShardingCodec: PartialDecodingCodec {
    /// The innermost chunk shape: this codec's inner chunks, or those of a nested shard.
    public var readGranule: [Int] { innerChain.readGranule }

    /// The inner chunks of every (nested) shard, plus one index each.
    public var encodedPartCount: Int {
        let (p, o) = innerCount.multipliedReportingOverflow(by: innerChain.encodedPartCount)
        return o || p == .max ? .max : p + 1
    }

    /// The inner chunks that `subset` touches. When they are at least half of the shard, the
    /// shard is read in one request; otherwise its index first (a range request at its start or
    /// end), then only those inner chunks, in one call so that a remote store merges
    /// neighbours. An inner chain that decodes partially itself (nested sharding) is asked in
    /// turn, over the inner chunk's byte range. Cost: one or two reads plus the inner chunks'
    /// bytes; nothing is decoded here.
    public func pieces(for subset: ChunkSubset, from source: any ByteRangeSource, ioRequests: Int) async throws -> [EncodedPiece] {
        let touched = subset.touchedBlocks(innerChunkShape)
        var numbers: [Int] = []
        var origins: [[Int]] = []
        var idx = touched.map { _ in 0 }
        if !touched.contains(where: \.isEmpty) {
            while true {
                let grid = (0..<idx.count).map { touched[$0][idx[$0]] }
                numbers.append(innerNumber(grid))
                origins.append(zip(grid, innerChunkShape).map(*))
                var d = idx.count - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < touched[d].count { break }
                    idx[d] = 0
                    d -= 1
                }
                if d < 0 { break }
            }
        }
        let missing = zip(numbers, origins).map { EncodedPiece(bytes: nil, chain: innerChain, origin: $1) }
        if numbers.isEmpty { return [] }

        var base = source
        let index: [(offset: Int, size: Int)?]
        if numbers.count * 2 >= innerCount && source.knownSize == nil {
            // Most of the shard is needed: one request for all of it.
            guard let shard = try await source.read([.all], limit: source.readLimits.encodedLimit(of: shardSpec, parts: encodedPartCount))?.first else { return missing }
            index = try decodeIndex(try indexBytes(of: shard), shardSize: shard.count)
            base = InMemoryByteSource(shard, key: source.key, readLimits: source.readLimits)
        } else {
            guard let bytes = try await source.read([indexRange], limit: indexSize)?.first else { return missing }
            index = try decodeIndex(bytes, shardSize: source.knownSize)
        }

        let innerLimit = innerChain.encodedChunkLimit(source.readLimits)
        if innerChain.decodesPartially {
            // Nested sharding: each inner shard is asked for its own part of the subset.
            let jobs = Array(zip(numbers, origins))
            let shared = base
            let chain = innerChain, shape = innerChunkShape
            let nested = try await Parallel.map(jobs, limit: ioRequests) { (number, origin) -> [EncodedPiece] in
                guard let e = index[number] else {
                    return [EncodedPiece(bytes: nil, chain: chain, origin: origin)]
                }
                guard let local = subset.clipped(origin: origin, shape: shape) else { return [] }
                let sub = ByteSubrangeSource(base: shared, offset: e.offset, length: e.size)
                return try await chain.pieces(for: local, from: sub, ioRequests: ioRequests).map { p in
                    EncodedPiece(bytes: p.bytes, chain: p.chain, origin: zip(origin, p.origin).map(+))
                }
            }
            return nested.flatMap { $0 }
        }
        let stored: [(k: Int, offset: Int, size: Int)] = numbers.indices.compactMap { k in
            index[numbers[k]].map { (k, $0.offset, $0.size) }
        }
        let ranges: [ByteRange] = stored.map { .slice(offset: $0.offset, length: $0.size) }
        guard let parts = try await base.read(ranges, limit: innerLimit) else {
            throw ZarrError.corruptChunk(key: source.key, reason: "the shard disappeared while it was read")
        }
        var out = missing
        guard parts.count == stored.count else {
            throw ZarrError.corruptChunk(key: source.key, reason: "\(parts.count) inner chunks read where \(stored.count) were asked for")
        }
        for (e, part) in zip(stored, parts) {
            guard part.count == e.size else {
                throw ZarrError.corruptChunk(key: source.key, reason: "inner chunk at \(e.offset)+\(e.size) lies outside the shard")
            }
            out[e.k].bytes = part
        }
        return out
    }
}

extension ShardingCodec: RegionEncodingCodec {
    /// `encodeShard(from:origin:extent:threads:)`.
    public func encodeRegion(from source: NDArray, origin: [Int], extent: [Int], threads: Int) throws(ZarrError) -> (bytes: [UInt8], stored: Bool) {
        try encodeShard(from: source, origin: origin, extent: extent, threads: threads)
    }
}
