import Zarr

/// Nodes without `encoding-type` (stores written by anndata < 0.8), read as anndata does:
/// the root as an AnnData; groups with `h5sparse_format` as sparse matrices; `obs`/`var`
/// groups with `_index` as data frames, and as structured arrays (anndata < 0.7) whose first
/// field is the index; other groups as dicts; arrays by their data type. In such pre-0.7
/// stores, `uns["<column>_categories"]` turns the integer column `<column>` of obs or var into
/// a categorical and leaves uns, as anndata's `_clean_uns` does.
enum LegacyEncoding {
    static let encoding = ElementEncoding("", "", read: { reader, path, node in
        let leaf = path.split(separator: "/").last.map(String.init) ?? ""
        let frameNames: Set<String> = ["obs", "var", "raw.var"]
        switch node {
        case .group(let g):
            if path.isEmpty {
                var adata = try await AnnDataEncoding.read(reader, path)
                // anndata < 0.7 (obs as a structured array) kept categories in uns.
                if case .array = try await reader.node("obs") { cleanUns(&adata) }
                return .anndata(adata)
            }
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

    /// anndata's `_clean_uns`: each `uns` entry `<name>_categories` (strings, or one string)
    /// makes the integer column `<name>` of obs and of var a categorical when all of its codes
    /// are below the number of categories; the entries used are removed from uns.
    static func cleanUns(_ adata: inout AnnData) {
        var used: [String] = []
        for (key, value) in adata.uns where key.hasSuffix("_categories") {
            let name = String(key.dropLast("_categories".count))
            let categories: NDArray
            switch value {
            case .strings(let a) where a.shape.count == 1: categories = a
            case .string(let one):
                guard let a = try? NDArray(strings: [one], shape: [1]) else { continue }
                categories = a
            default: continue
            }
            for frame in [\AnnData.obs, \AnnData.var] {
                guard case .array(let codes)? = adata[keyPath: frame].columns[name], codes.dataType.isInteger,
                      IntegerView.firstIndex(codes, outside: -1..<categories.count) == nil,
                      let packed = try? Categorical.packCodes(IntegerView.ints(codes), categoryCount: categories.count),
                      let categorical = try? Categorical(codes: packed, categories: categories)
                else { continue }
                adata[keyPath: frame].columns[name] = .categorical(categorical)
                used.append(key)
            }
        }
        for key in used { adata.uns[key] = nil }
    }

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
