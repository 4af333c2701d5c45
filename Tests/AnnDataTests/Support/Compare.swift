import AnnData
import Zarr

/// Comparison of read elements with the reference: exact dtypes and values (NaN equal to NaN).
/// Strict (the default) also requires the same element kind for strings (`string-array` is not
/// a `nullable-string-array`), the same `na-value`, the same sparse index dtypes and the same
/// awkward form; lenient mode accepts those differences (anndata 0.12 and 0.13 write some
/// columns and `na-value`s differently, so Python-written stores are compared leniently).
struct Compare {
    /// Whether encodings, index dtypes and key order must match too.
    let strict: Bool

    /// The differences between `got` and `ref`, one line each (empty: equal).
    static func anndata(_ got: AnnData, _ ref: AnnData, strict: Bool = true) -> [String] {
        Compare(strict: strict).anndata(got, ref)
    }

    func anndata(_ got: AnnData, _ ref: AnnData) -> [String] {
        var p: [String] = []
        p += matrixOpt("X", got.X, ref.X)
        p += frame("obs", got.obs, ref.obs)
        p += frame("var", got.var, ref.var)
        p += dict("layers", got.layers.mapValues(\.element), ref.layers.mapValues(\.element))
        p += dict("obsm", got.obsm, ref.obsm)
        p += dict("varm", got.varm, ref.varm)
        p += dict("obsp", got.obsp.mapValues(\.element), ref.obsp.mapValues(\.element))
        p += dict("varp", got.varp.mapValues(\.element), ref.varp.mapValues(\.element))
        p += dict("uns", got.uns, ref.uns)
        switch (got.raw, ref.raw) {
        case (nil, nil): break
        case (let g?, let r?):
            p += matrixOpt("raw/X", g.X, r.X)
            p += frame("raw/var", g.var, r.var)
            p += dict("raw/varm", g.varm, r.varm)
        default: p.append("raw: presence differs")
        }
        return p
    }

    func matrixOpt(_ path: String, _ g: Matrix?, _ r: Matrix?) -> [String] {
        switch (g, r) {
        case (nil, nil): return []
        case (let g?, let r?): return element(path, g.element, r.element)
        default: return ["\(path): presence differs"]
        }
    }

    func dict(_ path: String, _ g: OrderedDict<Element>, _ r: OrderedDict<Element>) -> [String] {
        var p: [String] = []
        // Key order is not compared: zarr lists a group's members sorted, so neither anndata
        // nor we get a dict's insertion order back.
        if Set(g.keys) != Set(r.keys) { p.append("\(path): keys \(g.keys.sorted()) != \(r.keys.sorted())") }
        for (k, rv) in r { if let gv = g[k] { p += element("\(path)/\(k)", gv, rv) } }
        return p
    }

    func frame(_ path: String, _ g: DataFrame, _ r: DataFrame) -> [String] {
        var p: [String] = []
        if g.indexName != r.indexName { p.append("\(path): index name \(g.indexName ?? "nil") != \(r.indexName ?? "nil")") }
        if g.indexValues != r.indexValues { p.append("\(path): index values differ") }
        if g.columns.keys != r.columns.keys { p.append("\(path): columns \(g.columns.keys) != \(r.columns.keys)") }
        for (k, rc) in r.columns { if let gc = g.columns[k] { p += element("\(path)/\(k)", gc.element, rc.element) } }
        return p
    }

    func strings(_ e: Element) -> ([String?], [Int])? {
        switch e {
        case .strings(let a): return (try? a.strings()).map { ($0, a.shape) }
        case .nullableStrings(let n): return (n.optionalValues, [n.count])
        default: return nil
        }
    }

    func array(_ path: String, _ g: NDArray, _ r: NDArray) -> [String] {
        if g.dataType != r.dataType { return ["\(path): dtype \(Self.describe(g.dataType)) != \(Self.describe(r.dataType))"] }
        if g.shape != r.shape { return ["\(path): shape \(g.shape) != \(r.shape)"] }
        if g == r { return [] }
        if g.dataType.isFloatingPoint, let gd = try? g.doubles(), let rd = try? r.doubles(),
            zip(gd, rd).allSatisfy({ $0 == $1 || ($0.isNaN && $1.isNaN) })
        {
            if g.dataType == .complex64 || g.dataType == .complex128 {
                return g.bytes == r.bytes ? [] : ["\(path): complex values differ"]
            }
            return []
        }
        if g.dataType == .string, (try? g.strings()) == (try? r.strings()) { return [] }
        return ["\(path): values differ"]
    }

    /// A data type for a message; structured types with their fields (`structured` alone hides
    /// which field differs).
    static func describe(_ t: DataType) -> String {
        guard case .structured(let fields) = t else { return "\(t)" }
        return "structured(" + fields.map { "\($0.name): \(describe($0.type))\($0.shape.isEmpty ? "" : "\($0.shape)")" }.joined(separator: ", ") + ")"
    }

    func ints(_ a: NDArray) -> [Int] { (try? a.doubles())?.map { Int($0) } ?? [] }

    func element(_ path: String, _ g: Element, _ r: Element) -> [String] {
        if let rs = strings(r) {
            guard let gs = strings(g) else { return ["\(path): expected strings, got \(g.encodingType)"] }
            var p = gs.0 == rs.0 && gs.1 == rs.1 ? [] : ["\(path): string values differ"]
            if strict && g.encodingType != r.encodingType { p.append("\(path): kind \(g.encodingType) != \(r.encodingType)") }
            // No `na-value` means "NA" to anndata, and we write it so.
            if strict, case .nullableStrings(let a) = g, case .nullableStrings(let b) = r, (a.naValue ?? "NA") != (b.naValue ?? "NA") {
                p.append("\(path): na-value \(a.naValue ?? "nil") != \(b.naValue ?? "nil")")
            }
            return p
        }
        switch (g, r) {
        case (.array(let a), .array(let b)), (.scalar(let a), .scalar(let b)), (.recArray(let a), .recArray(let b)):
            return array(path, a, b)
        case (.string(let a), .string(let b)): return a == b ? [] : ["\(path): '\(a)' != '\(b)'"]
        case (.null, .null): return []
        case (.sparse(let a), .sparse(let b)):
            var p: [String] = []
            if a.format != b.format { p.append("\(path): format \(a.format) != \(b.format)") }
            if a.shape != b.shape { p.append("\(path): shape \(a.shape) != \(b.shape)") }
            p += array("\(path)/data", a.data, b.data)
            if ints(a.indices) != ints(b.indices) { p.append("\(path): indices differ") }
            if strict && (a.indices.dataType != b.indices.dataType || a.indptr.dataType != b.indptr.dataType) {
                p.append("\(path): index dtypes \(a.indices.dataType)/\(a.indptr.dataType) != \(b.indices.dataType)/\(b.indptr.dataType)")
            }
            if ints(a.indptr) != ints(b.indptr) { p.append("\(path): indptr differ") }
            return p
        case (.categorical(let a), .categorical(let b)):
            var p: [String] = []
            if a.ordered != b.ordered { p.append("\(path): ordered \(a.ordered) != \(b.ordered)") }
            if a.codeValues != b.codeValues { p.append("\(path): codes differ") }
            if a.categories.dataType == .string || b.categories.dataType == .string {
                if (try? a.categories.strings()) != (try? b.categories.strings()) { p.append("\(path): categories differ") }
            } else {
                p += array("\(path)/categories", a.categories, b.categories)
            }
            return p
        case (.nullableInteger(let a), .nullableInteger(let b)), (.nullableBoolean(let a), .nullableBoolean(let b)):
            if a.mask != b.mask { return ["\(path): mask differs"] }
            return array("\(path)/values", a.values, b.values)
        case (.dict(let a), .dict(let b)): return dict(path, a, b)
        case (.dataFrame(let a), .dataFrame(let b)): return frame(path, a, b)
        case (.awkward(let a), .awkward(let b)):
            var p: [String] = []
            if a.length != b.length { p.append("\(path): length \(a.length) != \(b.length)") }
            if a.buffers.keys != b.buffers.keys { p.append("\(path): buffers \(a.buffers.keys) != \(b.buffers.keys)") }
            for (k, v) in b.buffers { if let gv = a.buffers[k] { p += array("\(path)/\(k)", gv, v) } }
            let fa = try? JSONValue.parse(Array(a.form.utf8)), fb = try? JSONValue.parse(Array(b.form.utf8))
            if fa == nil || (strict ? fa != fb : fa?["class"] != fb?["class"]) { p.append("\(path): awkward form differs") }
            return p
        default:
            return ["\(path): kind \(g.encodingType) != \(r.encodingType)"]
        }
    }
}
