import AnnData
import ArgumentParser
import Foundation
import Zarr

/// `anndata subset SRC DST`: writes the cells and genes a names file and/or a query select
/// to a new store, streaming the matrices (memory set by chunk sizes, not the selection).
struct SubsetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subset",
        abstract: "Write a subset of an AnnData store's cells and genes (by names and/or queries) to a new store, in bounded memory.",
        discussion: """
            A query is COL OP VALUE (OP: == != < <= > >=), COL in [V1, V2, ...] or COL not in [...], \
            combined with and, or, not and parentheses. COL is a bare name (letters, digits, _ and .) \
            or any name in backquotes; `index` is the index unless a column has that name. VALUE is \
            a number, true/false or a quoted string. A comparison with a missing value is false. \
            Names files hold one name per line; the output follows their order. With names and a \
            query on one axis, the named rows that satisfy the query are kept, in the file's order.
            """)

    @Argument(help: "The source store: a directory, a .zip archive, an .h5ad file, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var source: String
    @Argument(help: "The destination: a new or empty directory or s3:// prefix, or a file ending in .h5ad (an existing store or file only with --overwrite).") var destination: String
    @Option(name: .customLong("obs-names"), help: "A file of observation names, one per line.") var obsNames: String?
    @Option(name: .customLong("var-names"), help: "A file of variable names, one per line.") var varNames: String?
    @Option(name: .customLong("obs-query"), help: "A query on obs columns (see below).") var obsQuery: String?
    @Option(name: .customLong("var-query"), help: "A query on var columns (see below).") var varQuery: String?
    @OptionGroup var output: OutputOptions
    @Flag(help: "Replace DST when it already holds a Zarr store (anything else is never replaced).") var overwrite = false
    @OptionGroup var stats: StatsOption

    func run() async throws {
        // Everything the arguments alone can refuse is refused before any store is touched.
        let obsQ = try obsQuery.map { try Self.parse($0, option: "--obs-query") }
        let varQ = try varQuery.map { try Self.parse($0, option: "--var-query") }
        let obsList = try obsNames.map { try Self.readNames($0, option: "--obs-names") }
        let varList = try varNames.map { try Self.readNames($0, option: "--var-names") }
        try output.check(destination: destination)
        let srcMetrics = stats.metrics(), dstMetrics = stats.metrics()
        defer { stats.report([("source", source, srcMetrics), ("destination", destination, dstMetrics)]) }
        let (src, dst, existing) = try await StoreLocation.openPair(
            source: source, destination: destination, overwrite: overwrite, sourceMetrics: srcMetrics, destinationMetrics: dstMetrics)
        let progress = ProgressLine()
        progress.update("opening \(source) ...")
        do {
            let lazy = try await LazyAnnData.open(src)
            var view = try await lazy.select(obs: obsList.map { .names($0) } ?? .all, var: varList.map { .names($0) } ?? .all)
            if let obsQ { progress.update("selecting cells ..."); view = try await view.obs(where: obsQ) }
            if let varQ { progress.update("selecting genes ..."); view = try await view.var(where: varQ) }
            var options = output.writeOptions
            options.existingStore = existing
            let destination = self.destination, counter = ElementCounter()
            var onElement: (@Sendable (String) -> Void)?
            if progress.enabled {
                onElement = { (path: String) in progress.update("writing \(destination): element \(counter.next()) (\(path))") }
            }
            switch dst {
            case .store(let store): try await view.write(to: store, options: options, progress: onElement)
            case .h5ad(let path): try await view.write(h5ad: path, options: options, progress: onElement)
            }
            progress.finish()
            print("wrote \(destination): \(view.nObs) x \(view.nVars) of \(lazy.nObs) x \(lazy.nVars), \(output.summary(destination: destination))")
        } catch {
            progress.finish()
            throw error
        }
    }

    /// A parsed query, or a usage error naming the option and the position.
    static func parse(_ text: String, option: String) throws -> Query {
        do { return try Query(parsing: text) } catch { throw ValidationError("\(option): \(error.description)\n  \(text)\n  \(String(repeating: " ", count: error.position))^") }
    }

    /// The names in `path`: one per line, UTF-8, `\n` or `\r\n` line ends (a last line end is
    /// optional).
    static func readNames(_ path: String, option: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(option): cannot read '\(path)'") }
        guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(option): '\(path)' is not UTF-8 text") }
        // "\r\n" is one Character in Swift: split on both line ends.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
