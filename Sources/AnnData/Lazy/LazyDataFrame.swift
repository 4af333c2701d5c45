import Zarr

/// A data frame in a store (`obs`, `var`, a frame in `obsm`), known from metadata only: its
/// length, index name and column names, and each column's encoding. Loading a column reads
/// only that column's arrays; loading it at some rows reads only the chunks those rows touch
/// (categorical codes, nullable masks and strings included; categories are read whole).
public struct LazyDataFrame: Sendable {
    /// The element path (`obs`, `var`, `obsm/df`).
    public let path: String
    /// The number of rows.
    public let rowCount: Int
    /// The child holding the index (`_index` when the pandas index has no name).
    public let indexKey: String
    /// The columns, in `column-order`.
    public let columnNames: [String]
    /// The reader.
    let reader: ElementReader
    /// Whether the frame is anndata's legacy 0.1.0 encoding (categories under
    /// `__categories`): columns are then read whole and selected in memory.
    let legacy: Bool

    /// The index name (`nil` when stored as `_index`).
    public var indexName: String? { indexKey == "_index" ? nil : indexKey }

    /// The frame at `path`, from its metadata (no chunk is read).
    static func open(_ reader: ElementReader, path: String) async throws(AnnDataError) -> LazyDataFrame {
        let node = try await reader.node(path)
        let key = ElementReader.encodingKey(of: node)
        guard case .group = node, key.type == "dataframe" else {
            throw .invalidElement(path: path, reason: "expected a dataframe, found '\(key.type)'")
        }
        let n = try await LazyAnnData.frameLength(reader, path)
        let indexKey = try reader.stringAttribute(node.attributes, "_index", path: path)
        guard let list = node.attributes["column-order"]?.array else {
            throw .invalidElement(path: path, reason: "attribute 'column-order' must be a list of strings")
        }
        var names: [String] = []
        for (i, v) in list.enumerated() {
            guard let s = v.string else {
                throw .invalidElement(path: path, reason: "attribute 'column-order' must list strings; entry \(i) is not a string")
            }
            names.append(s)
        }
        guard Set(names).count == names.count else { throw .invalidElement(path: path, reason: "column-order has duplicates") }
        return LazyDataFrame(path: path, rowCount: n, indexKey: indexKey, columnNames: names, reader: reader, legacy: key.version == "0.1.0")
    }

    /// The `encoding-type` / `encoding-version` of column `name` (from metadata).
    public func encoding(of name: String) async throws(AnnDataError) -> EncodingKey {
        try checkColumn(name)
        return ElementReader.encodingKey(of: try await reader.node(StoreKey.join(path, name)))
    }

    /// The data type of column `name`'s values (codes of a categorical, values of a nullable
    /// array), from metadata.
    public func dataType(of name: String) async throws(AnnDataError) -> DataType {
        let p = StoreKey.join(path, name)
        try checkColumn(name)
        switch try await reader.node(p) {
        case .array(let m): return m.dataType
        case .group:
            for child in ["codes", "values"] {
                if try await reader.exists(p + "/" + child), case .array(let m) = try await reader.node(p + "/" + child) { return m.dataType }
            }
            throw .invalidElement(path: p, reason: "a column group without codes or values")
        }
    }

    func checkColumn(_ name: String) throws(AnnDataError) {
        guard columnNames.contains(name) else {
            let known = columnNames.prefix(10).joined(separator: ", ") + (columnNames.count > 10 ? ", ..." : "")
            throw .missingElement(path: StoreKey.join(path, name) + " (no such column; columns: \(known))")
        }
    }

    /// Column `name` at `rows` (`nil` = every row; any order, repeats allowed).
    public func column(_ name: String, rows: [Int]? = nil) async throws(AnnDataError) -> Column {
        try checkColumn(name)
        return try await read(StoreKey.join(path, name), rows: rows)
    }

    /// The index at `rows` (`nil` = every row). A numeric index (old files) comes back as
    /// string labels, as the eager reader gives it.
    public func index(rows: [Int]? = nil) async throws(AnnDataError) -> Column {
        let p = StoreKey.join(path, indexKey)
        let c = try await read(p, rows: rows)
        if c.stringValues != nil { return c }
        if case .array(let a) = c {
            let labels = try annotatingSync(p) { try a.doubles() }.map { d in d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
            return .strings(labels)
        }
        throw .invalidElement(path: p, reason: "the index must hold strings")
    }

    func read(_ p: String, rows: [Int]?) async throws(AnnDataError) -> Column {
        if let rows, let bad = rows.first(where: { $0 < 0 || $0 >= rowCount }) {
            throw .invalidElement(path: path, reason: "row \(bad) is outside 0..<\(rowCount)")
        }
        if legacy {
            // Legacy categoricals need the frame's __categories: read the frame, then select.
            guard case .dataFrame(let df) = try await reader.read(path) else { throw .invalidElement(path: path, reason: "not a data frame") }
            let name = String(p.dropFirst(path.isEmpty ? 0 : path.count + 1))
            let c = name == indexKey ? df.index : df.columns[name]
            guard let c else { throw .missingElement(path: p) }
            return try rows.map { r throws(AnnDataError) in try c.taking(r, path: p) } ?? c
        }
        let r = rows.map { reader.selectingRows($0, of: p) } ?? reader
        return try Column(try await r.read(p), path: p)
    }

    /// The frame at `rows` (`nil` = every row), every column.
    public func load(rows: [Int]? = nil) async throws(AnnDataError) -> DataFrame {
        if legacy || rows == nil {
            guard case .dataFrame(let df) = try await reader.read(path) else { throw .invalidElement(path: path, reason: "not a data frame") }
            return try rows.map { r throws(AnnDataError) in try df.takingRows(r, path: path) } ?? df
        }
        var cols = OrderedDict<Column>()
        for name in columnNames { cols[name] = try await column(name, rows: rows) }
        let df = DataFrame(unchecked: try await index(rows: rows), indexName: indexName, columns: cols)
        try df.validate(path: path)
        return df
    }
}
