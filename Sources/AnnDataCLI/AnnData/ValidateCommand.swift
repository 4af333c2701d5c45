import AnnData
import ArgumentParser
import Zarr

/// `anndata validate STORE`: one line per problem; exit status 1 if there is any.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check an AnnData store: encodings, shapes, categorical codes, sparse indptr, consolidated metadata.")

    @Argument(help: "The store: a directory, a .zip archive, an .h5ad file, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var store: String
    @OptionGroup var stats: StatsOption

    func run() async throws {
        let metrics = stats.metrics()
        defer { stats.report([("store", store, metrics)]) }
        let problems = await AnnData.validate(try await StoreLocation.readable(store, metrics: metrics))
        for p in problems { print(p) }
        if !problems.isEmpty { throw ExitCode(1) }
        print("ok: no problems found in \(store)")
    }
}
