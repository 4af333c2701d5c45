import AnnData
import ArgumentParser
import Foundation
import Zarr

/// `anndata info STORE`: shape, columns, keys and encoding of a store, from its metadata.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Summarise an AnnData store: shape, columns, keys, format, sharding, compression, size.")

    @Argument(help: "The store: a directory, a .zip archive, an .h5ad file, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var store: String
    @Flag(help: "Print the summary as JSON.") var json = false
    @OptionGroup var stats: StatsOption

    func run() async throws {
        let metrics = stats.metrics()
        defer { stats.report([("store", store, metrics)]) }
        let s = try await StoreSummary.read(try await StoreLocation.readable(store, metrics: metrics))
        let size = Self.sizeOnDisk(store)
        if json {
            guard case .object(var o) = s.json else { return }
            o["size_bytes"] = size.map(JSONValue.integer) ?? .null
            if StoreLocation.isH5AD(store) { o["format"] = "h5ad" }
            print(JSONValue.object(o).serializedString())
            return
        }
        func n(_ v: Int?) -> String { v.map(String.init) ?? "?" }
        print("AnnData object with n_obs × n_vars = \(n(s.nObs)) × \(n(s.nVars))")
        print("    X: \(s.X ?? "none")")
        for (title, cols) in [("obs", s.obsColumns), ("var", s.varColumns)] {
            print("    \(title): " + (cols.isEmpty ? "(no columns)" : cols.map { "'\($0.name)' (\($0.type))" }.joined(separator: ", ")))
        }
        for (name, keys) in s.keys where !keys.isEmpty {
            print("    \(name): " + keys.map { "'\($0)'" }.joined(separator: ", "))
        }
        if s.hasRaw { print("    raw: yes") }
        if StoreLocation.isH5AD(store) {
            // An HDF5 file: no Zarr format, sharding or consolidated metadata to report; its
            // filters are shown as the codecs that read them (zlib: gzip, shuffle, lzf).
            print("format: h5ad (HDF5)")
            print("compression: " + s.compressors.joined(separator: ", "))
        } else {
            print("zarr format: \(s.zarrFormat)")
            print("sharding: " + (s.shardedCount == 0 ? "none" : "\(s.shardedCount) of \(s.arrayCount) arrays sharded"))
            print("compression: " + s.compressors.joined(separator: ", "))
            print("consolidated metadata: " + (s.consolidated ? (s.staleEntries.isEmpty ? "yes" : "STALE (\(s.staleEntries.count) entries)") : "no"))
        }
        print("size on disk: " + (size.map(Self.human) ?? "unknown (remote store)"))
    }

    /// Bytes of a local directory tree (regular files only, no symbolic link followed) or
    /// file; `nil` for remote stores.
    static func sizeOnDisk(_ location: String) -> Int? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: location, isDirectory: &isDir) else { return nil }
        if !isDir.boolValue { return (try? fm.attributesOfItem(atPath: location)[.size] as? Int) ?? nil }
        return (try? LocalStore(root: location).diskUsage()) ?? nil
    }

    static func human(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: "%.1f %@ (%d bytes)", v, units[i], bytes)
    }
}
