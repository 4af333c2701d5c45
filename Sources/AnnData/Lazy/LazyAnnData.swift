import Zarr

/// An AnnData store opened lazily: opening reads metadata only (the consolidated copy when
/// there is one, checked as `AnnData.read` checks it); `X` and the layers are `LazyMatrix`es
/// sliced on demand, and `obs`, `var` and any other element are read when asked for.
public struct LazyAnnData: Sendable {
    /// The reader (store, registry, metadata).
    public let reader: ElementReader
    /// The number of observations (rows).
    public let nObs: Int
    /// The number of variables (columns).
    public let nVars: Int
    /// X, when the store has one.
    public let X: LazyMatrix?
    /// The layers by name (sorted).
    public let layers: OrderedDict<LazyMatrix>

    /// Opens the AnnData at the root of `store`, reading its metadata only.
    public static func open(
        _ store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> LazyAnnData {
        let reader = try await ElementReader.open(store, registry: registry, concurrency: concurrency)
        if reader.cache == nil && !(store is any ListableStore) { throw ElementReader.unlistable(store) }
        let nObs = try await frameLength(reader, "obs"), nVars = try await frameLength(reader, "var")
        var X: LazyMatrix?
        if try await reader.exists("X"), ElementReader.encodingKey(of: try await reader.node("X")).type != "null" {
            X = try await LazyMatrix.open(reader, path: "X")
        }
        var layers = OrderedDict<LazyMatrix>()
        if try await reader.exists("layers") {
            for name in try await reader.childNames("layers") { layers[name] = try await LazyMatrix.open(reader, path: "layers/" + name) }
        }
        for (name, m) in [("X", X)] + layers.map({ ("layers/" + $0.key, Optional($0.value)) }) {
            if let m, m.shape.count != 2 || m.shape[0] != nObs || m.shape[1] != nVars {
                throw .shapeMismatch(path: name, reason: "shape \(m.shape) does not match (n_obs, n_vars) = [\(nObs), \(nVars)]")
            }
        }
        return LazyAnnData(reader: reader, nObs: nObs, nVars: nVars, X: X, layers: layers)
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

    /// Reads obs.
    public func obs() async throws(AnnDataError) -> DataFrame { try await frame("obs") }

    /// Reads var.
    public func `var`() async throws(AnnDataError) -> DataFrame { try await frame("var") }

    /// Reads any element (`uns/...`, `obsm/...`).
    public func element(_ path: String) async throws(AnnDataError) -> Element {
        try await reader.read(try StoreMaintenance.normalize(path))
    }

    func frame(_ path: String) async throws(AnnDataError) -> DataFrame {
        guard case .dataFrame(let df) = try await reader.read(path) else {
            throw .invalidElement(path: path, reason: "\(path) must be a data frame")
        }
        return df
    }
}
