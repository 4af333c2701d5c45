import Zarr

/// How `AnnData.write` and `writeElement` write: a value passed to each call, never global
/// state. The defaults follow anndata 0.13 for library calls (Zarr v3, consolidated
/// metadata), except that sharding is off unless asked for and that the compressor is chosen
/// per data type (`Compressor.automatic`: blosc(zstd, shuffle) for integer arrays, zstd level 0
/// for the rest; see `CodecSpec.defaultCompressor(for:)`).
public struct WriteOptions: Sendable {
    /// The compressor of every array (the last codec of the chain).
    public enum Compressor: Sendable, Hashable {
        /// Zstandard (`zstd`); zarr-python's v3 default is level 0.
        case zstd(level: Int = 0)
        /// Blosc with `cname`, `clevel` and shuffle (`0` none, `1` byte, `2` bit).
        case blosc(cname: String = "lz4", clevel: Int = 5, shuffle: Int = 1)
        /// Gzip / zlib deflate.
        case gzip(level: Int = 5)
        /// zlib deflate (numcodecs `zlib`): what HDF5's gzip filter stores, so `.gzip` becomes
        /// this in an `.h5ad`.
        case zlib(level: Int = 4)
        /// h5py's LZF, for `.h5ad` files only (no Zarr implementation reads it).
        case lzf
        /// No compression.
        case none
        /// The compressor `CodecSpec.defaultCompressor(for:)` picks per data type (v3):
        /// blosc(zstd, byte shuffle, level 2) for integers of two bytes or more, zstd level 0
        /// otherwise. In v2 metadata, zstd level 0.
        case automatic

        /// zstd level 0.
        public static let zstd = Compressor.zstd(level: 0)
        /// blosc lz4, level 5, byte shuffle (zarr-python's v2 default).
        public static let blosc = Compressor.blosc(cname: "lz4", clevel: 5, shuffle: 1)
        /// gzip level 5.
        public static let gzip = Compressor.gzip(level: 5)

        /// The v3 codec for arrays of `type` (`nil` for `.none`).
        public func v3Codec(for type: DataType) -> CodecSpec? {
            if case .automatic = self { return CodecSpec.defaultCompressor(for: type) }
            return v3Codec(typeSize: type.itemSize ?? 1)
        }

        /// The v3 codec for items of `typeSize` bytes (`nil` for `.none`; zstd level 0 for
        /// `.automatic`, which needs the data type: `v3Codec(for:)`).
        public func v3Codec(typeSize: Int) -> CodecSpec? {
            switch self {
            case .automatic: return CodecSpec.defaultCompressor
            case .zstd(let level): return .zstd(level: level, checksum: false)
            case .gzip(let level): return .gzip(level: level)
            case .zlib(let level): return .zlib(level: level)
            case .lzf: return .numcodecs(id: "lzf")
            case .blosc(let cname, let clevel, let shuffle):
                let s: BloscCodec.Shuffle = shuffle == 2 ? .bitShuffle : shuffle == 1 ? .byteShuffle : .noShuffle
                return .blosc(cname: cname, clevel: clevel, shuffle: s, typesize: typeSize, blocksize: 0)
            case .none: return nil
            }
        }

        /// The v3 codec object for items of `typeSize` bytes (`nil` for `.none`).
        public func v3JSON(typeSize: Int) -> JSONValue? { v3Codec(typeSize: typeSize)?.json }

        /// The v2 `compressor` member (`null` for `.none`).
        public var v2JSON: JSONValue {
            switch self {
            case .automatic: return ["id": "zstd", "level": 0]
            case .zstd(let level): return ["id": "zstd", "level": .integer(level)]
            case .gzip(let level): return ["id": "gzip", "level": .integer(level)]
            case .zlib(let level): return ["id": "zlib", "level": .integer(level)]
            case .lzf: return ["id": "lzf"]
            case .blosc(let cname, let clevel, let shuffle):
                return ["id": "blosc", "cname": .string(cname), "clevel": .integer(clevel), "shuffle": .integer(shuffle), "blocksize": 0]
            case .none: return .null
            }
        }
    }

    /// Sharding of v3 arrays.
    public enum Sharding: Sendable, Hashable {
        /// No sharding (anndata 0.12's default; the library default here).
        case off
        /// anndata 0.13's `auto_shard_zarr_v3`: inner chunks guessed with a 1 MiB ceiling, shards
        /// grown by the same factor on every axis while they stay within `targetBytes` and
        /// inside the array. Scalars and rec-arrays are not sharded.
        case auto(targetBytes: Int)

        /// Automatic sharding with anndata 0.13's 1 GB shard target.
        public static let auto = Sharding.auto(targetBytes: 1_000_000_000)
    }

    /// Zarr format to write (3 default, or 2).
    public var zarrFormat: ZarrFormat
    /// Compressor of every array.
    public var compressor: Compressor
    /// Sharding (v3 only). Explicit shards are given per element by `dispatch`.
    public var sharding: Sharding
    /// The chunk shape of a dense `X` (as anndata's `write_zarr(chunks=...)`); other arrays
    /// use zarr-python's chunk guess unless `dispatch` overrides them.
    public var xChunks: [Int]?
    /// Whether to write consolidated metadata (last, after every node).
    public var consolidate: Bool
    /// Called before each element is written; decides to write it as is, with array overrides,
    /// skip it, or write another element instead.
    public var dispatch: WriteCallback?
    /// Threads and store requests for chunk encoding.
    public var concurrency: ConcurrencyOptions
    /// What `AnnData.write` does when the destination already holds a Zarr store: replace it
    /// (the default, as anndata's `write_zarr`) or refuse. A destination that is not empty and
    /// not a Zarr store is always refused.
    public var existingStore: ExistingStorePolicy = .replace
    /// The largest shard (decoded bytes) a streamed write (`LazyAnnDataView.write`) builds
    /// with `sharding: .auto`: a shard is encoded whole, so streamed arrays get shards of at
    /// most this size (the target of `.auto` when smaller), and a dense matrix's shards span
    /// its whole rows. This, not the data size, sets a streamed write's peak memory.
    public var streamingShardBytes: Int = 32 << 20

    /// Options; every argument has anndata's default.
    public init(
        zarrFormat: ZarrFormat = .v3, compressor: Compressor = .automatic, sharding: Sharding = .off, xChunks: [Int]? = nil,
        consolidate: Bool = true, dispatch: WriteCallback? = nil, concurrency: ConcurrencyOptions = .automatic
    ) {
        self.zarrFormat = zarrFormat
        self.compressor = compressor
        self.sharding = sharding
        self.xChunks = xChunks
        self.consolidate = consolidate
        self.dispatch = dispatch
        self.concurrency = concurrency
    }
}
