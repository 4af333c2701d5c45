import Zarr

/// `anndata` 0.1.0: the root group with `X`, `obs`, `var`, `obsm`, `varm`, `obsp`, `varp`,
/// `layers`, `uns` and `raw` (a `null` array when there is no raw, as anndata writes).
enum AnnDataEncoding {
    static let encoding = ElementEncoding("anndata", "0.1.0", read: { reader, path, node in
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "an AnnData must be a group") }
        return .anndata(try await read(reader, path))
    }, write: { writer, path, element in
        guard case .anndata(let a) = element else { throw AnnDataError.invalidElement(path: path, reason: "not an AnnData") }
        try await write(writer, path, a)
    })

    static func child(_ path: String, _ name: String) -> String { StoreKey.join(path, name) }

    /// Reads an AnnData group (modern, or legacy without encoding attributes).
    static func read(_ reader: ElementReader, _ path: String) async throws -> AnnData {
        func frame(_ name: String) async throws -> DataFrame {
            let p = child(path, name)
            guard case .dataFrame(let df) = try await reader.read(p) else {
                throw AnnDataError.invalidElement(path: p, reason: "\(name) must be a data frame")
            }
            return df
        }
        func mapping(_ name: String) async throws -> OrderedDict<Element> {
            let p = child(path, name)
            guard try await reader.exists(p) else { return [:] }
            switch try await reader.readIfIncluded(p) {
            case .dict(let d)?: return d
            case .null?, nil: return [:]
            case let other?: throw AnnDataError.invalidElement(path: p, reason: "\(name) must be a dict, found \(other.encodingType)")
            }
        }
        func matrices(_ name: String) async throws -> OrderedDict<Matrix> {
            var out = OrderedDict<Matrix>()
            for (k, v) in try await mapping(name) { out[k] = try Matrix(v, path: child(path, "\(name)/\(k)")) }
            return out
        }
        let obs = try await frame("obs")
        let vars = try await frame("var")
        var X: Matrix?
        if try await reader.exists(child(path, "X")) {
            if let e = try await reader.readIfIncluded(child(path, "X")), e != .null { X = try Matrix(e, path: child(path, "X")) }
        }
        var raw: Raw?
        if try await reader.exists(child(path, "raw")) {
            switch try await reader.readIfIncluded(child(path, "raw")) {
            case .raw(let r)?: raw = r
            case .null?, nil: raw = nil
            case .dict(let d)?: raw = try legacyRaw(d, path: child(path, "raw"))
            case let other?: throw AnnDataError.invalidElement(path: child(path, "raw"), reason: "raw must be a raw group, found \(other.encodingType)")
            }
        } else if try await legacyRawExists(reader, path) {
            // anndata < 0.7 kept raw as top-level `raw.X`, `raw.var`, `raw.varm`.
            var X: Matrix?
            if try await reader.exists(child(path, "raw.X")), let e = try await reader.readIfIncluded(child(path, "raw.X")) {
                X = try Matrix(e, path: child(path, "raw.X"))
            }
            let v: DataFrame
            if try await reader.exists(child(path, "raw.var")) { v = try await frame("raw.var") } else {
                let n = X?.shape.last ?? 0
                v = DataFrame(unchecked: .strings((0..<n).map(String.init)), indexName: nil, columns: [:])
            }
            raw = Raw(X: X, var: v, varm: try await mapping("raw.varm"))
        }
        let a = AnnData(
            unchecked: X, obs: obs, var: vars, layers: try await matrices("layers"), obsm: try await mapping("obsm"),
            varm: try await mapping("varm"), obsp: try await matrices("obsp"), varp: try await matrices("varp"),
            uns: try await mapping("uns"), raw: raw)
        if let problem = a.shapeProblems().first { throw prefixed(problem, path) }
        return a
    }

    static func legacyRawExists(_ reader: ElementReader, _ path: String) async throws(AnnDataError) -> Bool {
        if try await reader.exists(child(path, "raw.X")) { return true }
        return try await reader.exists(child(path, "raw.var"))
    }

    /// A raw group without encoding attributes, read as a dict.
    static func legacyRaw(_ d: OrderedDict<Element>, path: String) throws -> Raw {
        var X: Matrix?
        if let x = d["X"] { X = try Matrix(x, path: child(path, "X")) }
        guard case .dataFrame(let v)? = d["var"] else { throw AnnDataError.invalidElement(path: child(path, "var"), reason: "raw/var must be a data frame") }
        var varm = OrderedDict<Element>()
        if case .dict(let m)? = d["varm"] { varm = m }
        return Raw(X: X, var: v, varm: varm)
    }

    /// An error about an element of an AnnData at `path`, with the path prefixed.
    static func prefixed(_ e: AnnDataError, _ path: String) -> AnnDataError {
        guard !path.isEmpty else { return e }
        switch e {
        case .shapeMismatch(let p, let r): return .shapeMismatch(path: child(path, p), reason: r)
        case .invalidElement(let p, let r): return .invalidElement(path: child(path, p), reason: r)
        default: return e
        }
    }

    static func write(_ writer: ElementWriter, _ path: String, _ a: AnnData) async throws {
        if let problem = a.shapeProblems().first { throw prefixed(problem, path) }
        try await writer.createGroup(path, attributes: writer.encodingAttributes("anndata"))
        if let X = a.X { try await writer.write(X.element, at: child(path, "X")) }
        try await writer.write(.dataFrame(a.obs), at: child(path, "obs"))
        try await writer.write(.dataFrame(a.var), at: child(path, "var"))
        try await writer.write(.dict(a.obsm), at: child(path, "obsm"))
        try await writer.write(.dict(a.varm), at: child(path, "varm"))
        try await writer.write(.dict(a.obsp.mapValues(\.element)), at: child(path, "obsp"))
        try await writer.write(.dict(a.varp.mapValues(\.element)), at: child(path, "varp"))
        try await writer.write(.dict(a.layers.mapValues(\.element)), at: child(path, "layers"))
        try await writer.write(.dict(a.uns), at: child(path, "uns"))
        try await writer.write(a.raw.map { .raw($0) } ?? .null, at: child(path, "raw"))
    }
}

/// `raw` 0.1.0: `X`, `var` and `varm` of the raw data (no `obs`).
enum RawEncoding {
    static let encoding = ElementEncoding("raw", "0.1.0", read: { reader, path, node in
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "raw must be a group") }
        var X: Matrix?
        let xPath = StoreKey.join(path, "X")
        if try await reader.exists(xPath), let e = try await reader.readIfIncluded(xPath) { X = try Matrix(e, path: xPath) }
        let varPath = StoreKey.join(path, "var")
        guard case .dataFrame(let v) = try await reader.read(varPath) else {
            throw AnnDataError.invalidElement(path: varPath, reason: "raw/var must be a data frame")
        }
        var varm = OrderedDict<Element>()
        let varmPath = StoreKey.join(path, "varm")
        if try await reader.exists(varmPath), case .dict(let d)? = try await reader.readIfIncluded(varmPath) { varm = d }
        return .raw(Raw(X: X, var: v, varm: varm))
    }, write: { writer, path, element in
        guard case .raw(let r) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a raw object") }
        try await writer.createGroup(path, attributes: writer.encodingAttributes("raw"))
        if let X = r.X { try await writer.write(X.element, at: StoreKey.join(path, "X")) }
        try await writer.write(.dataFrame(r.var), at: StoreKey.join(path, "var"))
        try await writer.write(.dict(r.varm), at: StoreKey.join(path, "varm"))
    })
}
