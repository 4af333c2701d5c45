import Zarr

/// Checks a store without stopping at the first problem and returns one line per problem
/// (empty when the store is valid): consolidated metadata against the nodes, encoding
/// metadata (missing or unknown `encoding-type`), every element readable (categorical codes in
/// range, CSR/CSC `indptr` monotone and ending at nnz, nullable masks, ...), and shapes
/// (index lengths against `X`, layers, `obsm`/`varm` first axes, `obsp`/`varp` square).
public func validate(_ store: any ReadableStore, registry: EncodingRegistry = .standard) async -> [String] {
    var problems: [String] = []
    func line(_ path: String, _ text: String) { problems.append("\(path.isEmpty ? "/" : path): \(text)") }
    func describe(_ e: any Error) -> String { (e as? AnnDataError)?.description ?? String(describing: e) }

    // 1. Metadata of every node, and the consolidated copy.
    let root: NodeMetadata
    do { root = try await NodeMetadata.read(store, path: "") } catch ZarrError.nodeNotFound {
        line("", "cannot open the store: \(AnnDataError.missingElement(path: ""))")
        return problems
    } catch {
        line("", "cannot open the store: \(describe(error))")
        return problems
    }
    if let record = root.attributes[LazyAnnData.appendMarkerKey]?.object {
        let adding = record["adding"]?.int.map(String.init) ?? "?", from = record["n_obs"]?.int.map(String.init) ?? "?"
        line("", "an append of \(adding) cells after \(from) was interrupted (until it completes, readers of the consolidated metadata see the store as before): run the append again to complete it")
    }
    var cache: [String: NodeMetadata]?
    do {
        let (nodes, stale) = try await ElementReader.metadata(of: store)
        cache = nodes
        for s in stale { problems.append("consolidated metadata: \(s)") }
    } catch {
        line("", "cannot read the node metadata: \(describe(error))")
    }
    if cache == nil && !(store is any ListableStore) {
        // Without a listing or a consolidated copy the elements cannot all be found: checking
        // only the ones at known paths would report a partial store as valid.
        line("", ElementReader.unlistableReason(store))
        return problems
    }
    let reader = ElementReader(store: store, registry: registry, cache: cache, concurrency: .automatic)
    // Whether a node exists; `nil` (with the problem reported) when that cannot be told.
    func has(_ path: String) async -> Bool? {
        do { return try await reader.exists(path) } catch {
            line(error.path ?? path, describe(error))
            return nil
        }
    }

    // 2. Encoding metadata of every node.
    if let cache {
        for (path, node) in cache.sorted(by: { $0.key < $1.key }) {
            let key = ElementReader.encodingKey(of: node)
            let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
            let parent = slash.map { String(path[..<$0]) } ?? ""
            let name = slash.map { String(path[path.utf8.index(after: $0)...]) } ?? path
            let parentType = cache[parent].map { ElementReader.encodingKey(of: $0).type }
            if key.type.isEmpty {
                let sparsePart = (parentType == "csr_matrix" || parentType == "csc_matrix") && ["data", "indices", "indptr"].contains(name)
                if !sparsePart { line(path, "no encoding-type attribute (written by anndata < 0.8, or not an AnnData element)") }
            } else if registry.reader(for: key) == nil {
                line(path, "unknown encoding-type '\(key.type)' version '\(key.version)'")
            }
        }
    }

    // 3. Elements, one at a time, so one bad element does not hide the others.
    func readOne(_ path: String) async -> Element? {
        do { return try await reader.read(path) } catch {
            if case .unknownEncoding = error, cache != nil { return nil }  // reported above
            line(error.path ?? path, describe(error))
            return nil
        }
    }
    func mapping(_ path: String) async -> OrderedDict<Element> {
        var out = OrderedDict<Element>()
        guard await has(path) == true else { return out }
        let names: [String]
        do { names = try await reader.childNames(path) } catch {
            line(error.path ?? path, describe(error))
            return out
        }
        for name in names {
            let p = StoreKey.join(path, name)
            let node: NodeMetadata
            do { node = try await reader.node(p) } catch {
                line(error.path ?? p, describe(error))
                continue
            }
            if ElementReader.encodingKey(of: node).type == "dict" {
                out[name] = .dict(await mapping(p))
            } else if let e = await readOne(p) {
                out[name] = e
            }
        }
        return out
    }
    let rootType = ElementReader.encodingKey(of: root).type
    guard rootType == "anndata" || rootType.isEmpty else {
        line("", "the root has encoding-type '\(rootType)', not 'anndata'")
        return problems
    }
    var frames: [String: DataFrame] = [:]
    for name in ["obs", "var"] {
        switch await readOne(name) {
        case .dataFrame(let d)?: frames[name] = d
        case nil: if await has(name) == false { line(name, "missing") }
        case let other?: line(name, "must be a data frame, found \(other.encodingType)")
        }
    }
    var X: Matrix?
    if await has("X") == true, let e = await readOne("X"), e != .null {
        do { X = try Matrix(e, path: "X") } catch { line("X", describe(error)) }
    }
    func matrices(_ name: String) async -> OrderedDict<Matrix> {
        var out = OrderedDict<Matrix>()
        for (k, v) in await mapping(name) {
            do { out[k] = try Matrix(v, path: "\(name)/\(k)") } catch { line("\(name)/\(k)", describe(error)) }
        }
        return out
    }
    let layers = await matrices("layers"), obsp = await matrices("obsp"), varp = await matrices("varp")
    let obsm = await mapping("obsm"), varm = await mapping("varm")
    _ = await mapping("uns")
    var raw: Raw?
    if await has("raw") == true, let e = await readOne("raw"), case .raw(let r) = e { raw = r }

    // 4. Shapes.
    if let obs = frames["obs"], let vars = frames["var"] {
        let a = AnnData(unchecked: X, obs: obs, var: vars, layers: layers, obsm: obsm, varm: varm, obsp: obsp, varp: varp, uns: [:], raw: raw)
        for e in a.shapeProblems() { line(e.path ?? "", e.description) }
    }
    return problems
}

extension AnnData {
    /// The problems of the store (see the free function `validate(_:registry:)`); spelled
    /// `AnnData.validate(store)` where the module name `AnnData` would be ambiguous.
    public static func validate(_ store: any ReadableStore, registry: EncodingRegistry = .standard) async -> [String] {
        await AnnData_validate(store, registry: registry)
    }
}

/// The implementation of `validate`, reachable from the `AnnData` type's scope.
func AnnData_validate(_ store: any ReadableStore, registry: EncodingRegistry) async -> [String] {
    await validate(store, registry: registry)
}
