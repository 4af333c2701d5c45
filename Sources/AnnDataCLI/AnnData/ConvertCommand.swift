import AnnData
import ArgumentParser
import Synchronization
import Zarr

/// `anndata convert SRC DST`: reads an AnnData store (directory or `.zarr.zip`, v2 or v3) and
/// writes it again with the chosen format, compressor and sharding.
struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an AnnData Zarr store (v2/v3, directory or .zip) to Zarr v3 or v2.")

    @Argument(help: "The source store: a directory, a .zip archive, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var source: String
    @Argument(help: "The destination: a new or empty directory or s3:// prefix (an existing store only with --overwrite).") var destination: String
    @OptionGroup var output: OutputOptions
    @Flag(help: "Replace DST when it already holds a Zarr store (anything else is never replaced).") var overwrite = false
    @OptionGroup var stats: StatsOption

    func run() async throws {
        let srcMetrics = stats.metrics(), dstMetrics = stats.metrics()
        defer { stats.report([("source", source, srcMetrics), ("destination", destination, dstMetrics)]) }
        let (src, dst, existing) = try await StoreLocation.openPair(
            source: source, destination: destination, overwrite: overwrite, sourceMetrics: srcMetrics, destinationMetrics: dstMetrics)
        let progress = ProgressLine()
        progress.update("reading \(source) ...")
        let adata: AnnData
        do {
            // On a terminal, each element read advances the line (the callback reads it as usual).
            var onRead: ReadCallback?
            if progress.enabled {
                let counter = ElementCounter(), source = self.source
                onRead = { path, _, readDefault in
                    let n = counter.next()
                    progress.update("reading \(source): element \(n) (\(path.isEmpty ? "/" : path))")
                    return try await readDefault()
                }
            }
            adata = try await AnnData.read(from: src, readCallback: onRead)
        } catch { progress.finish(); throw error }
        var options = output.writeOptions
        options.existingStore = existing
        if progress.enabled {
            // Progress only: every element is written as the options say.
            let counter = ElementCounter()
            options.dispatch = { path, _, _ in
                let n = counter.next()
                progress.update("writing \(destination): element \(n) (\(path.isEmpty ? "/" : path))")
                return .write
            }
        }
        do { try await adata.write(to: dst, options: options) } catch { progress.finish(); throw error }
        progress.finish()
        print("wrote \(destination): \(adata.nObs) x \(adata.nVars), \(output.summary)")
    }
}

/// Counts elements for the progress line.
final class ElementCounter: Sendable {
    private let count = Mutex(0)

    /// The next number, from 1.
    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}
