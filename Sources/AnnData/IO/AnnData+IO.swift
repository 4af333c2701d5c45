import Zarr

extension AnnData {
    /// Reads the AnnData stored at the root of `store` (Zarr v2 or v3, consolidated or not).
    /// Consolidated metadata that disagrees with the nodes is refused with
    /// `staleConsolidatedMetadata` (checked when the store can list its keys). Shapes are
    /// validated; every error names the element path. A `readCallback` sees every element
    /// before it is read and may read it differently, replace it or skip it (anndata's
    /// `read_dispatched`).
    public static func read(
        from store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic,
        readCallback: ReadCallback? = nil
    ) async throws(AnnDataError) -> AnnData {
        var reader = try await ElementReader.open(store, registry: registry, concurrency: concurrency)
        // Without a listing or a consolidated copy the children of obsm, layers, uns, ... cannot
        // be found: refuse rather than return a partial AnnData.
        if reader.cache == nil && !(store is any ListableStore) { throw ElementReader.unlistable(store) }
        if let readCallback { reader = reader.dispatching(readCallback) }
        guard case .anndata(let a) = try await reader.read("") else {
            throw .invalidElement(path: "", reason: "the root of the store is not an AnnData")
        }
        return a
    }

    /// Writes this AnnData to the root of `store`, replacing the store there, and (with
    /// `options.consolidate`) writes consolidated metadata last.
    ///
    /// Nothing is lost on failure: a `LocalStore` is written into a sibling temporary directory
    /// and swapped into place when complete (`LocalStoreReplacement`: the old store stays intact
    /// until then, and concurrent writers of one destination fail with `storeBusy`); other stores
    /// get their root metadata written last (`RootLastStore`), so an interrupted write is not a
    /// store to any reader. A destination that is not empty and not a Zarr store is refused, as
    /// is an existing store when `options.existingStore` is `.refuse`.
    public func write(to store: any WritableStore, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard) async throws(AnnDataError) {
        try validate()
        if let local = store as? LocalStore {
            try await annotating("") {
                try await LocalStoreReplacement.write(root: local.root, existing: options.existingStore, metrics: local.metrics, ioPool: local.ioPool) { fresh in
                    try await self.writeFresh(to: fresh, options: options, registry: registry)
                }
            }
            return
        }
        try await annotating("") {
            try options.existingStore.check(try await StoreContents.inspect(store), destination: store.storeDescription)
            try await withRootWrittenLast(store) { wrapped in
                try await NodeMetadata.removeNode(wrapped, path: "")
                try await self.writeFresh(to: wrapped, options: options, registry: registry)
            }
        }
    }

    /// Writes every element into `store`, assumed empty, and consolidates.
    func writeFresh(to store: any WritableStore, options: WriteOptions, registry: EncodingRegistry) async throws(AnnDataError) {
        let writer = ElementWriter(store: store, options: options, registry: registry)
        try await writer.write(.anndata(self), at: "")
        if options.consolidate {
            try await StoreMaintenance.consolidate(store, recorded: writer.recorder.all, format: options.zarrFormat)
        }
    }
}

/// Reads the element at `path` of `store` (any encoding in the registry), with every element
/// read through `readCallback` when one is given.
public func readElement(
    _ store: any ReadableStore, path: String, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic,
    readCallback: ReadCallback? = nil
) async throws(AnnDataError) -> Element {
    let p = try StoreMaintenance.normalize(path)
    var reader = try await ElementReader.open(store, registry: registry, concurrency: concurrency)
    if let readCallback { reader = reader.dispatching(readCallback) }
    return try await reader.read(p)
}

/// Writes `element` at `path` of `store`, replacing any node there; missing parent groups are
/// created as `dict`s. Into an existing store, the store's Zarr format wins over
/// `options.zarrFormat`. A store with consolidated metadata is re-consolidated before returning
/// (as is a new store when `options.consolidate` is set and `path` is the root).
///
/// On a `LocalStore` nothing is lost: the whole store (at the root) or the node (below it) is
/// written beside the store and swapped into place when complete (`LocalStoreReplacement`).
public func writeElement(
    _ element: Element, store: any WritableStore, path: String, options: WriteOptions = WriteOptions(),
    registry: EncodingRegistry = .standard
) async throws(AnnDataError) {
    let p = try StoreMaintenance.normalize(path)
    var opts = options
    let existingRoot = try await ElementReader.nodeIfPresent(store, path: "")
    if let existingRoot, !p.isEmpty { opts.zarrFormat = existingRoot.zarrFormat }
    let hadConsolidated = try await annotating("") { try await ConsolidatedMetadata.read(store, path: "") != nil }
    if let local = store as? LocalStore {
        let o = opts
        let recorded = try await annotating(p) {
            if p.isEmpty {
                return try await LocalStoreReplacement.write(root: local.root, existing: .replace, metrics: local.metrics, ioPool: local.ioPool) { fresh in
                    try await writeNode(element, store: fresh, path: p, existingRoot: nil, options: o, registry: registry)
                }
            }
            return try await LocalStoreReplacement.replaceNode(in: local, path: p) { staged in
                try await writeNode(element, store: staged, path: p, existingRoot: existingRoot, options: o, registry: registry)
            }
        }
        if hadConsolidated || (p.isEmpty && opts.consolidate) {
            try await StoreMaintenance.reconsolidate(store, path: p, recorded: recorded, format: opts.zarrFormat)
        }
        return
    }
    let recorded: [(path: String, node: NodeMetadata)]
    if p.isEmpty {
        // A whole new store: never over foreign data, root metadata last.
        let o = opts
        recorded = try await annotating("") {
            try ExistingStorePolicy.replace.check(try await StoreContents.inspect(store), destination: store.storeDescription)
            return try await withRootWrittenLast(store) { wrapped in
                try await writeNode(element, store: wrapped, path: "", existingRoot: existingRoot, options: o, registry: registry)
            }
        }
    } else {
        recorded = try await writeNode(element, store: store, path: p, existingRoot: existingRoot, options: opts, registry: registry)
    }
    if hadConsolidated || (p.isEmpty && opts.consolidate) {
        try await StoreMaintenance.reconsolidate(store, path: p, recorded: recorded, format: opts.zarrFormat)
    }
}

/// Replaces the node at `p` with `element`, creating missing parents; returns the nodes written.
private func writeNode(
    _ element: Element, store: any WritableStore, path p: String, existingRoot: NodeMetadata?, options: WriteOptions,
    registry: EncodingRegistry
) async throws(AnnDataError) -> [(path: String, node: NodeMetadata)] {
    let writer = ElementWriter(store: store, options: options, registry: registry)
    try await annotating(p) { try await NodeMetadata.removeNode(store, path: p) }
    if !p.isEmpty {
        let parts = p.split(separator: "/").map(String.init)
        var current = ""
        for part in parts.dropLast() {
            current = StoreKey.join(current, part)
            if try await !ElementReader.nodeExists(store, path: current) {
                if existingRoot == nil, try await !ElementReader.nodeExists(store, path: "") {
                    try await writer.createGroup("", attributes: [:])
                }
                try await writer.createGroup(current, attributes: writer.encodingAttributes("dict"))
            }
        }
    }
    try await writer.write(element, at: p)
    return writer.recorder.all
}

/// Deletes the element at `path` (a node and everything below it). A store with consolidated
/// metadata is re-consolidated before returning. On a `LocalStore` the node disappears at once
/// (its directory is renamed out of the store, then deleted).
public func deleteElement(store: any WritableStore, path: String) async throws(AnnDataError) {
    let p = try StoreMaintenance.normalize(path)
    guard !p.isEmpty else { throw .unsupported(path: p, reason: "refusing to delete the root of the store") }
    let root = try await ElementReader.nodeIfPresent(store, path: "")
    let hadConsolidated = try await annotating("") { try await ConsolidatedMetadata.read(store, path: "") != nil }
    guard try await ElementReader.nodeExists(store, path: p) else { throw .missingElement(path: p) }
    if let local = store as? LocalStore {
        try await annotating(p) { try await LocalStoreReplacement.removeNode(in: local, path: p) }
    } else {
        try await annotating(p) { try await NodeMetadata.removeNode(store, path: p) }
    }
    if hadConsolidated, let root {
        try await StoreMaintenance.reconsolidate(store, path: p, recorded: [], format: root.zarrFormat)
    }
}

/// Consolidated-metadata upkeep shared by the write paths.
enum StoreMaintenance {
    static func normalize(_ path: String) throws(AnnDataError) -> String {
        do { return try StoreKey.normalizeNodePath(path) } catch { throw .invalidElement(path: path, reason: error.description) }
    }

    /// Writes consolidated metadata for a store just written from scratch, from the recorded
    /// nodes (no listing needed).
    static func consolidate(_ store: any WritableStore, recorded: [(path: String, node: NodeMetadata)], format: ZarrFormat) async throws(AnnDataError) {
        try await annotating("") {
            guard case .group(let root) = try await NodeMetadata.read(store, path: "") else { return }
            if let listable = store as? any WritableStore & ListableStore {
                try await ConsolidatedMetadata.consolidate(listable, path: "")
                return
            }
            let nodes = recorded.filter { !$0.path.isEmpty }
            try await ConsolidatedMetadata(zarrFormat: format, nodes: nodes).write(to: store, path: "", group: root)
        }
    }

    /// Re-consolidates after `path` changed: by listing when the store can list, else by
    /// patching the existing copy (entries under `path` replaced by the recorded nodes).
    static func reconsolidate(
        _ store: any WritableStore, path: String, recorded: [(path: String, node: NodeMetadata)], format: ZarrFormat
    ) async throws(AnnDataError) {
        try await annotating("") {
            if let listable = store as? any WritableStore & ListableStore {
                try await ConsolidatedMetadata.consolidate(listable, path: "")
                return
            }
            guard case .group(let root) = try await NodeMetadata.read(store, path: "") else { return }
            let old = try await ConsolidatedMetadata.read(store, path: "")?.nodes ?? []
            let under = { (p: String) in path.isEmpty || p == path || p.hasPrefix(path + "/") }
            var nodes = old.filter { !under($0.path) }
            let known = Set(nodes.map(\.path))
            nodes += recorded.filter { !$0.path.isEmpty && !known.contains($0.path) }
            try await ConsolidatedMetadata(zarrFormat: format, nodes: nodes).write(to: store, path: "", group: root)
        }
    }
}
