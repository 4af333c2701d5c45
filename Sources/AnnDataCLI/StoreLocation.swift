import Foundation
import Zarr
import ZarrHDF5
import ZarrRemote

/// Opens the store a STORE argument names: a directory, a `.zip` archive (read-only), an
/// `http://` or `https://` URL (read-only; the hierarchy needs consolidated metadata), or an
/// `s3://bucket/prefix` URL (read and write; credentials, region and endpoint from the
/// `AWS_*` environment variables), or a local `.h5ad` file (an HDF5 file seen as a Zarr v2 store;
/// written only by `convert` and `subset`, into a new file renamed into place).
enum StoreLocation {
    static func isH5AD(_ location: String) -> Bool { location.lowercased().hasSuffix(".h5ad") }

    static func isZip(_ location: String) -> Bool { location.lowercased().hasSuffix(".zip") }

    static func isHTTP(_ location: String) -> Bool {
        let l = location.lowercased()
        return l.hasPrefix("http://") || l.hasPrefix("https://")
    }

    static func isS3(_ location: String) -> Bool { location.lowercased().hasPrefix("s3://") }

    /// A store to read from, reporting its requests into `metrics` when given.
    static func readable(_ location: String, metrics: StoreMetrics? = nil) async throws -> any ReadableStore {
        if isH5AD(location) {
            if isHTTP(location) || isS3(location) {
                throw ZarrError.unsupportedOperation(".h5ad files over HTTP or S3 are not supported yet: \(location) (download it, or convert it to Zarr)")
            }
            return try await HDF5Store.open(path: location)
        }
        if isHTTP(location) { return try HTTPStore(url: location, metrics: metrics) }
        if isS3(location) { return try S3Store(configuration: S3Configuration.fromEnvironment(url: location), metrics: metrics) }
        if isZip(location) { return try ZipStore(path: location, metrics: metrics) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ZarrError.io(key: location, reason: "no such directory (a store is a directory, a .zip archive, an http(s):// or an s3:// URL)")
        }
        return LocalStore(root: location, metrics: metrics)
    }

    /// A store to read, write and list, reporting its requests into `metrics` when given.
    static func writable(_ location: String, metrics: StoreMetrics? = nil) throws -> any WritableStore & ListableStore {
        if isH5AD(location) {
            throw ZarrError.unsupportedOperation(".h5ad files are written whole, by convert and subset: \(location)")
        }
        if isHTTP(location) {
            throw ZarrError.unsupportedOperation("HTTP stores are read-only: \(location) (write to a directory or an s3:// URL)")
        }
        if isS3(location) { return try S3Store(configuration: S3Configuration.fromEnvironment(url: location), metrics: metrics) }
        if isZip(location) { throw ZarrError.unsupportedOperation("zip archives are read-only: \(location)") }
        return LocalStore(root: location, metrics: metrics)
    }

    /// The stores of a source and a destination for a command that reads one and writes the
    /// other, checked before anything is read: DST must not be SRC, lie inside it or contain it,
    /// and must be new, empty or (with `overwrite`) an existing Zarr store (the write checks
    /// again, under its lock). Returns the policy the write applies.
    static func openPair(
        source: String, destination: String, overwrite: Bool, sourceMetrics: StoreMetrics?, destinationMetrics: StoreMetrics?
    ) async throws -> (source: any ReadableStore, destination: Destination, existing: ExistingStorePolicy) {
        try checkSeparate(source: source, destination: destination)
        let existing: ExistingStorePolicy = overwrite ? .replace : .refuse
        if isH5AD(destination) {
            if isHTTP(destination) || isS3(destination) {
                throw ZarrError.unsupportedOperation(".h5ad files over HTTP or S3 are not supported yet: \(destination)")
            }
            // The write checks the file again (an existing file must be HDF5, and is replaced
            // only with --overwrite); check now so that nothing is read in vain.
            if FileManager.default.fileExists(atPath: destination), !overwrite {
                throw ZarrError.refusedDestination(destination, reason: "it already exists (replace it with --overwrite)")
            }
            return (try await readable(source, metrics: sourceMetrics), .h5ad(destination), existing)
        }
        let dst = try writable(destination, metrics: destinationMetrics)
        try existing.check(try await StoreContents.inspect(dst), destination: destination)
        return (try await readable(source, metrics: sourceMetrics), .store(dst), existing)
    }

    /// Where a command writes: a Zarr store, or an `.h5ad` file (written whole, renamed into place).
    enum Destination {
        /// A Zarr store.
        case store(any WritableStore & ListableStore)
        /// The path of an `.h5ad` file.
        case h5ad(String)
    }

    /// Refuses a local destination that is the source, lies inside it, or contains it (writing
    /// would replace or delete the data being read).
    static func checkSeparate(source: String, destination: String) throws {
        guard !isHTTP(source), !isS3(source), !isHTTP(destination), !isS3(destination),
              let src = canonicalPath(source), let dst = canonicalPath(destination) else { return }
        if src == dst {
            throw ZarrError.refusedDestination(destination, reason: "it is the source itself")
        }
        if dst.hasPrefix(src.hasSuffix("/") ? src : src + "/") {
            throw ZarrError.refusedDestination(destination, reason: "it lies inside the source \(source)")
        }
        if src.hasPrefix(dst.hasSuffix("/") ? dst : dst + "/") {
            throw ZarrError.refusedDestination(destination, reason: "it contains the source \(source)")
        }
    }

    /// The absolute path with symbolic links resolved; for a path that does not exist yet, its
    /// nearest existing ancestor resolved and the rest appended.
    static func canonicalPath(_ path: String) -> String? {
        var rest: [String] = []
        var current = path.isEmpty ? "." : path
        while true {
            if let resolved = realpath(current, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            let url = URL(fileURLWithPath: current)
            let name = url.lastPathComponent
            let parent = url.deletingLastPathComponent().path
            guard parent != current, !name.isEmpty else { return nil }
            rest.append(name)
            current = parent
        }
    }

    /// For a local directory, an exclusive lock on it held while a verb writes into it, so that
    /// concurrent writers (two `zarr write`s into one shard) take turns instead of losing an
    /// update. A missing directory is created with `create`, else left to the verb to report.
    /// `nil` for other stores.
    static func writeLock(_ location: String, create: Bool = false) async throws -> DirectoryLock? {
        guard !isHTTP(location), !isS3(location), !isZip(location) else { return nil }
        if create {
            try FileManager.default.createDirectory(atPath: location, withIntermediateDirectories: true)
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        }
        return try await DirectoryLock.waitingLock(location)
    }
}

