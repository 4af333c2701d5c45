import Zarr

/// An `(encoding-type, encoding-version)` pair. Nodes without encoding attributes (stores
/// written before anndata 0.8) have the pair `("", "")`.
public struct EncodingKey: Sendable, Hashable, CustomStringConvertible {
    /// The `encoding-type`.
    public var type: String
    /// The `encoding-version`.
    public var version: String
    /// A key.
    public init(_ type: String, _ version: String) { self.type = type; self.version = version }
    public var description: String { "\(type)@\(version)" }

    /// The attributes that mark a node with this encoding.
    public var attributes: JSONObject { ["encoding-type": .string(type), "encoding-version": .string(version)] }
}

/// One encoding: how to read a node that carries it and, for current versions, how to write
/// an element with it.
public struct ElementEncoding: Sendable {
    /// Reads the node at `path` (whose metadata is given) into an element.
    public typealias Reader = @Sendable (_ reader: ElementReader, _ path: String, _ node: NodeMetadata) async throws -> Element
    /// Writes `element` at `path` (the node there has been removed).
    public typealias Writer = @Sendable (_ writer: ElementWriter, _ path: String, _ element: Element) async throws -> Void

    /// The pair this encoding reads (and writes, when `write` is set).
    public var key: EncodingKey
    /// The reader.
    public var read: Reader
    /// The writer, for the version current anndata writes; `nil` for read-only legacy versions.
    public var write: Writer?

    /// An encoding.
    public init(_ type: String, _ version: String, read: @escaping Reader, write: Writer? = nil) {
        self.key = EncodingKey(type, version)
        self.read = read
        self.write = write
    }
}

/// The one table from `(encoding-type, encoding-version)` to reader and writer. The dispatchers
/// (`ElementReader.read`, `ElementWriter.write`) only look things up here, so a new encoding
/// plugs in with `register` and no other change.
public struct EncodingRegistry: Sendable {
    private var readers: [EncodingKey: ElementEncoding] = [:]
    private var writers: [String: ElementEncoding] = [:]

    /// An empty registry.
    public init() {}

    /// Adds (or replaces) an encoding; one with a writer becomes the writer for its type.
    public mutating func register(_ encoding: ElementEncoding) {
        readers[encoding.key] = encoding
        if encoding.write != nil { writers[encoding.key.type] = encoding }
    }

    /// The encoding that reads `key`, if any.
    public func reader(for key: EncodingKey) -> ElementEncoding? { readers[key] }

    /// The encoding that writes elements of `type`, if any.
    public func writer(for type: String) -> ElementEncoding? { writers[type] }

    /// Every registered pair.
    public var keys: [EncodingKey] { readers.keys.sorted { ($0.type, $0.version) < ($1.type, $1.version) } }

    /// Every encoding anndata 0.12/0.13 reads or writes, plus the legacy readers.
    public static let standard: EncodingRegistry = {
        var r = EncodingRegistry()
        for e in [
            AnnDataEncoding.encoding, RawEncoding.encoding,
            DataFrameEncoding.encoding, DataFrameEncoding.legacy,
            ArrayEncoding.encoding, StringArrayEncoding.encoding,
            SparseEncoding.csr, SparseEncoding.csc,
            CategoricalEncoding.encoding,
            ScalarEncodings.numeric, ScalarEncodings.string,
            NullableEncodings.integer, NullableEncodings.boolean, NullableEncodings.string,
            DictEncoding.encoding, NullEncoding.encoding,
            AwkwardEncoding.encoding, RecArrayEncoding.encoding,
            LegacyEncoding.encoding,
        ] {
            r.register(e)
        }
        return r
    }()
}
