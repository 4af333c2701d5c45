import Zarr

/// Any element of a store, opened from metadata only: matrices and data frames that read
/// only what is selected, groups (`uns`, nested dicts) whose children open on demand, and
/// other leaves (scalars, strings, categoricals, awkward arrays, ...) that load when asked.
public enum LazyElement: Sendable {
    /// A dense array (`array`) or a CSR/CSC matrix.
    case matrix(LazyMatrix)
    /// A data frame.
    case dataFrame(LazyDataFrame)
    /// A `dict`.
    case group(LazyGroup)
    /// Any other element, loaded whole on demand.
    case leaf(LazyLeaf)

    /// The element at `path`, by its `encoding-type` (metadata only).
    public static func open(_ reader: ElementReader, path: String) async throws(AnnDataError) -> LazyElement {
        let node = try await reader.node(path)
        let key = ElementReader.encodingKey(of: node)
        switch (key.type, node) {
        case ("array", .array(let m)) where !m.shape.isEmpty && m.dataType.itemSize != nil:
            if case .structured = m.dataType { return .leaf(LazyLeaf(path: path, encoding: key, reader: reader)) }
            return .matrix(try await LazyMatrix.open(reader, path: path))
        case ("csr_matrix", .group), ("csc_matrix", .group): return .matrix(try await LazyMatrix.open(reader, path: path))
        case ("dataframe", .group): return .dataFrame(try await LazyDataFrame.open(reader, path: path))
        case ("dict", .group), ("", .group): return .group(LazyGroup(path: path, reader: reader, children: try await reader.childNames(path)))
        default: return .leaf(LazyLeaf(path: path, encoding: key, reader: reader))
        }
    }

    /// The element path.
    public var path: String {
        switch self {
        case .matrix(let m): return m.path
        case .dataFrame(let d): return d.path
        case .group(let g): return g.path
        case .leaf(let l): return l.path
        }
    }

    /// The length of the first axis, when known from metadata (`nil` for groups and leaves).
    public var firstDimension: Int? {
        switch self {
        case .matrix(let m): return m.shape.first
        case .dataFrame(let d): return d.rowCount
        case .group, .leaf: return nil
        }
    }

    /// Loads the whole element.
    public func load() async throws(AnnDataError) -> Element { try await load(rows: nil) }

    /// Loads the element at `rows` of its first axis (`nil` = whole), reading only the chunks
    /// those rows touch where the element's arrays are row-aligned.
    public func load(rows: [Int]?) async throws(AnnDataError) -> Element {
        switch self {
        case .matrix(let m): return try await m.select(rows: rows, columns: nil).element
        case .dataFrame(let d): return .dataFrame(try await d.load(rows: rows))
        case .group(let g):
            if rows != nil { throw .invalidElement(path: g.path, reason: "a dict has no rows to select") }
            return try await g.reader.read(g.path)
        case .leaf(let l): return try await l.load(rows: rows)
        }
    }
}

/// A `dict` group: its children open on demand.
public struct LazyGroup: Sendable {
    /// The element path.
    public let path: String
    let reader: ElementReader
    /// The child names (sorted).
    public let children: [String]

    /// Child `name`, opened from metadata.
    public func child(_ name: String) async throws(AnnDataError) -> LazyElement {
        guard children.contains(name) else { throw .missingElement(path: StoreKey.join(path, name)) }
        return try await LazyElement.open(reader, path: StoreKey.join(path, name))
    }
}

/// An element that is read whole when loaded (a scalar, a string, a string array, a
/// categorical, a nullable array, an awkward array, a rec-array, ...).
public struct LazyLeaf: Sendable {
    /// The element path.
    public let path: String
    /// Its `encoding-type` / `encoding-version`.
    public let encoding: EncodingKey
    let reader: ElementReader

    /// Loads it, at `rows` of its first axis when given: row-aligned arrays (strings,
    /// categorical codes, nullable values and masks) read only the chunks of those rows.
    public func load(rows: [Int]? = nil) async throws(AnnDataError) -> Element {
        guard let rows else { return try await reader.read(path) }
        switch encoding.type {
        case "string-array", "categorical", "nullable-integer", "nullable-boolean", "nullable-string-array":
            return try await reader.selectingRows(rows, of: path).read(path)
        default:
            return try await reader.read(path).takingRows(rows, path: path)
        }
    }
}
