import Foundation
import Zarr
import ZarrRemote

/// The store `--store-url` names for a read workload, as the `anndata` CLI opens a STORE
/// argument: an `http(s)://` URL (read-only, needs consolidated metadata), an
/// `s3://bucket/prefix` URL (settings from the `AWS_*` variables), a `.zip` archive or a
/// directory; it reports its requests into `metrics`.
enum BenchStoreURL {
    static func readable(_ location: String, metrics: StoreMetrics?) throws -> any ReadableStore {
        let lower = location.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return try HTTPStore(url: location, metrics: metrics) }
        if lower.hasPrefix("s3://") { return try S3Store(configuration: S3Configuration.fromEnvironment(url: location), metrics: metrics) }
        if lower.hasSuffix(".zip") { return try ZipStore(path: location, metrics: metrics) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ZarrError.io(key: location, reason: "no such directory (a store is a directory, a .zip archive, an http(s):// or an s3:// URL)")
        }
        return LocalStore(root: location, metrics: metrics)
    }
}
