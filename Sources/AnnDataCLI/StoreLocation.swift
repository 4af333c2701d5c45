import Zarr

/// Opens the store a STORE argument names: a directory, or a `.zip` archive (read-only).
enum StoreLocation {
    static func isZip(_ location: String) -> Bool { location.lowercased().hasSuffix(".zip") }

    /// A store to read from.
    static func readable(_ location: String) throws -> any ReadableStore {
        if isZip(location) { return try ZipStore(path: location) }
        return LocalStore(root: location)
    }

    /// A store to read, write and list.
    static func writable(_ location: String) throws -> any WritableStore & ListableStore {
        if isZip(location) { throw ZarrError.unsupportedOperation("zip archives are read-only: \(location)") }
        return LocalStore(root: location)
    }
}
