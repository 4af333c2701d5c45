import Zarr
import ZarrHDF5

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
            // anndata < 0.7 stored obsm/varm as one structured array, a field per embedding
            // (sub-array fields: X_pca of 50 floats); anndata reads it as a dict of matrices.
            if case .structured(let fields) = m.dataType, ["obsm", "varm"].contains(leaf) {
                let a = try await reader.readArray(path)
                guard a.shape.count == 1 else {
                    throw AnnDataError.invalidElement(path: path, reason: "a legacy \(leaf) needs a 1-D structured array")
                }
                var d = OrderedDict<Element>()
                for (name, column) in try fieldArrays(a, fields, path: path) { d[name] = .array(column) }
                return .dict(d)
            }
            let a = try await reader.readArray(path)
            switch a.dataType {
            case .string:
                // An old .h5ad stored a string as a one-element byte-string array, which anndata's
                // h5ad reader (not its Zarr one) turns into the string.
                if case .fixedBytes = m.dataType, reader.store is HDF5Store, a.shape == [1], let s = try a.strings().first {
                    return .string(s)
                }
                if a.shape.isEmpty, let s = try a.strings().first { return .string(s) }
                return .strings(a)
            case .structured: return .recArray(try unicodeFields(a))
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
        var columns: [(String, Column)] = []
        for (f, (name, col)) in zip(fields, try fieldArrays(a, fields, path: path)) {
            switch f.type {
            case .fixedUTF32, .fixedBytes: columns.append((name, .strings(try col.strings())))
            default: columns.append((name, .array(col)))
            }
        }
        let (indexName, index) = columns.removeFirst()
        guard index.stringValues != nil else {
            throw AnnDataError.invalidElement(path: path, reason: "the first field of a legacy data frame must hold strings")
        }
        // anndata sets the first field as the index (`set_index(columns[0])`): its name stays.
        return DataFrame(unchecked: index, indexName: indexName, columns: OrderedDict(columns))
    }

    /// The fields of a 1-D structured array as arrays of shape `[n] + field shape`.
    static func fieldArrays(_ a: NDArray, _ fields: [StructField], path: String) throws -> [(String, NDArray)] {
        let n = a.shape.first ?? 0
        let rowSize = a.dataType.itemSize ?? 0
        let all = a.bytes
        guard all.count == n * rowSize else {
            throw AnnDataError.invalidElement(path: path, reason: "a structured array of \(all.count) bytes for \(n) rows of \(rowSize)")
        }
        var offset = 0
        var out: [(String, NDArray)] = []
        for f in fields {
            let size = (f.type.itemSize ?? 0) * f.count
            var bytes = [UInt8]()
            bytes.reserveCapacity(n * size)
            for r in 0..<n { bytes.append(contentsOf: all[(r * rowSize + offset)..<(r * rowSize + offset + size)]) }
            offset += size
            out.append((f.name, try NDArray(dataType: f.type, shape: [n] + f.shape, storage: .fixed(bytes))))
        }
        return out
    }

    /// A structured array with its byte-string fields made unicode (`S<n>` → `U<n>`), as
    /// anndata's `_from_fixed_length_strings` reads old rec-arrays.
    static func unicodeFields(_ a: NDArray) throws -> NDArray {
        guard case .structured(let fields) = a.dataType, fields.contains(where: { if case .fixedBytes = $0.type { return true }; return false }),
              a.shape.count == 1 else { return a }
        let columns = try fieldArrays(a, fields, path: "")
        var newFields = fields
        var converted: [[UInt8]] = []
        for (i, f) in fields.enumerated() {
            if case .fixedBytes(let n) = f.type, f.count == 1 {
                newFields[i].type = .fixedUTF32(length: n)
                var out = [UInt8]()
                out.reserveCapacity(a.shape[0] * 4 * n)
                for s in try columns[i].1.strings() {
                    var scalars = Array(s.unicodeScalars.prefix(n))
                    scalars += Array(repeating: Unicode.Scalar(0), count: n - scalars.count)
                    for u in scalars { withUnsafeBytes(of: u.value.littleEndian) { out.append(contentsOf: $0) } }
                }
                converted.append(out)
            } else {
                converted.append(columns[i].1.bytes)
            }
        }
        let t = DataType.structured(newFields)
        let rowSize = t.itemSize ?? 0
        var bytes = [UInt8](repeating: 0, count: a.shape[0] * rowSize)
        var offset = 0
        for (i, f) in newFields.enumerated() {
            let w = (f.type.itemSize ?? 0) * f.count
            for r in 0..<a.shape[0] {
                for k in 0..<w { bytes[r * rowSize + offset + k] = converted[i][r * w + k] }
            }
            offset += w
        }
        return try NDArray(dataType: t, shape: a.shape, storage: .fixed(bytes))
    }
}
