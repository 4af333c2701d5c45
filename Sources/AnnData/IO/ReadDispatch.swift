import Zarr

/// A caller-supplied hook called before every element is read (anndata's `read_dispatched`
/// callback): it sees the element path and its encoding pair, and either calls `readDefault`
/// (the registry's reader; it throws `unknownEncoding` when the registry has none, so a
/// callback may also read encodings the registry does not know), returns another element, or
/// returns `nil` to skip the element. A skipped element is left out where its parent can do
/// without it (`X`, `raw`, `layers`/`obsm`/`varm`/`obsp`/`varp`/`uns` and any dict entry, a data
/// frame column); skipping a required part (a data frame's index, `obs`, `var`, a categorical's
/// categories) is an error.
public typealias ReadCallback = @Sendable (
    _ path: String, _ encoding: EncodingKey, _ readDefault: @Sendable () async throws -> Element
) async throws -> Element?

extension ElementReader {
    /// This reader with `callback` dispatching every element read through it.
    public func dispatching(_ callback: @escaping ReadCallback) -> ElementReader {
        ElementReader(store: store, registry: registry, cache: cache, concurrency: concurrency, verifier: verifier, readCallback: callback,
                      rowSelection: rowSelection)
    }

    /// Reads the element at `path` like `read(_:)`, or returns `nil` when the read callback
    /// skips it.
    public func readIfIncluded(_ path: String) async throws(AnnDataError) -> Element? {
        let n = try await node(path)
        let key = Self.encodingKey(of: n)
        let encoding = registry.reader(for: key)
        let readDefault: @Sendable () async throws -> Element = { [self] in
            guard let encoding else { throw AnnDataError.unknownEncoding(path: path, type: key.type, version: key.version) }
            return try await annotating(path) { try await encoding.read(self, path, n) }
        }
        guard let readCallback else { return try await annotating(path) { try await readDefault() } }
        return try await annotating(path) { try await readCallback(path, key, readDefault) }
    }
}
