/// The Zarr format version of a node.
public enum ZarrFormat: Int, Sendable, Hashable, CaseIterable {
    /// Zarr v2: `.zarray`, `.zgroup`, `.zattrs`.
    case v2 = 2
    /// Zarr v3: `zarr.json`.
    case v3 = 3
}
