/// `sharding_indexed`: many inner chunks in one stored value (a shard), with an index of
/// (offset, nbytes) pairs at its start or end. Its inner chain is just another `CodecChain`.
/// Reading a region fetches the index with a range request, then only the inner chunks the
/// region touches (see `ZarrArray+Read.swift`).
public struct ShardingCodec: ArrayToBytesCodec {
    /// The v3 name, `sharding_indexed`.
    public static let v3Name = "sharding_indexed"
    /// No numcodecs id: a v3-only codec.
    public static let v2ID: String? = nil
    /// An array→bytes codec.
    public static let kind = CodecKind.arrayToBytes

    /// Where the index lives.
    public enum IndexLocation: String, Sendable { case start, end }

    /// The inner chunk shape.
    public let innerChunkShape: [Int]
    /// The chain that encodes each inner chunk.
    public let innerChain: CodecChain
    /// The chain that encodes the index.
    public let indexChain: CodecChain
    /// Where the index lives.
    public let indexLocation: IndexLocation
    /// The shard spec this codec receives.
    public let shardSpec: ChunkSpec
    /// The encoded index size in bytes.
    public let indexSize: Int
    /// The typed configuration this codec was made from.
    public let configuration: Configuration

    /// The value of an empty entry's offset and size.
    static let empty = UInt64.max

    /// A sharding codec for shards of `shardSpec`.
    public init(
        shardSpec: ChunkSpec, innerChunkShape: [Int], innerCodecs: [CodecSpec]? = nil,
        indexCodecs: [CodecSpec] = CodecSpec.defaultIndexCodecs,
        indexLocation: IndexLocation = .end
    ) throws(ZarrError) {
        guard innerChunkShape.count == shardSpec.shape.count,
            zip(shardSpec.shape, innerChunkShape).allSatisfy({ $1 > 0 && $0 % $1 == 0 })
        else {
            throw .invalidCodecConfiguration(
                codec: Self.v3Name, reason: "inner chunk shape \(innerChunkShape) does not divide the shard shape \(shardSpec.shape)")
        }
        self.shardSpec = shardSpec
        self.innerChunkShape = innerChunkShape
        let innerSpec = ChunkSpec(shape: innerChunkShape, dataType: shardSpec.dataType, fillValue: shardSpec.fillValue)
        self.innerChain = try CodecChain(v3: innerCodecs ?? CodecSpec.defaultChain(for: shardSpec.dataType), spec: innerSpec)
        let grid = zip(shardSpec.shape, innerChunkShape).map { $0 / $1 }
        // Two u64 per inner chunk: a count whose index size overflows is refused here.
        guard case (let count, false)? = try? NDArray.elementCount(grid).multipliedReportingOverflow(by: 16), count < Int.max / 2 else {
            throw .invalidCodecConfiguration(
                codec: Self.v3Name, reason: "shards of shape \(shardSpec.shape) hold too many inner chunks of shape \(innerChunkShape)")
        }
        let indexSpec = ChunkSpec(shape: grid + [2], dataType: .uint64, fillValue: .fixed([UInt8](repeating: 0xFF, count: 8)))
        self.indexChain = try CodecChain(v3: indexCodecs, spec: indexSpec)
        guard let size = indexChain.encodedSize() else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "index_codecs must have a fixed encoded size")
        }
        self.indexSize = size
        self.indexLocation = indexLocation
        self.configuration = Configuration(
            chunkShape: innerChunkShape, codecs: innerCodecs ?? CodecSpec.defaultChain(for: shardSpec.dataType), indexCodecs: indexCodecs,
            indexLocation: indexLocation)
    }

    /// Reads the v3 configuration; an invalid one is a typed error.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c), spec: spec)
    }

    /// A sharding codec of a typed configuration for shards of `spec`.
    public init(configuration c: Configuration, spec: ChunkSpec) throws(ZarrError) {
        try self.init(shardSpec: spec, innerChunkShape: c.chunkShape, innerCodecs: c.codecs, indexCodecs: c.indexCodecs, indexLocation: c.indexLocation)
    }

    /// The v3 configuration written to metadata.
    public var v3Configuration: JSONObject? {
        [
            "chunk_shape": .integers(innerChunkShape), "codecs": .array(innerChain.v3JSON),
            "index_codecs": .array(indexChain.v3JSON), "index_location": .string(indexLocation.rawValue),
        ]
    }

    /// The typed v3 configuration of `sharding_indexed`.
    public struct Configuration: Sendable, Hashable {
        /// The inner chunk shape.
        public var chunkShape: [Int]
        /// The chain of each inner chunk.
        public var codecs: [CodecSpec]
        /// The chain of the index.
        public var indexCodecs: [CodecSpec]
        /// Where the index lives.
        public var indexLocation: IndexLocation
        /// A configuration; the index chain defaults to little-endian `bytes` + `crc32c`.
        public init(chunkShape: [Int], codecs: [CodecSpec], indexCodecs: [CodecSpec] = CodecSpec.defaultIndexCodecs,
                    indexLocation: IndexLocation = .end) {
            self.chunkShape = chunkShape; self.codecs = codecs; self.indexCodecs = indexCodecs; self.indexLocation = indexLocation
        }
        /// Reads `{"chunk_shape", "codecs", "index_codecs", "index_location"}`; a missing
        /// index location means the end.
        init(v3 c: JSONObject) throws(ZarrError) {
            guard let shape = c["chunk_shape"]?.array?.compactMap(\.int), shape.count == c["chunk_shape"]?.array?.count else {
                throw .invalidCodecConfiguration(codec: ShardingCodec.v3Name, reason: "'chunk_shape' must be a list of integers")
            }
            guard let codecs = c["codecs"]?.array else {
                throw .invalidCodecConfiguration(codec: ShardingCodec.v3Name, reason: "'codecs' must be a list")
            }
            guard let indexCodecs = c["index_codecs"]?.array else {
                throw .invalidCodecConfiguration(codec: ShardingCodec.v3Name, reason: "'index_codecs' must be a list")
            }
            switch try c.string("index_location", codec: ShardingCodec.v3Name) {
            case nil, "end": indexLocation = .end
            case "start": indexLocation = .start
            case let other?: throw .invalidCodecConfiguration(codec: ShardingCodec.v3Name, reason: "index_location '\(other)'")
            }
            chunkShape = shape
            self.codecs = codecs.map(CodecSpec.init(json:))
            self.indexCodecs = indexCodecs.map(CodecSpec.init(json:))
        }
        /// `{"chunk_shape", "codecs", "index_codecs", "index_location"}`.
        var v3JSON: JSONObject {
            ["chunk_shape": .integers(chunkShape), "codecs": codecs.json, "index_codecs": indexCodecs.json,
             "index_location": .string(indexLocation.rawValue)]
        }
    }

    /// Inner chunks per dimension of a shard.
    public var innerGrid: [Int] { zip(shardSpec.shape, innerChunkShape).map { $0 / $1 } }
    /// Inner chunks per shard.
    public var innerCount: Int { innerGrid.reduce(1, *) }

    /// The byte range of the index in a shard, as a store request.
    public var indexRange: ByteRange {
        indexLocation == .end ? .suffix(length: indexSize) : .slice(offset: 0, length: indexSize)
    }

    /// Decodes a shard index into (offset, nbytes) pairs in C order of the inner grid; `nil`
    /// marks an empty inner chunk. Throws if an entry is half-empty or points outside the shard
    /// (when `shardSize` is known).
    public func decodeIndex(_ bytes: [UInt8], shardSize: Int?) throws(ZarrError) -> [(offset: Int, size: Int)?] {
        guard bytes.count == indexSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "shard index is \(bytes.count) bytes, expected \(indexSize)")
        }
        let decoded = try indexChain.decode(bytes)
        let raw: [UInt64] = try decoded.values()
        var out: [(offset: Int, size: Int)?] = []
        out.reserveCapacity(innerCount)
        for i in 0..<innerCount {
            let o = raw[2 * i], n = raw[2 * i + 1]
            if o == Self.empty && n == Self.empty { out.append(nil); continue }
            guard o != Self.empty, n != Self.empty, let off = Int(exactly: o), let size = Int(exactly: n), size <= Int.max - off else {
                throw .codecFailure(codec: Self.v3Name, reason: "invalid shard index entry (\(o), \(n))")
            }
            if let shardSize {
                guard off <= shardSize, size <= shardSize - off else {
                    throw .codecFailure(codec: Self.v3Name, reason: "shard index entry (\(o), \(n)) points outside the \(shardSize)-byte shard")
                }
            }
            out.append((off, size))
        }
        return out
    }

    /// The origin of inner chunk `i` (C order) inside the shard.
    func innerOrigin(_ i: Int) -> [Int] {
        var rest = i
        var idx = [Int](repeating: 0, count: innerGrid.count)
        for d in stride(from: innerGrid.count - 1, through: 0, by: -1) {
            idx[d] = rest % innerGrid[d] * innerChunkShape[d]
            rest /= innerGrid[d]
        }
        return idx
    }

    /// The C-order number of the inner chunk at grid index `idx`.
    func innerNumber(_ idx: [Int]) -> Int {
        var n = 0
        for d in 0..<idx.count { n = n * innerGrid[d] + idx[d] }
        return n
    }

    /// Encodes a chunk of `spec` to bytes.
    public func encode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> [UInt8] {
        try encode(chunk, threads: 1)
    }

    /// Encodes a shard, encoding inner chunks on up to `threads` threads. Inner chunks that are
    /// all fill are left out (marked empty); they are laid out in C order.
    ///
    /// `chunk` may be smaller than the shard on any axis: an edge shard clipped at the array's
    /// end. The part it leaves out lies outside the array, so inner chunks wholly there are
    /// left out without being built and partly covered ones are padded with the fill value.
    public func encode(_ chunk: NDArray, threads: Int) throws(ZarrError) -> [UInt8] {
        let zero = [Int](repeating: 0, count: chunk.shape.count)
        return try encodeShard(from: chunk, origin: zero, extent: chunk.shape, threads: threads).bytes
    }

    /// Encodes the shard whose values are the box of `source` that starts at `origin` and has
    /// `extent` (at most the shard's shape; what it leaves out lies outside the array), without
    /// building the shard in memory: each inner chunk is copied out of `source` and encoded.
    /// `stored` is false when every inner chunk is fill (the shard holds only its index).
    public func encodeShard(from source: NDArray, origin: [Int], extent: [Int], threads: Int) throws(ZarrError) -> (bytes: [UInt8], stored: Bool) {
        let n = innerCount
        let rank = innerChunkShape.count
        guard extent.count == rank, origin.count == rank, source.shape.count == rank,
              (0..<rank).allSatisfy({ extent[$0] <= shardSpec.shape[$0] && origin[$0] >= 0 && origin[$0] + extent[$0] <= source.shape[$0] })
        else {
            throw .codecFailure(codec: Self.v3Name, reason: "shard values of shape \(extent) for shards of shape \(shardSpec.shape)")
        }
        try LargeBuffer.checkAllocatable(n * 48, what: "the index of a shard of \(n) inner chunks")
        var encoded = [[UInt8]?](repeating: nil, count: n)
        let slots = UncheckedBox(UnsafeMutableBufferPointer<[UInt8]?>.allocate(capacity: n))
        slots.value.initialize(repeating: nil)
        defer { slots.value.deinitialize(); slots.value.deallocate() }
        let zero = [Int](repeating: 0, count: rank)
        try Parallel.forEach(n, threads: threads) { (i) throws(ZarrError) in
            let at = innerOrigin(i)
            let part = (0..<rank).map { d in max(0, min(innerChunkShape[d], extent[d] - at[d])) }
            if part.contains(0) && !innerChunkShape.contains(0) { return }
            var inner = try NDArray(filling: shardSpec.fillValue, dataType: shardSpec.dataType, shape: innerChunkShape)
            RegionCopy.copy(from: source, srcOrigin: (0..<rank).map { origin[$0] + at[$0] }, to: &inner, dstOrigin: zero, extent: part)
            if inner.isAll(shardSpec.fillValue) { return }
            slots.value[i] = try innerChain.encode(inner)
        }
        for i in 0..<n { encoded[i] = slots.value[i] }
        var index = [UInt64](repeating: Self.empty, count: 2 * n)
        let base = indexLocation == .start ? indexSize : 0
        var offset = base
        for i in 0..<n {
            if let e = encoded[i] {
                index[2 * i] = UInt64(offset)
                index[2 * i + 1] = UInt64(e.count)
                offset += e.count
            }
        }
        let indexBytes = try indexChain.encode(try NDArray(index, shape: innerGrid + [2]))
        var out: [UInt8] = []
        out.reserveCapacity(offset + indexSize)
        if indexLocation == .start { out.append(contentsOf: indexBytes) }
        for e in encoded { if let e { out.append(contentsOf: e) } }
        if indexLocation == .end { out.append(contentsOf: indexBytes) }
        return (out, encoded.contains { $0 != nil })
    }

    /// The index bytes of a whole shard value.
    func indexBytes(of shard: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard shard.count >= indexSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "shard of \(shard.count) bytes is smaller than its \(indexSize)-byte index")
        }
        return indexLocation == .end ? Array(shard[(shard.count - indexSize)...]) : Array(shard[0..<indexSize])
    }

    /// Decodes bytes into a chunk of `spec`; malformed input is a typed error.
    public func decode(_ bytes: [UInt8], spec: ChunkSpec) throws(ZarrError) -> NDArray {
        try decode(bytes, spec: spec, limits: .standard)
    }

    /// Decodes bytes into a chunk of `spec`, each inner chunk within `limits`; malformed
    /// input, or a shard whose memory cannot be had, is a typed error.
    public func decode(_ bytes: [UInt8], spec: ChunkSpec, limits: DecodeLimits) throws(ZarrError) -> NDArray {
        let index = try decodeIndex(try indexBytes(of: bytes), shardSize: bytes.count)
        var shard = try NDArray(filling: spec.fillValue, dataType: spec.dataType, shape: spec.shape)
        let zero = [Int](repeating: 0, count: innerChunkShape.count)
        for (i, entry) in index.enumerated() {
            guard let entry else { continue }
            let inner = try innerChain.decode(Array(bytes[entry.offset..<entry.offset + entry.size]), limits: limits)
            RegionCopy.copy(from: inner, srcOrigin: zero, to: &shard, dstOrigin: innerOrigin(i), extent: innerChunkShape)
        }
        return shard
    }
}
