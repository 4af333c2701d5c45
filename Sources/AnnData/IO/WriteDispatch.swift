import Zarr

/// Changes to the arrays of one element (anndata's `dataset_kwargs`): they apply to every
/// array the element writes itself (a sparse matrix's `data`/`indices`/`indptr`) and are
/// inherited by its sub-elements (a categorical's `codes`), whose own decision may override them.
public struct ArrayOverrides: Sendable, Hashable {
    /// The (inner) chunk shape.
    public var chunks: [Int]?
    /// The shard shape (v3 only); the chunks become the inner chunks.
    public var shards: [Int]?
    /// The compressor.
    public var compressor: WriteOptions.Compressor?
    /// A complete v3 codec list, replacing what the options would build.
    public var codecs: [CodecSpec]?

    /// Overrides; `nil` keeps the default.
    public init(chunks: [Int]? = nil, shards: [Int]? = nil, compressor: WriteOptions.Compressor? = nil, codecs: [CodecSpec]? = nil) {
        self.chunks = chunks
        self.shards = shards
        self.compressor = compressor
        self.codecs = codecs
    }

    /// These overrides with `other`'s non-nil members taking precedence.
    public func merged(with other: ArrayOverrides) -> ArrayOverrides {
        ArrayOverrides(chunks: other.chunks ?? chunks, shards: other.shards ?? shards,
                       compressor: other.compressor ?? compressor, codecs: other.codecs ?? codecs)
    }
}

/// What a dispatch callback decides for one element.
public enum WriteDecision: Sendable {
    /// Write the element as the options say.
    case write
    /// Write it with these array overrides (chunks, shards, codecs).
    case writeWith(ArrayOverrides)
    /// Do not write it (nor anything below it).
    case skip
    /// Write this element instead.
    case replace(Element)
}

/// A caller-supplied hook called before every element is written, with the element path,
/// its `encoding-type` and the element (anndata's `write_dispatched` callback).
public typealias WriteCallback = @Sendable (_ path: String, _ encodingType: String, _ element: Element) async throws -> WriteDecision
