import Synchronization
import Zarr

/// Records the metadata of every node a write creates, so consolidated metadata can be
/// written without listing the store.
final class NodeRecorder: Sendable {
    private let nodes = Mutex<[(path: String, node: NodeMetadata)]>([])
    func record(_ path: String, _ node: NodeMetadata) { nodes.withLock { $0.append((path, node)) } }
    var all: [(path: String, node: NodeMetadata)] { nodes.withLock { $0 } }
}

/// What kind of array a writer creates (decides chunking and sharding).
public enum ArrayRole: Sendable {
    /// An ordinary array of rank >= 1: guessed chunks, shardable.
    case data
    /// A 0-d scalar: no chunking, never sharded; v2 fill value `null`, as anndata writes.
    case scalar
    /// A 0-d `null` marker: never has a chunk.
    case null
    /// A structured array: never auto-sharded.
    case recArray
    /// A dense `X`: `WriteOptions.xChunks` applies.
    case x
}

/// Writes elements into a store: dispatch through the callback and the registry, groups, and
/// arrays with the metadata the options and overrides call for.
public struct ElementWriter: Sendable {
    /// The store.
    public let store: any WritableStore
    /// The options.
    public let options: WriteOptions
    /// The encodings.
    public let registry: EncodingRegistry
    let recorder: NodeRecorder
    /// The overrides inherited from the enclosing element (anndata's `dataset_kwargs`).
    public var overrides: ArrayOverrides = ArrayOverrides()

    init(store: any WritableStore, options: WriteOptions, registry: EncodingRegistry, recorder: NodeRecorder = NodeRecorder()) {
        self.store = store
        self.options = options
        self.registry = registry
        self.recorder = recorder
    }

    /// The Zarr format written.
    public var format: ZarrFormat { options.zarrFormat }

    /// Writes `element` at `path`: asks the dispatch callback, then the registry's writer for
    /// the element's `encoding-type`.
    public func write(_ element: Element, at path: String) async throws(AnnDataError) {
        var element = element
        var sub = self
        if let dispatch = options.dispatch {
            let decision = try await annotating(path) { try await dispatch(path, element.encodingType, element) }
            switch decision {
            case .write: break
            case .skip: return
            case .replace(let e): element = e
            case .writeWith(let o): sub.overrides = overrides.merged(with: o)
            }
        }
        let type = element.encodingType
        guard let encoding = registry.writer(for: type), let write = encoding.write else {
            throw .unsupported(path: path, reason: "no writer for encoding-type '\(type)'")
        }
        let w = sub
        try await annotating(path) { try await write(w, path, element) }
    }

    /// The encoding attributes of the registered writer for `type`.
    public func encodingAttributes(_ type: String) -> JSONObject {
        EncodingKey(type, registry.writer(for: type)?.key.version ?? "").attributes
    }

    /// Creates a group at `path` with `attributes` (parents are created as needed).
    public func createGroup(_ path: String, attributes: JSONObject) async throws(AnnDataError) {
        let fmt = format
        try await annotating(path) {
            try await ZarrGroup.create(store, path: path, format: fmt, attributes: attributes)
        }
        recorder.record(path, .group(GroupMetadata(zarrFormat: fmt, attributes: attributes)))
    }

    /// Creates the array at `path` for `values` and writes them (chunks equal to the fill value
    /// are not written, as zarr-python does).
    public func writeArray(_ path: String, _ values: NDArray, attributes: JSONObject, role: ArrayRole = .data) async throws(AnnDataError) {
        var values = values
        switch values.dataType {
        case .fixedUTF32, .fixedBytes, .bytes:
            do { values = try NDArray(strings: try values.strings(), shape: values.shape) } catch {
                throw .invalidElement(path: path, reason: error.description)
            }
        default: break
        }
        let meta = try arrayMetadata(path, dataType: values.dataType, shape: values.shape, attributes: attributes, role: role)
        let conc = options.concurrency
        let v = values
        try await annotating(path) {
            let array = try await ZarrArray.create(store, path: path, metadata: meta)
            if role != .null && v.count > 0 { try await array.write(all: v, options: conc) }
        }
        recorder.record(path, .array(meta))
    }

    /// The metadata an array of `dataType` and `shape` gets under the current options and overrides.
    public func arrayMetadata(
        _ path: String, dataType: DataType, shape: [Int], attributes: JSONObject, role: ArrayRole
    ) throws(AnnDataError) -> ArrayMetadata {
        let rank = shape.count
        let itemSize = dataType.itemSize ?? 1
        if case .structured(let fields) = dataType, fields.contains(where: { $0.type.isVariableLength }) {
            throw .unsupported(path: path, reason: "a rec-array field of variable length cannot be stored in Zarr")
        }
        // Chunks and shards.
        var chunks: [Int]
        var shards: [Int]?
        let scalarLike = rank == 0 || role == .scalar || role == .null
        if scalarLike {
            chunks = shape.map { max($0, 1) }
        } else {
            chunks = ChunkGuess.chunks(shape: shape, itemSize: itemSize)
            if role == .x, let x = options.xChunks { chunks = x }
            if let c = overrides.chunks { chunks = c }
            if let s = overrides.shards {
                shards = s
            } else if overrides.chunks == nil, case .auto(let target) = options.sharding, format == .v3, role != .recArray {
                let (inner, shard) = ChunkGuess.autoShard(shape: shape, itemSize: itemSize, targetBytes: target)
                chunks = inner
                shards = shard
            }
            guard chunks.count == rank, chunks.allSatisfy({ $0 > 0 }) else {
                throw .unsupported(path: path, reason: "chunk shape \(chunks) does not fit an array of shape \(shape)")
            }
            if let s = shards {
                guard s.count == rank, zip(s, chunks).allSatisfy({ $0 > 0 && $0 % $1 == 0 }) else {
                    throw .unsupported(path: path, reason: "shard shape \(s) is not a multiple of the chunk shape \(chunks)")
                }
            }
        }
        let compressor = overrides.compressor ?? options.compressor
        // Fill value: anndata's v2 scalars have `null`; everything else zero / "" / false.
        let fill: FillValue = (format == .v2 && role == .scalar) ? .none : .zero(for: dataType)
        switch format {
        case .v2:
            if shards != nil { throw .unsupported(path: path, reason: "sharding needs Zarr v3") }
            let filters: JSONValue = dataType == .string ? [["id": "vlen-utf8"]] : .null
            var m = ArrayMetadata(
                shape: shape, chunkShape: chunks, dataType: dataType, fillValue: fill, codecs: [], attributes: attributes,
                zarrFormat: .v2, v2: V2ArrayOptions(filters: filters, compressor: compressor.v2JSON))
            m.attributes = attributes
            return m
        case .v3:
            var codecs: [CodecSpec]
            if let c = overrides.codecs {
                codecs = c
            } else {
                let inner = CodecSpec.defaultChain(for: dataType, compressor: compressor.v3Codec(for: dataType))
                if let s = shards {
                    codecs = [.sharding(chunkShape: chunks, codecs: inner)]
                    chunks = s
                } else {
                    codecs = inner
                }
            }
            return ArrayMetadata(shape: shape, chunkShape: chunks, dataType: dataType, fillValue: fill, codecs: codecs,
                                 attributes: attributes, zarrFormat: .v3)
        }
    }

}
