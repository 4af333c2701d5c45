import Zarr

/// A selection of cells and genes of a lazy AnnData, as anndata's `adata[obs, var]`: nothing
/// is read until `load()` or `write(to:options:)`. Views compose: selecting from a view selects
/// from its positions. The result follows anndata's slicing rules element by element (see
/// `load()`).
public struct LazyAnnDataView: Sendable {
    /// The store's AnnData.
    public let base: LazyAnnData
    /// The selected observations, in output order (`nil` = all, in order).
    public let obsPositions: [Int]?
    /// The selected variables, in output order (`nil` = all, in order).
    public let varPositions: [Int]?
    /// Whether writing removes unused categories (and trims colours) as anndata's views do;
    /// `false` for a whole-store copy (`LazyAnnData.write`), which keeps every element as it is.
    var removesUnusedCategories = true

    /// The number of selected observations.
    public var nObs: Int { obsPositions?.count ?? base.nObs }
    /// The number of selected variables.
    public var nVars: Int { varPositions?.count ?? base.nVars }

    /// A selection of this view (positions and names are this view's).
    public func select(obs: AxisSelection = .all, var vars: AxisSelection = .all) async throws(AnnDataError) -> LazyAnnDataView {
        let o = try await obs.positions(extent: nObs, axis: "obs") { () async throws(AnnDataError) -> [String?] in
            try await base.obs.index(rows: obsPositions).stringValues ?? []
        }
        let v = try await vars.positions(extent: nVars, axis: "var") { () async throws(AnnDataError) -> [String?] in
            try await base.var.index(rows: varPositions).stringValues ?? []
        }
        return LazyAnnDataView(base: base, obsPositions: Self.compose(obsPositions, o), varPositions: Self.compose(varPositions, v))
    }

    /// `inner` positions taken from `outer` ones.
    static func compose(_ outer: [Int]?, _ inner: [Int]?) -> [Int]? {
        guard let inner else { return outer }
        guard let outer else { return inner }
        return inner.map { outer[$0] }
    }

    /// `select(obs:var:)` as a subscript: `lazy[obs: .names(cells), var: .range(0..<100)]`.
    public subscript(obs obs: AxisSelection = .all, var vars: AxisSelection = .all) -> LazyAnnDataView {
        get async throws { try await select(obs: obs, var: vars) }
    }

    /// The selection as an in-memory AnnData, as Python's `adata[obs, var].copy()` gives it:
    /// X and the layers at both selections; `obs`/`var` at theirs, with unused categories
    /// removed and `uns["<column>_colors"]` trimmed as anndata trims them; `obsm`/`obsp` by
    /// the observations (`obsp` on both axes), `varm`/`varp` by the variables; `raw.X` by the
    /// observations (raw's own variables kept whole); the rest of `uns` unchanged. Data frames
    /// in `obsm`/`varm` lose their unused categories too, as anndata's views drop them.
    public func load() async throws(AnnDataError) -> AnnData {
        let o = obsPositions, v = varPositions
        var X: Matrix?
        if let x = base.X { X = try await x.select(rows: o, columns: v) }
        var layers = OrderedDict<Matrix>()
        for (k, m) in base.layers { layers[k] = try await m.select(rows: o, columns: v) }
        var obs = try await base.obs.load(rows: o), vars = try await base.var.load(rows: v)
        var uns = OrderedDict<Element>()
        if let g = base.uns, case .dict(let d) = try await g.reader.read(g.path) { uns = d }
        try AnnData.removeUnusedCategories(&obs, uns: &uns, path: "obs")
        try AnnData.removeUnusedCategories(&vars, uns: &uns, path: "var")
        var obsm = OrderedDict<Element>(), varm = OrderedDict<Element>()
        for (k, e) in base.obsm { obsm[k] = try AnnData.withoutUnusedCategories(try await e.load(rows: o), path: "obsm/" + k) }
        for (k, e) in base.varm { varm[k] = try AnnData.withoutUnusedCategories(try await e.load(rows: v), path: "varm/" + k) }
        var obsp = OrderedDict<Matrix>(), varp = OrderedDict<Matrix>()
        for (k, m) in base.obsp { obsp[k] = try await m.select(rows: o, columns: o) }
        for (k, m) in base.varp { varp[k] = try await m.select(rows: v, columns: v) }
        var raw: Raw?
        if let r = base.raw {
            var rx: Matrix?
            if let x = r.X { rx = try await x.select(rows: o, columns: nil) }
            var rvarm = OrderedDict<Element>()
            for (k, e) in r.varm { rvarm[k] = try await e.load() }
            raw = Raw(X: rx, var: try await r.var.load(), varm: rvarm)
        }
        return try AnnData(X: X, obs: obs, var: vars, layers: layers, obsm: obsm, varm: varm, obsp: obsp, varp: varp, uns: uns, raw: raw)
    }
}

extension LazyAnnData {
    /// The whole store as a view (every observation and variable).
    public var view: LazyAnnDataView { LazyAnnDataView(base: self, obsPositions: nil, varPositions: nil) }

    /// A selection of observations and variables (nothing is read but the index when
    /// selecting by names).
    public func select(obs: AxisSelection = .all, var vars: AxisSelection = .all) async throws(AnnDataError) -> LazyAnnDataView {
        try await view.select(obs: obs, var: vars)
    }

    /// `select(obs:var:)` as a subscript: `lazy[obs: .mask(m), var: .names(genes)]`.
    public subscript(obs obs: AxisSelection = .all, var vars: AxisSelection = .all) -> LazyAnnDataView {
        get async throws { try await select(obs: obs, var: vars) }
    }
}
