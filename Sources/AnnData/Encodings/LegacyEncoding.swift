import Zarr

/// Nodes without `encoding-type` (stores written by anndata < 0.8), read as anndata does:
/// the root as an AnnData; groups with `h5sparse_format` as sparse matrices; `obs`/`var`
/// groups with `_index` as data frames, and as structured arrays (anndata < 0.7) whose first
/// field is the index; other groups as dicts; arrays by their data type.
enum LegacyEncoding {
    static let encoding = ElementEncoding("", "", read: { reader, path, node in
        let leaf = path.split(separator: "/").last.map(String.init) ?? ""
        let frameNames: Set<String> = ["obs", "var", "raw.var"]
        switch node {
        case .group(let g):
            if path.isEmpty { return .anndata(try await AnnDataEncoding.read(reader, path)) }
            if let f = g.attributes["h5sparse_format"]?.string {
                guard let format = SparseMatrix.Format(rawValue: f) else {
                    throw AnnDataError.invalidElement(path: path, reason: "unknown h5sparse_format '\(f)'")
                }
                return .sparse(try await SparseEncoding.read(reader, path, format: format, shapeJSON: g.attributes["h5sparse_shape"]))
            }
            if g.attributes["_index"] != nil, frameNames.contains(leaf) || path.hasSuffix("raw/var") {
                var attrs = g.attributes
                if attrs["column-order"] == nil { attrs["column-order"] = [] }
                return .dataFrame(try await DataFrameEncoding.read(reader, path, .group(GroupMetadata(zarrFormat: g.zarrFormat, attributes: attrs)), legacy: true))
            }
            return .dict(try await DictEncoding.readChildren(reader, path))
        case .array(let m):
            if case .structured(let fields) = m.dataType, frameNames.contains(leaf) {
                return .dataFrame(try await structuredFrame(reader, path, fields))
            }
            let a = try await reader.readArray(path)
            switch a.dataType {
            case .string:
                if a.shape.isEmpty, let s = try a.strings().first { return .string(s) }
                return .strings(a)
            case .structured: return .recArray(a)
            default: return a.shape.isEmpty ? .scalar(a) : .array(a)
            }
        }
    })

    /// A pre-0.7 data frame: a structured array whose first field holds the index.
    static func structuredFrame(_ reader: ElementReader, _ path: String, _ fields: [StructField]) async throws -> DataFrame {
        let a = try await reader.readArray(path)
        guard fields.count >= 1, a.shape.count == 1 else {
            throw AnnDataError.invalidElement(path: path, reason: "a legacy data frame needs a 1-D structured array")
        }
        let n = a.shape[0]
        let rowSize = a.dataType.itemSize ?? 0
        var offset = 0
        var columns: [(String, Column)] = []
        for f in fields {
            let size = (f.type.itemSize ?? 0) * f.count
            var bytes = [UInt8]()
            bytes.reserveCapacity(n * size)
            for r in 0..<n { bytes.append(contentsOf: a.bytes[(r * rowSize + offset)..<(r * rowSize + offset + size)]) }
            offset += size
            let col = try NDArray(dataType: f.type, shape: [n], storage: .fixed(bytes))
            switch f.type {
            case .fixedUTF32, .fixedBytes: columns.append((f.name, .strings(try col.strings())))
            default: columns.append((f.name, .array(col)))
            }
        }
        let (indexName, index) = columns.removeFirst()
        guard index.stringValues != nil else {
            throw AnnDataError.invalidElement(path: path, reason: "the first field of a legacy data frame must hold strings")
        }
        return DataFrame(unchecked: index, indexName: indexName == "index" ? nil : indexName, columns: OrderedDict(columns))
    }
}
