import Zarr

/// The rows an `ElementReader` reads of the arrays of one element: every array at or below
/// `root` is read at `rows` of its first axis (one selection read, so only the chunks those
/// rows touch), except a categorical's `categories` and a legacy frame's `__categories`,
/// which are not indexed by rows.
struct RowSelection: Sendable {
    /// The element whose arrays are selected.
    let root: String
    /// The rows, in output order (repeats allowed).
    let rows: [Int]
}

extension ElementReader {
    /// This reader, reading only `rows` (first axis) of the arrays of the element at `root`:
    /// `read(root)` then gives the element as `Element.takingRows(rows)` would, reading only
    /// the chunks those rows touch. Works for every element whose arrays are row-aligned
    /// (arrays, string arrays, categoricals, nullable arrays, data frames of those).
    func selectingRows(_ rows: [Int], of root: String) -> ElementReader {
        ElementReader(store: store, registry: registry, cache: cache, concurrency: concurrency, verifier: verifier,
                      readCallback: readCallback, rowSelection: RowSelection(root: root, rows: rows))
    }

    /// The selection `readArray` applies to the array at `path`, `nil` to read it whole.
    func rowSelection(for path: String, shape: [Int]) async throws(AnnDataError) -> [DimensionSelection]? {
        guard let s = rowSelection, path == s.root || s.root.isEmpty || path.hasPrefix(s.root + "/") else { return nil }
        let parts = path.split(separator: "/")
        if parts.contains("__categories") { return nil }
        if parts.last == "categories", parts.count > 1 {
            let parent = parts.dropLast().joined(separator: "/")
            if Self.encodingKey(of: try await node(parent)).type == "categorical" { return nil }
        }
        guard let first = shape.first else {
            throw .invalidElement(path: path, reason: "a 0-d array has no rows to select")
        }
        if let bad = s.rows.first(where: { $0 < 0 || $0 >= first }) {
            throw .invalidElement(path: path, reason: "row \(bad) is outside 0..<\(first)")
        }
        return [.indices(s.rows)] + shape.dropFirst().map { _ in .all }
    }
}
