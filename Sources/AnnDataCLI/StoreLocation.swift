import Foundation
import Zarr

/// Opens the store a STORE argument names: a directory, a `.zip` archive (read-only), an
/// `http://` or `https://` URL (read-only; the hierarchy needs consolidated metadata), or an
/// `s3://bucket/prefix` URL (read and write; credentials, region and endpoint from the
/// `AWS_*` environment variables).
enum StoreLocation {
    static func isZip(_ location: String) -> Bool { location.lowercased().hasSuffix(".zip") }

    static func isHTTP(_ location: String) -> Bool {
        let l = location.lowercased()
        return l.hasPrefix("http://") || l.hasPrefix("https://")
    }

    static func isS3(_ location: String) -> Bool { location.lowercased().hasPrefix("s3://") }

    /// A store to read from, reporting its requests into `metrics` when given.
    static func readable(_ location: String, metrics: StoreMetrics? = nil) throws -> any ReadableStore {
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
        if isHTTP(location) {
            throw ZarrError.unsupportedOperation("HTTP stores are read-only: \(location) (write to a directory or an s3:// URL)")
        }
        if isS3(location) { return try S3Store(configuration: S3Configuration.fromEnvironment(url: location), metrics: metrics) }
        if isZip(location) { throw ZarrError.unsupportedOperation("zip archives are read-only: \(location)") }
        return LocalStore(root: location, metrics: metrics)
    }
}
