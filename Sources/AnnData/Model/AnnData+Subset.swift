import Zarr

extension AnnData {
    /// The observations `obs` and variables `vars` (`nil` = all; any order, repeats allowed)
    /// of this AnnData, as Python's `adata[obs, var].copy()`: X and the layers at both
    /// selections; `obs`/`var` at theirs, with unused categories removed and
    /// `uns["<column>_colors"]` trimmed as anndata trims them; `obsm` and `obsp` (both axes)
    /// by the observations, `varm` and `varp` (both axes) by the variables; `raw.X` by the
    /// observations (raw's variables kept whole); the rest of `uns` unchanged.
    public func subset(obs: [Int]?, var vars: [Int]?) throws(AnnDataError) -> AnnData {
        let o = obs, v = vars
        func rows(_ e: Element, _ sel: [Int]?, _ path: String) throws(AnnDataError) -> Element {
            guard let sel else { return e }
            return try e.takingRows(sel, path: path)
        }
        var newObs = try o.map { r throws(AnnDataError) in try self.obs.takingRows(r, path: "obs") } ?? self.obs
        var newVar = try v.map { r throws(AnnDataError) in try self.var.takingRows(r, path: "var") } ?? self.var
        var newUns = uns
        try Self.removeUnusedCategories(&newObs, uns: &newUns, path: "obs")
        try Self.removeUnusedCategories(&newVar, uns: &newUns, path: "var")
        var out = AnnData(
            unchecked: try X?.selecting(rows: o, columns: v, path: "X"), obs: newObs, var: newVar, layers: [:], obsm: [:], varm: [:],
            obsp: [:], varp: [:], uns: newUns, raw: nil)
        for (k, m) in layers { out.layers[k] = try m.selecting(rows: o, columns: v, path: "layers/" + k) }
        for (k, e) in obsm { out.obsm[k] = try rows(e, o, "obsm/" + k) }
        for (k, e) in varm { out.varm[k] = try rows(e, v, "varm/" + k) }
        for (k, m) in obsp { out.obsp[k] = try m.selecting(rows: o, columns: o, path: "obsp/" + k) }
        for (k, m) in varp { out.varp[k] = try m.selecting(rows: v, columns: v, path: "varp/" + k) }
        if let raw {
            out.raw = Raw(X: try raw.X?.selecting(rows: o, columns: nil, path: "raw/X"), var: raw.var, varm: raw.varm)
        }
        try out.validate()
        return out
    }

    /// anndata's `_remove_unused_categories` for one frame of a selection: every categorical
    /// column loses the categories its selected values do not use, and a matching
    /// `uns["<column>_colors"]` keeps the colours of the kept categories (a 0-d colour becomes
    /// 1-d; colours whose count differs from the number of categories are deleted).
    static func removeUnusedCategories(_ frame: inout DataFrame, uns: inout OrderedDict<Element>, path: String) throws(AnnDataError) {
        for (name, column) in frame.columns {
            guard case .categorical(let c) = column else { continue }
            let (trimmed, kept) = try c.removingUnusedCategories(path: StoreKey.join(path, name))
            frame.columns[name] = .categorical(trimmed)
            trimColors(&uns, column: name, kept: kept, categoryCount: c.categories.count)
        }
    }

    /// The colours part of `removeUnusedCategories`, for a column whose categories `kept` of
    /// `categoryCount` remain.
    static func trimColors(_ uns: inout OrderedDict<Element>, column: String, kept: [Int], categoryCount: Int) {
        let key = column + "_colors"
        guard let colors = uns[key] else { return }
        switch colors {
        case .string(let s): uns[key] = .strings([s])
        case .scalar(let a):
            var b = a
            b.shape = [1]
            uns[key] = .array(b)
        case .strings(let a) where a.shape.count == 1, .array(let a) where a.shape.count == 1:
            guard a.count == categoryCount else { uns[key] = nil; return }
            guard let taken = try? a.taking(kept) else { return }
            if case .strings = colors { uns[key] = .strings(taken) } else { uns[key] = .array(taken) }
        default: break
        }
    }
}
