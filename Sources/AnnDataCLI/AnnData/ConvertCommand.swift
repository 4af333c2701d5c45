import AnnData
import ArgumentParser
import Synchronization
import Zarr

/// `anndata convert SRC DST`: reads an AnnData store (directory or `.zarr.zip`, v2 or v3) and
/// writes it again with the chosen format, compressor and sharding.
struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an AnnData store (Zarr v2/v3, directory or .zip, or .h5ad) to Zarr v3 or v2, or to .h5ad.")

    @Argument(help: "The source store: a directory, a .zip archive, an .h5ad file, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var source: String
    @Argument(help: "The destination: a new or empty directory or s3:// prefix, or a file ending in .h5ad (an existing store or file only with --overwrite).") var destination: String
    @OptionGroup var output: OutputOptions
    @Flag(help: "Replace DST when it already holds a Zarr store (anything else is never replaced).") var overwrite = false
    @OptionGroup var stats: StatsOption

    func run() async throws {
        try output.check(destination: destination)
        let srcMetrics = stats.metrics(), dstMetrics = stats.metrics()
        defer { stats.report([("source", source, srcMetrics), ("destination", destination, dstMetrics)]) }
        let (src, dst, existing) = try await StoreLocation.openPair(
            source: source, destination: destination, overwrite: overwrite, sourceMetrics: srcMetrics, destinationMetrics: dstMetrics)
        if StoreLocation.isH5AD(source) || StoreLocation.isH5AD(destination) {
            try await streamed(src, dst, existing)
            return
        }
        guard case .store(let dst) = dst else { return }
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

extension ConvertCommand {
    /// The streamed copy used when an `.h5ad` is involved: matrices block by block, frames a
    /// column at a time, so that the peak memory is set by the chunk and shard sizes, not by
    /// the file.
    func streamed(_ src: any ReadableStore, _ dst: StoreLocation.Destination, _ existing: ExistingStorePolicy) async throws {
        let progress = ProgressLine()
        progress.update("opening \(source) ...")
        do {
            var options = output.writeOptions
            options.existingStore = existing
            let lazy: LazyAnnData
            do {
                lazy = try await LazyAnnData.open(src)
            } catch {
                // Files of anndata < 0.7 (obs and var as structured arrays) are not opened lazily:
                // they are read whole (they are small), then written.
                guard try await LazyAnnData.isPre07(src) else { throw error }
                progress.update("reading \(source) (a file of anndata < 0.7, read whole) ...")
                let adata = try await AnnData.read(from: src)
                switch dst {
                case .store(let store): try await adata.write(to: store, options: options)
                case .h5ad(let path): try await adata.write(h5ad: path, options: options)
                }
                progress.finish()
                print("wrote \(destination): \(adata.nObs) x \(adata.nVars), \(output.summary(destination: destination))")
                return
            }
            let destination = self.destination, counter = ElementCounter()
            var onElement: (@Sendable (String) -> Void)?
            if progress.enabled {
                onElement = { (path: String) in progress.update("writing \(destination): element \(counter.next()) (\(path))") }
            }
            switch dst {
            case .store(let store): try await lazy.write(to: store, options: options, progress: onElement)
            case .h5ad(let path): try await lazy.write(h5ad: path, options: options, progress: onElement)
            }
            progress.finish()
            print("wrote \(destination): \(lazy.nObs) x \(lazy.nVars), \(output.summary(destination: destination))")
        } catch {
            progress.finish()
            throw error
        }
    }
}

/// Counts elements for the progress line.
final class ElementCounter: Sendable {
    private let count = Mutex(0)

    /// The next number, from 1.
    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}
