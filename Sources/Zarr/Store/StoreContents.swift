/// What a store (or a write destination) holds at its root, as far as replacing it is
/// concerned: nothing, a Zarr hierarchy, or something else that a write must not delete.
public enum StoreContents: Sendable, Equatable {
    /// No keys at all.
    case empty
    /// A Zarr hierarchy: root metadata (`zarr.json`, `.zgroup` or `.zarray`) is present.
    case zarrStore
    /// Zarr nodes below the root but no root metadata: what an interrupted write (or a
    /// deletion) leaves. Replacing it loses nothing readable.
    case incompleteZarrStore
    /// Keys that are not a Zarr hierarchy; `example` names one of them.
    case other(example: String)

    /// The root metadata keys of either format.
    static let rootKeys: Set<String> = [
        NodeMetadata.Keys.v3, NodeMetadata.Keys.zgroup, NodeMetadata.Keys.zarray, NodeMetadata.Keys.zattrs,
        NodeMetadata.Keys.zmetadata,
    ]

    /// Inspects the root of `store`: one listing of the root level, plus one metadata probe per
    /// top-level folder (at most `probeLimit`) when there is no root metadata. A store that
    /// cannot list is `.zarrStore` or `.empty` by its root metadata alone.
    public static func inspect(_ store: any ReadableStore, probeLimit: Int = 64) async throws -> StoreContents {
        guard let listable = store as? any ListableStore else {
            for key in [NodeMetadata.Keys.v3, NodeMetadata.Keys.zgroup, NodeMetadata.Keys.zarray] where try await store.exists(key) {
                return .zarrStore
            }
            return .empty
        }
        let listing = try await listable.listDirectory("")
        let names = Set(listing.keys)
        if names.contains(NodeMetadata.Keys.v3) || names.contains(NodeMetadata.Keys.zgroup) || names.contains(NodeMetadata.Keys.zarray) {
            return .zarrStore
        }
        if let foreign = listing.keys.first(where: { !rootKeys.contains($0) }) { return .other(example: foreign) }
        if listing.keys.isEmpty && listing.prefixes.isEmpty { return .empty }
        // Only folders (and perhaps leftover root attributes): Zarr nodes, or someone's files?
        for name in listing.prefixes.sorted().prefix(probeLimit) {
            let prefix = name + "/"
            var isNode = false
            for key in [NodeMetadata.Keys.v3, NodeMetadata.Keys.zgroup, NodeMetadata.Keys.zarray] where try await store.exists(prefix + key) {
                isNode = true
                break
            }
            if !isNode { return .other(example: prefix) }
        }
        if listing.prefixes.count > probeLimit { return .other(example: listing.prefixes.sorted()[probeLimit] + "/") }
        return .incompleteZarrStore
    }
}

/// What a write does when its destination already holds a Zarr store.
public enum ExistingStorePolicy: Sendable, Equatable {
    /// Replace the existing store (anything that is not a Zarr store is still refused).
    case replace
    /// Refuse with `ZarrError.refusedDestination`, leaving the store untouched.
    case refuse

    /// Checks `contents` against this policy for a write to `destination`: a non-empty
    /// destination that is not a Zarr store is always refused.
    public func check(_ contents: StoreContents, destination: String) throws(ZarrError) {
        switch contents {
        case .empty: return
        case .other(let example):
            throw .refusedDestination(destination, reason: "it is not empty and not a Zarr store (it holds '\(example)'); choose an empty or new location")
        case .zarrStore, .incompleteZarrStore:
            if self == .refuse {
                throw .refusedDestination(destination, reason: "it already holds a Zarr store (replace it with --overwrite)")
            }
        }
    }
}
