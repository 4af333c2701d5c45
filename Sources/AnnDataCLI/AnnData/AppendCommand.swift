import AnnData
import ArgumentParser
import Foundation
import Zarr

/// `anndata append SRC DST`: SRC's cells added to the Zarr store DST in place.
struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append the cells of one AnnData store to a Zarr store, in place (only new chunks are written).",
        discussion: """
            SRC needs DST's var_names (in the same order), obs columns, layers and obsm/obsp keys, of \
            the same kinds and data types (categorical values among DST's categories); DST keeps its \
            var, varm, varp, uns and raw var. Arrays grow along obs: the new rows fill the last \
            chunks (shards) of each array and new ones; metadata and consolidated metadata are \
            rewritten last. An interrupted append leaves DST reading as before, reported by \
            `validate`; running the append again completes it.
            """)

    @Argument(help: "The source store: a directory, a .zip archive, an .h5ad file, an http(s):// URL or an s3://bucket/prefix URL.") var source: String
    @Argument(help: "The destination: a Zarr store in a directory or under an s3:// prefix, changed in place.") var destination: String
    @OptionGroup var stats: StatsOption

    func run() async throws {
        if StoreLocation.isH5AD(destination) {
            throw ValidationError("append writes into Zarr stores; an .h5ad destination would be rewritten whole (use concat)")
        }
        try StoreLocation.checkSeparate(source: source, destination: destination)
        let srcMetrics = stats.metrics(), dstMetrics = stats.metrics()
        defer { stats.report([("source", source, srcMetrics), ("destination", destination, dstMetrics)]) }
        let dst = try StoreLocation.writable(destination, metrics: dstMetrics)
        let lock = try await StoreLocation.writeLock(destination)
        defer { lock?.release() }
        let src = try await LazyAnnData.open(try await StoreLocation.readable(source, metrics: srcMetrics))
        try await LazyAnnData.append(src, to: dst)
        let after = try await LazyAnnData.open(dst)
        print("appended \(src.nObs) cells to \(destination): \(after.nObs) x \(after.nVars)")
    }
}
