/// The v2-only parts of an array's metadata.
public struct V2ArrayOptions: Sendable, Hashable {
    /// `"C"` or `"F"`: the element order inside each chunk.
    public var order: String = "C"
    /// The `filters` member (`null` or a list).
    public var filters: JSONValue = .null
    /// The `compressor` member (`null` or a numcodecs object).
    public var compressor: JSONValue = .null
    /// Whether multi-byte elements are stored big-endian (`>` in the dtype).
    public var bigEndian: Bool = false
    /// Whether the document spells out `dimension_separator` even when it is the default `"."`
    /// (zarr-python 3 does): kept so that a document written back (metadata updates,
    /// consolidated copies) says what the original said.
    public var explicitSeparator: Bool = false
    /// An options value.
    public init(order: String = "C", filters: JSONValue = .null, compressor: JSONValue = .null, bigEndian: Bool = false,
                explicitSeparator: Bool = false) {
        self.order = order; self.filters = filters; self.compressor = compressor; self.bigEndian = bigEndian
        self.explicitSeparator = explicitSeparator
    }
}

/// Everything an array's metadata says, in a form common to v2 and v3.
public struct ArrayMetadata: Sendable, Hashable {
    /// The Zarr format.
    public var zarrFormat: ZarrFormat
    /// The array shape.
    public var shape: [Int]
    /// The chunk (for sharded arrays: the shard) shape.
    public var chunkShape: [Int]
    /// The element type.
    public var dataType: DataType
    /// The fill value.
    public var fillValue: FillValue
    /// How chunk keys are formed.
    public var chunkKeyEncoding: ChunkKeyEncoding
    /// The v3 `codecs` list, typed (ignored for v2, whose chain comes from `v2`).
    public var codecs: [CodecSpec]
    /// User attributes.
    public var attributes: JSONObject
    /// Dimension names (v3), or `nil`.
    public var dimensionNames: [String?]?
    /// v3 members this engine does not know but may ignore (`must_understand: false`); kept.
    public var extraMembers: JSONObject
    /// The v2-only options (order, filters, compressor, byte order).
    public var v2: V2ArrayOptions

    /// A v3 array's metadata. `codecs` defaults to `CodecSpec.defaultChain(for:)` (`bytes` +
    /// `zstd` level 0), as zarr-python writes.
    public init(
        shape: [Int], chunkShape: [Int], dataType: DataType, fillValue: FillValue? = nil,
        codecs: [CodecSpec]? = nil, chunkKeyEncoding: ChunkKeyEncoding = ChunkKeyEncoding(.default),
        attributes: JSONObject = [:], dimensionNames: [String?]? = nil, zarrFormat: ZarrFormat = .v3,
        v2: V2ArrayOptions = V2ArrayOptions()
    ) {
        self.zarrFormat = zarrFormat
        self.shape = shape
        self.chunkShape = chunkShape
        self.dataType = dataType
        self.fillValue = fillValue ?? .zero(for: dataType)
        self.codecs = codecs ?? CodecSpec.defaultChain(for: dataType)
        self.chunkKeyEncoding = zarrFormat == .v2 && chunkKeyEncoding.kind == .default ? ChunkKeyEncoding(.v2) : chunkKeyEncoding
        self.attributes = attributes
        self.dimensionNames = dimensionNames
        self.extraMembers = [:]
        self.v2 = v2
    }

    /// The default v3 codecs: `CodecSpec.defaultChain(for:compressor:)`.
    public static func defaultCodecs(for type: DataType, compressor: CodecSpec? = CodecSpec.defaultCompressor) -> [CodecSpec] {
        CodecSpec.defaultChain(for: type, compressor: compressor)
    }

    /// The chunk grid.
    public var grid: ChunkGrid { ChunkGrid(shape: shape, chunkShape: chunkShape) }

    /// The spec of one chunk.
    public var chunkSpec: ChunkSpec { ChunkSpec(shape: chunkShape, dataType: dataType, fillValue: fillValue) }

    /// Checks shapes: same rank, non-negative extents, positive chunk extents, an element size
    /// within `DataType.maxItemSize`, a chunk of at most 2^40 bytes and an array whose byte
    /// count fits in `Int` (checked arithmetic: overflow is a typed error, never a trap).
    public func validate(path: String) throws(ZarrError) {
        guard shape.count == chunkShape.count else {
            throw .invalidMetadata(path: path, reason: "shape \(shape) and chunk shape \(chunkShape) differ in rank")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .invalidMetadata(path: path, reason: "negative extent in shape \(shape)") }
        guard chunkShape.allSatisfy({ $0 > 0 }) else { throw .invalidMetadata(path: path, reason: "chunk extents must be positive: \(chunkShape)") }
        try dataType.checkItemSize()
        // Checked products: elements, then bytes, of the whole array and of one chunk.
        func product(_ extents: [Int], times first: Int = 1) -> Int? {
            var total = first
            for s in extents {
                let (p, o) = total.multipliedReportingOverflow(by: s)
                if o { return nil }
                total = p
            }
            return total
        }
        let itemSize = Swift.max(dataType.itemSize ?? 1, 1)
        guard let chunkBytes = product(chunkShape, times: itemSize), chunkBytes <= 1 << 40 else {
            throw .invalidMetadata(path: path, reason: "chunk shape \(chunkShape) of \(dataType) is too large")
        }
        guard product(shape, times: itemSize) != nil else {
            throw .invalidMetadata(path: path, reason: "shape \(shape) of \(dataType) overflows a 64-bit byte count")
        }
        if let names = dimensionNames, names.count != shape.count {
            throw .invalidMetadata(path: path, reason: "dimension_names has \(names.count) entries for rank \(shape.count)")
        }
    }

    /// Builds the codec chain.
    public func makeChain(registry: CodecRegistry = .standard) throws(ZarrError) -> CodecChain {
        switch zarrFormat {
        case .v3:
            return try CodecChain(v3: codecs, spec: chunkSpec, registry: registry)
        case .v2:
            var spec = chunkSpec
            var a2a: [any ArrayToArrayCodec] = []
            if v2.order == "F", shape.count > 1 {
                let t = try TransposeCodec(order: Array((0..<shape.count).reversed()))
                a2a.append(t)
                spec = try t.encodedSpec(spec)
            }
            var a2b: (any ArrayToBytesCodec)?
            var b2b: [any BytesToBytesCodec] = []
            if case .array(let filters) = v2.filters {
                for f in filters {
                    let codec = try registry.makeV2(f, spec: spec)
                    switch codec {
                    case let c as any ArrayToBytesCodec:
                        guard a2b == nil, b2b.isEmpty else { throw .unsupportedCodec("filter '\(codec.v3WrittenName)' in this position") }
                        a2b = c
                    case let c as any BytesToBytesCodec:
                        b2b.append(c)
                    default:
                        throw .unsupportedCodec("v2 filter '\(codec.v3WrittenName)'")
                    }
                }
            }
            if dataType.isVariableLength, a2b == nil {
                throw .invalidMetadata(path: "", reason: "an object (|O) array needs a vlen-utf8 or vlen-bytes filter")
            }
            let arrayToBytes = a2b ?? BytesCodec(bigEndian: v2.bigEndian)
            if !v2.compressor.isNull {
                guard let c = try registry.makeV2(v2.compressor, spec: spec) as? any BytesToBytesCodec else {
                    throw .unsupportedCodec("compressor \(v2.compressor.serializedString())")
                }
                b2b.append(c)
            }
            return try CodecChain(arrayToArray: a2a, arrayToBytes: arrayToBytes, bytesToBytes: b2b, spec: chunkSpec)
        }
    }

    /// The v3 `zarr.json` document (with attributes).
    public func v3Document() -> JSONValue {
        var o: JSONObject = [
            "zarr_format": 3, "node_type": "array",
            "shape": .integers(shape), "data_type": dataType.v3JSON,
            "chunk_grid": ["name": "regular", "configuration": ["chunk_shape": .integers(chunkShape)]],
            "chunk_key_encoding": chunkKeyEncoding.v3JSON,
            "fill_value": fillValue.json(type: dataType, v2: false),
            "codecs": codecs.json,
            "attributes": .object(attributes),
            "storage_transformers": [],
        ]
        if let names = dimensionNames { o["dimension_names"] = .array(names.map { $0.map(JSONValue.string) ?? .null }) }
        o.merge(extraMembers)
        return .object(o)
    }

    /// The v2 `.zarray` document (attributes go to `.zattrs`).
    public func v2Document() -> JSONValue {
        var o: JSONObject = [
            "zarr_format": 2, "shape": .integers(shape), "chunks": .integers(chunkShape),
            "dtype": dataType.v2JSON(bigEndian: v2.bigEndian),
            "fill_value": fillValue.json(type: dataType, v2: true),
            "order": .string(v2.order), "filters": v2.filters, "compressor": v2.compressor,
        ]
        if chunkKeyEncoding.separator == "/" || v2.explicitSeparator { o["dimension_separator"] = .string(chunkKeyEncoding.separator) }
        return .object(o)
    }
}
