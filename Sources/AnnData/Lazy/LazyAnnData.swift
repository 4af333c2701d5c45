import Zarr

/// An AnnData store opened lazily: opening reads metadata only (the consolidated copy when
/// there is one, checked as `AnnData.read` checks it). Every element is lazy: `obs` and `var`
/// are `LazyDataFrame`s whose columns load one at a time; `X`, the layers, `obsm`, `varm`,
/// `obsp`, `varp` and `raw.X` are `LazyElement`s (matrices read only where selected, frames,
/// leaves that load on demand); `uns` is a tree whose children open on demand. Select cells and
/// genes with `select(obs:var:)` (or the subscript) to get a `LazyAnnDataView`.
public struct LazyAnnData: Sendable {
    /// The reader (store, registry, metadata).
    public let reader: ElementReader
    /// The number of observations (rows).
    public let nObs: Int
    /// The number of variables (columns).
    public let nVars: Int
    /// One row per observation.
    public let obs: LazyDataFrame
    /// One row per variable.
    public let `var`: LazyDataFrame
    /// X, when the store has one.
    public let X: LazyMatrix?
    /// The layers by name (sorted).
    public let layers: OrderedDict<LazyMatrix>
    /// Per-observation annotation (first axis `n_obs`).
    public let obsm: OrderedDict<LazyElement>
    /// Per-variable annotation (first axis `n_vars`).
    public let varm: OrderedDict<LazyElement>
    /// Pairwise observation annotation, `(n_obs, n_obs)`.
    public let obsp: OrderedDict<LazyMatrix>
    /// Pairwise variable annotation, `(n_vars, n_vars)`.
    public let varp: OrderedDict<LazyMatrix>
    /// Unstructured annotation (`nil` when the store has no `uns` group).
    public let uns: LazyGroup?
    /// The raw data, when present.
    public let raw: LazyRaw?

    /// Opens the AnnData at the root of `store`, reading its metadata only.
    public static func open(
        _ store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> LazyAnnData {
        let reader = try await ElementReader.open(store, registry: registry, concurrency: concurrency)
        if reader.cache == nil && !(store is any ListableStore) { throw ElementReader.unlistable(store) }
        let obs = try await LazyDataFrame.open(reader, path: "obs"), vars = try await LazyDataFrame.open(reader, path: "var")
        let nObs = obs.rowCount, nVars = vars.rowCount
        var X: LazyMatrix?
        if try await reader.exists("X"), ElementReader.encodingKey(of: try await reader.node("X")).type != "null" {
            X = try await LazyMatrix.open(reader, path: "X")
        }
        func children(_ group: String) async throws(AnnDataError) -> [String] {
            guard try await reader.exists(group) else { return [] }
            guard case .group = try await reader.node(group) else { throw .invalidElement(path: group, reason: "\(group) must be a group") }
            return try await reader.childNames(group)
        }
        func matrices(_ group: String, _ expected: [Int], _ what: String) async throws(AnnDataError) -> OrderedDict<LazyMatrix> {
            var out = OrderedDict<LazyMatrix>()
            for name in try await children(group) {
                let m = try await LazyMatrix.open(reader, path: group + "/" + name)
                guard m.shape == expected else {
                    throw .shapeMismatch(path: group + "/" + name, reason: "shape \(m.shape) does not match \(what) \(expected)")
                }
                out[name] = m
            }
            return out
        }
        func annotations(_ group: String, _ expected: Int, _ what: String) async throws(AnnDataError) -> OrderedDict<LazyElement> {
            var out = OrderedDict<LazyElement>()
            for name in try await children(group) {
                let e = try await LazyElement.open(reader, path: group + "/" + name)
                if let d = e.firstDimension, d != expected {
                    throw .shapeMismatch(path: e.path, reason: "first axis has length \(d), expected \(what) = \(expected)")
                }
                out[name] = e
            }
            return out
        }
        if let X, X.shape.count != 2 || X.shape[0] != nObs || X.shape[1] != nVars {
            throw .shapeMismatch(path: "X", reason: "shape \(X.shape) does not match (n_obs, n_vars) = [\(nObs), \(nVars)]")
        }
        let layers = try await matrices("layers", [nObs, nVars], "(n_obs, n_vars) =")
        let obsm = try await annotations("obsm", nObs, "n_obs"), varm = try await annotations("varm", nVars, "n_vars")
        let obsp = try await matrices("obsp", [nObs, nObs], "(n_obs, n_obs) ="), varp = try await matrices("varp", [nVars, nVars], "(n_vars, n_vars) =")
        var uns: LazyGroup?
        if try await reader.exists("uns") { uns = LazyGroup(path: "uns", reader: reader, children: try await children("uns")) }
        var raw: LazyRaw?
        if try await reader.exists("raw"), ElementReader.encodingKey(of: try await reader.node("raw")).type != "null" {
            let rawVar = try await LazyDataFrame.open(reader, path: "raw/var")
            var rawX: LazyMatrix?
            if try await reader.exists("raw/X") {
                let m = try await LazyMatrix.open(reader, path: "raw/X")
                guard m.shape == [nObs, rawVar.rowCount] else {
                    throw .shapeMismatch(path: "raw/X", reason: "shape \(m.shape) does not match (n_obs, n_raw_vars) = [\(nObs), \(rawVar.rowCount)]")
                }
                rawX = m
            }
            raw = LazyRaw(X: rawX, var: rawVar, varm: try await annotations("raw/varm", rawVar.rowCount, "n_raw_vars"))
        }
        return LazyAnnData(reader: reader, nObs: nObs, nVars: nVars, obs: obs, var: vars, X: X, layers: layers, obsm: obsm,
                           varm: varm, obsp: obsp, varp: varp, uns: uns, raw: raw)
    }

    /// The length of a data frame's index, from metadata.
    static func frameLength(_ reader: ElementReader, _ path: String) async throws(AnnDataError) -> Int {
        let node = try await reader.node(path)
        guard case .group = node, let indexKey = node.attributes["_index"]?.string else {
            throw .unsupported(path: path, reason: "lazy opening needs a dataframe with an _index (anndata >= 0.7); read the store eagerly")
        }
        let indexPath = StoreKey.join(path, indexKey)
        switch try await reader.node(indexPath) {
        case .array(let m) where m.shape.count == 1: return m.shape[0]
        case .group:
            if case .array(let m) = try await reader.node(indexPath + "/values"), m.shape.count == 1 { return m.shape[0] }
            throw .invalidElement(path: indexPath, reason: "the index has no 1-D values array")
        default: throw .invalidElement(path: indexPath, reason: "the index must be 1-D")
        }
    }

    /// Reads any element (`uns/...`, `obsm/...`) whole.
    public func element(_ path: String) async throws(AnnDataError) -> Element {
        try await reader.read(try StoreMaintenance.normalize(path))
    }
}

/// The `raw` attribute of a lazy AnnData: its matrix and variables, sharing the parent's
/// observations.
public struct LazyRaw: Sendable {
    /// The raw matrix, `(n_obs, n_raw_vars)`.
    public let X: LazyMatrix?
    /// One row per raw variable.
    public let `var`: LazyDataFrame
    /// Per-raw-variable annotation.
    public let varm: OrderedDict<LazyElement>
}
