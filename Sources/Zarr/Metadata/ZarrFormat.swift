/// The Zarr format version of a node.
public enum ZarrFormat: Int, Sendable, Hashable, CaseIterable {
    case v2 = 2
    case v3 = 3
}
