import Zarr

/// Every error the AnnData layer reports. Each case names the element path it is about
/// (`""` is the root of the store, `obs/cell_type` a column, `uns/params/n` a nested value).
public enum AnnDataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Shapes of elements that must agree do not (index length vs `X`, `obsp` not square, ...).
    case shapeMismatch(path: String, reason: String)
    /// An element whose content is not valid for its encoding (code out of range, bad indptr, ...).
    case invalidElement(path: String, reason: String)
    /// An `encoding-type` / `encoding-version` pair that no registered encoding reads.
    case unknownEncoding(path: String, type: String, version: String)
    /// An element that must exist is missing.
    case missingElement(path: String)
    /// The consolidated metadata disagrees with the nodes it describes (one entry per problem).
    case staleConsolidatedMetadata([String])
    /// Something the chosen format or options cannot write (or a reader cannot honour).
    case unsupported(path: String, reason: String)
    /// An error of the Zarr layer while reading or writing the element at `path`.
    case storage(path: String, reason: String)

    /// The element path the error is about (`nil` for store-wide problems).
    public var path: String? {
        switch self {
        case .shapeMismatch(let p, _), .invalidElement(let p, _), .unknownEncoding(let p, _, _),
            .missingElement(let p), .unsupported(let p, _), .storage(let p, _):
            return p
        case .staleConsolidatedMetadata: return nil
        }
    }

    /// A one-line message that names the element path.
    public var description: String {
        func at(_ p: String) -> String { p.isEmpty ? "/" : p }
        switch self {
        case .shapeMismatch(let p, let r): return "shape mismatch at '\(at(p))': \(r)"
        case .invalidElement(let p, let r): return "invalid element at '\(at(p))': \(r)"
        case .unknownEncoding(let p, let t, let v):
            return "unknown encoding at '\(at(p))': encoding-type '\(t)' version '\(v)'"
        case .missingElement(let p):
            return p.isEmpty ? "no Zarr group at the root of the store (no zarr.json, .zgroup or .zarray)" : "missing element '\(p)'"
        case .staleConsolidatedMetadata(let entries):
            return "the consolidated metadata disagrees with the store's nodes (re-consolidate it): "
                + entries.prefix(5).joined(separator: "; ") + (entries.count > 5 ? "; ... (\(entries.count) in all)" : "")
        case .unsupported(let p, let r): return "cannot handle '\(at(p))': \(r)"
        case .storage(let p, let r): return "storage error at '\(at(p))': \(r)"
        }
    }

    /// Wraps any error thrown while handling `path`: AnnData errors pass through, others
    /// become `.storage` naming the path.
    static func wrap(_ error: any Error, path: String) -> AnnDataError {
        if let e = error as? AnnDataError { return e }
        if let z = error as? ZarrError { return .storage(path: path, reason: z.description) }
        return .storage(path: path, reason: String(describing: error))
    }
}

/// Runs `body`, turning any error into an `AnnDataError` that names `path`.
@discardableResult
func annotating<T>(_ path: String, _ body: () async throws -> T) async throws(AnnDataError) -> T {
    do {
        return try await body()
    } catch {
        throw AnnDataError.wrap(error, path: path)
    }
}
