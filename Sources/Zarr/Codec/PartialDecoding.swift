/// Partial decoding: reading part of a chunk without fetching or decoding all of it.
///
/// An array asks its chain for the *encoded pieces* that hold the part it needs
/// (`CodecChain.pieces(for:from:ioRequests:)`); it never looks at a concrete codec. A chain
/// whose array→bytes codec is a `PartialDecodingCodec` (sharding) answers with the inner chunks
/// the part touches, having read only the index and those chunks' bytes; bytes→bytes codecs that
/// only append to their input (`crc32c`) let the byte ranges through, any other one makes the
/// chain fetch and decode the whole value first and then pick the pieces from memory. Every other
/// chain answers with the whole chunk as one piece. The array then decodes the pieces, in
/// parallel, straight into its output where the layout allows.

/// Which elements of one chunk a read needs: per dimension, sorted, disjoint, non-empty ranges
/// of indices inside the chunk.
public struct ChunkSubset: Sendable, Hashable {
    /// Per dimension, the sorted, disjoint, non-empty ranges of indices.
    public var runs: [[Range<Int>]]

    /// A subset from its runs (sorted, disjoint, non-empty: the caller's promise).
    public init(runs: [[Range<Int>]]) { self.runs = runs }

    /// The whole of a chunk of `shape`.
    public static func all(_ shape: [Int]) -> ChunkSubset { ChunkSubset(runs: shape.map { $0 > 0 ? [0..<$0] : [] }) }

    /// The part of this subset inside the box at `origin` with `shape`, in the box's
    /// coordinates; `nil` when the box holds none of it.
    public func clipped(origin: [Int], shape: [Int]) -> ChunkSubset? {
        var out: [[Range<Int>]] = []
        out.reserveCapacity(runs.count)
        for d in 0..<runs.count {
            let lo = origin[d], hi = origin[d] + shape[d]
            var dim: [Range<Int>] = []
            for r in runs[d] where r.upperBound > lo && r.lowerBound < hi {
                dim.append((Swift.max(r.lowerBound, lo) - lo)..<(Swift.min(r.upperBound, hi) - lo))
            }
            if dim.isEmpty { return nil }
            out.append(dim)
        }
        return ChunkSubset(runs: out)
    }

    /// For each dimension, the sorted indices of the blocks of `blockShape` that the subset
    /// touches.
    public func touchedBlocks(_ blockShape: [Int]) -> [[Int]] {
        (0..<runs.count).map { d in
            var out: [Int] = []
            for r in runs[d] {
                let first = r.lowerBound / blockShape[d], last = (r.upperBound - 1) / blockShape[d]
                for b in first...last where out.last.map({ $0 < b }) ?? true { out.append(b) }
            }
            return out
        }
    }
}

/// Where a partial decoder reads the bytes of one stored value (a chunk, a shard, an inner
/// chunk of a shard) from: a store key, bytes already in memory, or a part of another source.
/// Each call asks for several ranges at once, so that a remote store can merge them into fewer
/// requests.
public protocol ByteRangeSource: Sendable {
    /// The parts `ranges` of the value, in order (each clamped to the value as
    /// `ReadableStore.get(_:range:)` does), or `nil` if the value does not exist. A part
    /// longer than `limit` bytes is a typed error, found before it is read.
    func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]?
    /// The value's size when it is known without a request (bytes in memory, a part of a
    /// value), else `nil`.
    var knownSize: Int? { get }
    /// The limits of the store the bytes come from.
    var readLimits: ReadLimits { get }
    /// The store key the bytes come from, for messages.
    var key: String { get }
}

/// The value at a store key. Several ranges go to a `MultiRangeReadableStore` in one call (it
/// merges neighbours); other stores get one request per range, at most `ioRequests` at once.
public struct StoreValueSource: ByteRangeSource {
    /// The store.
    public let store: any ReadableStore
    /// The key of the value.
    public let key: String
    /// Requests in flight at once when a store takes one range per request.
    public let ioRequests: Int

    /// The value at `key` in `store`.
    public init(store: any ReadableStore, key: String, ioRequests: Int = 16) {
        self.store = store; self.key = key; self.ioRequests = Swift.max(1, ioRequests)
    }

    /// Unknown until read.
    public var knownSize: Int? { nil }
    /// The store's limits.
    public var readLimits: ReadLimits { store.readLimits }

    /// Reads the parts; a value that disappears between two requests is a typed error.
    public func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]? {
        if ranges.isEmpty { return [] }
        for case .slice(let offset, let length) in ranges where length > limit {
            throw ZarrError.valueTooLarge(key: "\(key) [\(offset)+\(length)]", size: length, limit: limit)
        }
        let store = self.store, key = self.key
        if ranges.count == 1 {
            return try await store.get(key, range: ranges[0], limit: limit).map { [$0] }
        }
        if let multi = store as? any MultiRangeReadableStore {
            return try await multi.get(key, ranges: ranges)
        }
        let parts = try await Parallel.map(ranges, limit: ioRequests) { r in try await store.get(key, range: r, limit: limit) }
        let found = parts.compactMap { $0 }
        if found.isEmpty { return nil }
        guard found.count == parts.count else {
            throw ZarrError.corruptChunk(key: key, reason: "the value disappeared while it was read")
        }
        return found
    }
}

/// A value already in memory (a whole shard that was fetched, or decoded bytes).
public struct InMemoryByteSource: ByteRangeSource {
    /// The bytes.
    public let bytes: [UInt8]
    /// The store key they came from, for messages.
    public let key: String
    /// The limits of the store they came from.
    public let readLimits: ReadLimits

    /// The value `bytes`, read from `key`.
    public init(_ bytes: [UInt8], key: String, readLimits: ReadLimits = .standard) {
        self.bytes = bytes; self.key = key; self.readLimits = readLimits
    }

    /// The size of the bytes.
    public var knownSize: Int? { bytes.count }

    /// Copies the parts out (no request).
    public func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]? {
        ranges.map { r in
            let span = r.resolved(size: bytes.count)
            return span.count == bytes.count ? bytes : Array(bytes[span])
        }
    }
}

/// `length` bytes at `offset` of another source, seen as a value of its own (an inner chunk of
/// a shard, for a nested shard's partial reads).
public struct ByteSubrangeSource: ByteRangeSource {
    /// The source that holds the part.
    public let base: any ByteRangeSource
    /// Where the part starts in `base`.
    public let offset: Int
    /// Its length.
    public let length: Int

    /// The part of `base` of `length` bytes at `offset`.
    public init(base: any ByteRangeSource, offset: Int, length: Int) {
        self.base = base; self.offset = Swift.max(0, offset); self.length = Swift.max(0, length)
    }

    /// The part's length.
    public var knownSize: Int? { length }
    /// The base's limits.
    public var readLimits: ReadLimits { base.readLimits }
    /// The base's key.
    public var key: String { base.key }

    /// Reads the parts as ranges of the base.
    public func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]? {
        let mapped: [ByteRange] = ranges.map { r in
            let span = r.resolved(size: length)
            return .slice(offset: offset + span.lowerBound, length: span.count)
        }
        guard let parts = try await base.read(mapped, limit: limit) else { return nil }
        for (part, r) in zip(parts, mapped) {
            guard case .slice(let o, let l) = r, part.count != l else { continue }
            throw ZarrError.corruptChunk(
                key: key, reason: "\(part.count) bytes at \(o) where \(l) were indexed: the value is shorter than its index says")
        }
        return parts
    }
}

/// One encoded piece of a chunk that a read needs: the bytes of the whole chunk, or of one
/// inner chunk of a shard, with the chain that decodes them and where the piece lies.
public struct EncodedPiece: Sendable {
    /// The encoded bytes; `nil` when the piece is not stored (it reads as the fill value).
    public var bytes: [UInt8]?
    /// The chain that decodes `bytes` into an array of `chain.spec` (the piece's shape).
    public var chain: CodecChain
    /// Where the piece starts inside the chunk that was asked for.
    public var origin: [Int]

    /// A piece.
    public init(bytes: [UInt8]?, chain: CodecChain, origin: [Int]) {
        self.bytes = bytes; self.chain = chain; self.origin = origin
    }

    /// The piece's shape.
    public var shape: [Int] { chain.spec.shape }
}

/// An array→bytes codec that can read part of a chunk: it names the encoded pieces a subset
/// needs, reading only their bytes (sharding: the index, then the inner chunks).
public protocol PartialDecodingCodec: ArrayToBytesCodec {
    /// The pieces that hold `subset` of a chunk of this codec's spec, read from `source`, with
    /// at most `ioRequests` reads in flight. A missing value gives pieces without bytes.
    func pieces(for subset: ChunkSubset, from source: any ByteRangeSource, ioRequests: Int) async throws -> [EncodedPiece]
    /// The shape of the smallest part of a chunk that decodes on its own.
    var readGranule: [Int] { get }
    /// The number of separately encoded parts in a chunk (inner chunks of nested shards, plus
    /// their indexes), for size limits.
    var encodedPartCount: Int { get }
}

/// An array→bytes codec that encodes a chunk straight from a box of a larger array, on several
/// threads, and accepts a chunk clipped at the array's edge (sharding: inner chunks beyond the
/// edge are left out without being built). Writers ask the chain for it
/// (`CodecChain.regionEncoder`) instead of naming a codec.
public protocol RegionEncodingCodec: ArrayToBytesCodec {
    /// Encodes the chunk whose values are the box of `source` at `origin` with `extent` (at
    /// most the chunk's shape; what it leaves out lies outside the array) on up to `threads`
    /// threads. `stored` is false when the chunk holds only the fill value.
    func encodeRegion(from source: NDArray, origin: [Int], extent: [Int], threads: Int) throws(ZarrError) -> (bytes: [UInt8], stored: Bool)
    /// Encodes a chunk (possibly clipped at the array's edge) on up to `threads` threads.
    func encode(_ chunk: NDArray, threads: Int) throws(ZarrError) -> [UInt8]
}

/// A bytes→bytes codec whose decoded bytes are a prefix of its encoded bytes (a checksum it
/// appends): partial reads pass through it, without checking what they skip.
public protocol PrefixPreservingBytesCodec: BytesToBytesCodec {
    /// The bytes this codec appends to what it encodes.
    var suffixLength: Int { get }
}

/// The decoded bytes of a `PrefixPreservingBytesCodec` over a source of its encoded bytes. A
/// request for the whole value is decoded (so checked); parts are read unchecked.
struct PrefixDecodedSource: ByteRangeSource {
    let base: any ByteRangeSource
    /// The codec (possibly spelled `numcodecs.<id>`), which decodes whole values.
    let codec: any BytesToBytesCodec
    /// The bytes it appends.
    let suffixLength: Int

    var knownSize: Int? { base.knownSize.map { Swift.max(0, $0 - suffixLength) } }
    var readLimits: ReadLimits { base.readLimits }
    var key: String { base.key }

    func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]? {
        let n = suffixLength
        var mapped: [ByteRange] = []
        for r in ranges {
            switch r {
            case .all: mapped.append(.all)
            case .slice(let o, let l):
                if let size = knownSize {
                    let span = r.resolved(size: size)
                    mapped.append(.slice(offset: span.lowerBound, length: span.count))
                } else {
                    mapped.append(.slice(offset: o, length: l))
                }
            case .from(let o): mapped.append(.from(offset: o))
            case .suffix(let l): mapped.append(.suffix(length: l + n))
            }
        }
        guard let parts = try await base.read(mapped, limit: limit + n) else { return nil }
        var out: [[UInt8]] = []
        out.reserveCapacity(parts.count)
        for (part, r) in zip(parts, ranges) {
            switch r {
            case .all:
                out.append(try codec.decode(part, expectedSize: Swift.max(0, part.count - n), limit: Swift.max(0, part.count - n)))
            case .slice:
                out.append(part)
            case .from, .suffix:
                guard part.count >= n else {
                    throw ZarrError.codecFailure(codec: codec.v3WrittenName, reason: "a value of \(part.count) bytes has no room for its \(n)-byte checksum")
                }
                out.append(Array(part[0..<(part.count - n)]))
            }
        }
        return out
    }
}

extension CodecChain {
    /// Whether a read of part of a chunk reads and decodes less than the whole chunk: the
    /// chain has no array→array codec and its array→bytes codec decodes partially.
    public var decodesPartially: Bool {
        arrayToArray.isEmpty && arrayToBytes is any PartialDecodingCodec
    }

    /// The array→bytes codec when it encodes regions itself and nothing else is in the chain
    /// (sharding alone), else `nil`.
    public var regionEncoder: (any RegionEncodingCodec)? {
        guard arrayToArray.isEmpty, bytesToBytes.isEmpty else { return nil }
        return arrayToBytes as? any RegionEncodingCodec
    }

    /// The shape of the smallest part of a chunk that decodes on its own: the innermost chunk
    /// shape of (nested) sharding when the chain decodes partially, else the chunk shape.
    public var readGranule: [Int] {
        guard arrayToArray.isEmpty, let p = arrayToBytes as? any PartialDecodingCodec else { return spec.shape }
        return p.readGranule
    }

    /// The number of separately encoded parts in one chunk (1 unless sharded).
    public var encodedPartCount: Int {
        (arrayToBytes as? any PartialDecodingCodec)?.encodedPartCount ?? 1
    }

    /// The most bytes one encoded chunk of this chain may take under `readLimits` (see
    /// `ReadLimits.encodedChunkBound`).
    public func encodedChunkLimit(_ readLimits: ReadLimits) -> Int {
        readLimits.encodedLimit(of: spec, parts: encodedPartCount)
    }

    /// The encoded pieces that hold `subset` of one chunk, read from `source` with at most
    /// `ioRequests` reads in flight. A chain that decodes partially reads only what the pieces
    /// need (through prefix-preserving bytes→bytes codecs; behind any other bytes→bytes codec
    /// it fetches and decodes the whole value, then picks the pieces in memory). Any other
    /// chain gives the whole chunk as one piece. A missing value gives pieces without bytes.
    public func pieces(
        for subset: ChunkSubset, from source: any ByteRangeSource, ioRequests: Int, limits: DecodeLimits = .standard
    ) async throws -> [EncodedPiece] {
        let zero = [Int](repeating: 0, count: spec.shape.count)
        guard arrayToArray.isEmpty, let partial = arrayToBytes as? any PartialDecodingCodec else {
            let bytes = try await source.read([.all], limit: encodedChunkLimit(source.readLimits))?.first
            return [EncodedPiece(bytes: bytes, chain: self, origin: zero)]
        }
        var inner: any ByteRangeSource = source
        var remaining = bytesToBytes.count
        while remaining > 0, let n = Self.appendedLength(bytesToBytes[remaining - 1]) {
            inner = PrefixDecodedSource(base: inner, codec: bytesToBytes[remaining - 1], suffixLength: n)
            remaining -= 1
        }
        if remaining > 0 {
            // A codec that transforms the bytes: the whole value is fetched and decoded, then the
            // pieces are picked from memory.
            guard let whole = try await inner.read([.all], limit: encodedChunkLimit(source.readLimits))?.first else {
                return try await partial.pieces(for: subset, from: MissingValueSource(key: source.key, readLimits: source.readLimits), ioRequests: ioRequests)
            }
            let decoded = try decodeBytes(whole, through: remaining, limits: limits)
            inner = InMemoryByteSource(decoded, key: source.key, readLimits: source.readLimits)
        }
        return try await partial.pieces(for: subset, from: inner, ioRequests: ioRequests)
    }

    /// The bytes a prefix-preserving codec appends (also when spelled `numcodecs.<id>`), or
    /// `nil` for a codec that transforms its input.
    static func appendedLength(_ codec: any BytesToBytesCodec) -> Int? {
        if let p = codec as? any PrefixPreservingBytesCodec { return p.suffixLength }
        if let named = codec as? NumcodecsNamed, let p = named.base as? any PrefixPreservingBytesCodec { return p.suffixLength }
        return nil
    }

    /// Undoes the first `count` bytes→bytes codecs (outermost first), each bounded as in
    /// `decode(_:limits:)`.
    func decodeBytes(_ bytes: [UInt8], through count: Int, limits: DecodeLimits) throws(ZarrError) -> [UInt8] {
        var b = bytes
        let sizes = decodedSizes
        let bounds = decodedLimits(limits)
        for i in stride(from: count - 1, through: 0, by: -1) {
            b = try bytesToBytes[i].decode(b, expectedSize: sizes[i], limit: bounds[i])
        }
        return b
    }
}

/// A value that does not exist: every read answers `nil`.
struct MissingValueSource: ByteRangeSource {
    let key: String
    let readLimits: ReadLimits
    var knownSize: Int? { nil }
    func read(_ ranges: [ByteRange], limit: Int) async throws -> [[UInt8]]? { nil }
}
