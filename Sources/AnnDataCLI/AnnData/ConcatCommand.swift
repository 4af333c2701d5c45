import AnnData
import ArgumentParser
import Foundation
import Zarr

/// `anndata concat SRC... DST`: the stores' cells one after another, genes aligned by name,
/// as Python's `anndata.concat(..., axis="obs", merge="same")` builds them, streamed to a new
/// store in bounded memory.
struct ConcatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concat",
        abstract: "Concatenate AnnData stores along cells into a new store (as anndata.concat with merge=\"same\"), in bounded memory.",
        discussion: """
            Genes are aligned by var_names: --join inner keeps the genes every store has (in the first \
            store's order), outer keeps all of them (sorted unless every store has the same genes), \
            missing values being zeros in sparse matrices and NaN in dense ones. var, varm and varp keep \
            what every store has equal; obsp and uns are left empty; raw is concatenated when every \
            store has one.
            """)

    /// `inner` or `outer`.
    enum JoinName: String, ExpressibleByArgument, CaseIterable { case inner, outer }

    @Argument(help: "Two or more source stores, then the destination (a new or empty directory or s3:// prefix, or a file ending in .h5ad).")
    var locations: [String]
    @Option(help: "How genes are aligned: inner (default) or outer.") var join: JoinName = .inner
    @Option(help: "Add an obs column of this name telling each cell's source (its key).") var label: String?
    @Option(help: "Comma-separated keys, one per source (default 0,1,...), for --label and --index-unique.") var keys: String?
    @Option(name: .customLong("index-unique"), help: "Make obs names unique: append this separator and the source's key.") var indexUnique: String?
    @OptionGroup var output: OutputOptions
    @Flag(help: "Replace DST when it already holds a Zarr store (anything else is never replaced).") var overwrite = false
    @OptionGroup var stats: StatsOption

    func validate() throws {
        guard locations.count >= 3 else { throw ValidationError("concat needs at least two sources and a destination") }
        if let keys, keys.split(separator: ",", omittingEmptySubsequences: false).count != locations.count - 1 {
            throw ValidationError("--keys: \(keys.split(separator: ",", omittingEmptySubsequences: false).count) keys for \(locations.count - 1) sources")
        }
    }

    func run() async throws {
        let sources = Array(locations.dropLast()), destination = locations[locations.count - 1]
        try output.check(destination: destination)
        for s in sources { try StoreLocation.checkSeparate(source: s, destination: destination) }
        let dstMetrics = stats.metrics()
        let srcMetrics = sources.map { _ in stats.metrics() }
        defer { stats.report(zip(sources, srcMetrics).map { ("source", $0, $1) } + [("destination", destination, dstMetrics)]) }
        let (first, dst, existing) = try await StoreLocation.openPair(
            source: sources[0], destination: destination, overwrite: overwrite, sourceMetrics: srcMetrics[0], destinationMetrics: dstMetrics)
        let progress = ProgressLine()
        var members: [LazyAnnData] = []
        do {
            for (i, s) in sources.enumerated() {
                progress.update("opening \(s) ...")
                let store = i == 0 ? first : try await StoreLocation.readable(s, metrics: srcMetrics[i])
                members.append(try await LazyAnnData.open(store))
            }
            let options = ConcatOptions(
                join: join == .inner ? .inner : .outer, label: label, keys: keys.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) },
                indexUnique: indexUnique)
            var writeOptions = output.writeOptions
            writeOptions.existingStore = existing
            let counter = ElementCounter()
            var onElement: (@Sendable (String) -> Void)?
            if progress.enabled {
                onElement = { (path: String) in progress.update("writing \(destination): element \(counter.next()) (\(path))") }
            }
            switch dst {
            case .store(let store): try await LazyAnnData.concat(members, to: store, options: options, writeOptions: writeOptions, progress: onElement)
            case .h5ad(let path): try await LazyAnnData.concat(members, h5ad: path, options: options, writeOptions: writeOptions, progress: onElement)
            }
            progress.finish()
            let cells = members.reduce(0) { $0 + $1.nObs }
            print("wrote \(destination): \(cells) cells from \(sources.count) stores (\(options.join.rawValue) join), \(output.summary(destination: destination))")
        } catch {
            progress.finish()
            throw error
        }
    }
}
