import Zarr

/// An annotated data matrix: `n_obs` observations x `n_vars` variables, as Python's
/// `anndata.AnnData`. Reading and writing live in `IO/AnnData+IO.swift`.
public struct AnnData: Sendable, Equatable {
    /// The data matrix, `(n_obs, n_vars)`, or `nil`.
    public var X: Matrix?
    /// Further matrices of shape `(n_obs, n_vars)`.
    public var layers: OrderedDict<Matrix>
    /// One row per observation.
    public var obs: DataFrame
    /// One row per variable.
    public var `var`: DataFrame
    /// Per-observation multi-dimensional annotation (first axis `n_obs`).
    public var obsm: OrderedDict<Element>
    /// Per-variable multi-dimensional annotation (first axis `n_vars`).
    public var varm: OrderedDict<Element>
    /// Pairwise observation annotation, `(n_obs, n_obs)`.
    public var obsp: OrderedDict<Matrix>
    /// Pairwise variable annotation, `(n_vars, n_vars)`.
    public var varp: OrderedDict<Matrix>
    /// Unstructured annotation.
    public var uns: OrderedDict<Element>
    /// The raw data (its own variables; the observations of this object).
    public var raw: Raw?

    /// An AnnData, checked with `validate()`.
    public init(
        X: Matrix? = nil, obs: DataFrame, `var`: DataFrame, layers: OrderedDict<Matrix> = [:],
        obsm: OrderedDict<Element> = [:], varm: OrderedDict<Element> = [:], obsp: OrderedDict<Matrix> = [:],
        varp: OrderedDict<Matrix> = [:], uns: OrderedDict<Element> = [:], raw: Raw? = nil
    ) throws(AnnDataError) {
        self.init(unchecked: X, obs: obs, var: `var`, layers: layers, obsm: obsm, varm: varm, obsp: obsp, varp: varp, uns: uns, raw: raw)
        try validate()
    }

    init(
        unchecked X: Matrix?, obs: DataFrame, `var`: DataFrame, layers: OrderedDict<Matrix>, obsm: OrderedDict<Element>,
        varm: OrderedDict<Element>, obsp: OrderedDict<Matrix>, varp: OrderedDict<Matrix>, uns: OrderedDict<Element>, raw: Raw?
    ) {
        self.X = X; self.obs = obs; self.var = `var`; self.layers = layers; self.obsm = obsm; self.varm = varm
        self.obsp = obsp; self.varp = varp; self.uns = uns; self.raw = raw
    }

    /// The number of observations (rows of `obs`).
    public var nObs: Int { obs.rowCount }
    /// The number of variables (rows of `var`).
    public var nVars: Int { `var`.rowCount }
    /// `(n_obs, n_vars)`.
    public var shape: (nObs: Int, nVars: Int) { (nObs, nVars) }

    /// Every shape problem, each as an error naming the element path; empty when consistent.
    public func shapeProblems() -> [AnnDataError] {
        var out: [AnnDataError] = []
        let n = nObs, m = nVars
        for p in obs.problems() { out.append(.shapeMismatch(path: "obs", reason: p)) }
        for p in `var`.problems() { out.append(.shapeMismatch(path: "var", reason: p)) }
        func matrix(_ path: String, _ shape: [Int], _ expected: [Int], _ what: String) {
            if shape != expected {
                out.append(.shapeMismatch(path: path, reason: "shape \(shape) does not match \(what) \(expected)"))
            }
        }
        if let X { matrix("X", X.shape, [n, m], "(n_obs, n_vars) =") }
        for (k, v) in layers { matrix("layers/\(k)", v.shape, [n, m], "(n_obs, n_vars) =") }
        for (k, v) in obsp { matrix("obsp/\(k)", v.shape, [n, n], "(n_obs, n_obs) =") }
        for (k, v) in varp { matrix("varp/\(k)", v.shape, [m, m], "(n_vars, n_vars) =") }
        func firstDim(_ path: String, _ e: Element, _ expected: Int, _ what: String) {
            guard let d = e.firstDimension else {
                out.append(.shapeMismatch(path: path, reason: "\(e.encodingType) has no first axis of length \(what) = \(expected)"))
                return
            }
            if d != expected { out.append(.shapeMismatch(path: path, reason: "first axis has length \(d), expected \(what) = \(expected)")) }
        }
        for (k, v) in obsm { firstDim("obsm/\(k)", v, n, "n_obs") }
        for (k, v) in varm { firstDim("varm/\(k)", v, m, "n_vars") }
        if let raw {
            for p in raw.var.problems() { out.append(.shapeMismatch(path: "raw/var", reason: p)) }
            if let x = raw.X { matrix("raw/X", x.shape, [n, raw.var.rowCount], "(n_obs, n_raw_vars) =") }
            for (k, v) in raw.varm { firstDim("raw/varm/\(k)", v, raw.var.rowCount, "n_raw_vars") }
        }
        if let X, case .dense(let a) = X, a.dataType.isVariableLength {
            out.append(.invalidElement(path: "X", reason: "X must be numeric or bool, not \(a.dataType)"))
        }
        return out
    }

    /// Throws the first shape problem (see `shapeProblems()`).
    public func validate() throws(AnnDataError) {
        if let first = shapeProblems().first { throw first }
    }
}

/// The `raw` attribute of an AnnData: a matrix and variables of its own, sharing the parent's
/// observations.
public struct Raw: Sendable, Equatable {
    /// The raw matrix, `(n_obs, n_raw_vars)`.
    public var X: Matrix?
    /// One row per raw variable.
    public var `var`: DataFrame
    /// Per-raw-variable multi-dimensional annotation.
    public var varm: OrderedDict<Element>

    /// A raw object (checked against its parent by `AnnData.validate()`).
    public init(X: Matrix?, `var`: DataFrame, varm: OrderedDict<Element> = [:]) {
        self.X = X
        self.var = `var`
        self.varm = varm
    }
}
