import Zarr

/// A pandas data frame as anndata stores it: a string index (with an optional name) and
/// ordered, named 1-D columns.
public struct DataFrame: Sendable, Equatable {
    /// The index name (`nil` when the pandas index has none; stored as `"_index"`).
    public var indexName: String?
    /// The row labels: `.strings`, or `.nullableStrings` (anndata 0.13 writes pandas 3 indexes so).
    public var index: Column
    /// The columns, in order.
    public var columns: OrderedDict<Column>

    /// A data frame; throws if a column length differs from the index length, a column is
    /// named `_index` or contains `/`, or the index is not a string column.
    public init(index: [String], indexName: String? = nil, columns: OrderedDict<Column> = [:]) throws(AnnDataError) {
        try self.init(indexColumn: .strings(index), indexName: indexName, columns: columns)
    }

    /// A data frame with an index column of strings or nullable strings.
    public init(indexColumn: Column, indexName: String? = nil, columns: OrderedDict<Column> = [:]) throws(AnnDataError) {
        self.index = indexColumn
        self.indexName = indexName
        self.columns = columns
        try validate(path: "")
    }

    init(unchecked index: Column, indexName: String?, columns: OrderedDict<Column>) {
        self.index = index; self.indexName = indexName; self.columns = columns
    }

    /// The number of rows.
    public var rowCount: Int { index.count }

    /// The index labels (`nil` for missing labels of a nullable index).
    public var indexValues: [String?] { index.stringValues ?? [] }

    /// The name of the child that holds the index on disk.
    public var indexKey: String { indexName ?? "_index" }

    /// The problems of this frame (empty when valid).
    public func problems() -> [String] {
        var out: [String] = []
        if index.stringValues == nil { out.append("the index must hold strings") }
        for (name, col) in columns {
            if name == "_index" { out.append("a column may not be named '_index'") }
            if name.contains("/") { out.append("column name '\(name)' contains '/'") }
            if name == indexKey { out.append("column '\(name)' has the index's name") }
            if col.count != rowCount { out.append("column '\(name)' has \(col.count) values for \(rowCount) rows") }
        }
        return out
    }

    /// Throws when `problems()` is not empty, naming `path`.
    public func validate(path: String) throws(AnnDataError) {
        let p = problems()
        if !p.isEmpty { throw .shapeMismatch(path: path, reason: p.joined(separator: "; ")) }
    }
}
