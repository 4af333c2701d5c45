import AnnData
import ArgumentParser
import Zarr

/// The output format options `convert` and `subset` share: Zarr format, compressor, sharding
/// and consolidation (defaults: v3, auto compressor, auto-sharded, consolidated).
struct OutputOptions: ParsableArguments {
    /// `auto`, `zstd`, `blosc`, `gzip`, `lzf` (h5ad only) or `none`.
    enum CompressorName: String, ExpressibleByArgument, CaseIterable { case auto, zstd, blosc, gzip, lzf, none }
    /// `none` or `auto`.
    enum ShardName: String, ExpressibleByArgument, CaseIterable { case none, auto }

    @Option(name: .customLong("zarr-format"), help: "Zarr format to write: 3 (default) or 2.") var zarrFormat: Int = 3
    @Option(help: "Compressor: auto (default: blosc(zstd, shuffle) for integer arrays, zstd for the rest; none for .h5ad, as anndata), zstd, blosc, gzip, lzf (.h5ad only) or none. An .h5ad takes auto, gzip, lzf or none.")
    var compressor: CompressorName = .auto
    @Option(help: "Sharding (Zarr v3): auto (default, as anndata 0.13) or none.") var shard: ShardName = .auto
    @Flag(name: .customLong("no-consolidate"), help: "Do not write consolidated metadata.") var noConsolidate = false

    func validate() throws {
        guard zarrFormat == 2 || zarrFormat == 3 else { throw ValidationError("--zarr-format must be 2 or 3") }
    }

    /// The write options these flags ask for.
    var writeOptions: WriteOptions {
        var options = WriteOptions(zarrFormat: zarrFormat == 2 ? .v2 : .v3, consolidate: !noConsolidate)
        switch compressor {
        case .auto: options.compressor = .automatic
        case .zstd: options.compressor = .zstd
        case .blosc: options.compressor = .blosc
        case .gzip: options.compressor = .gzip
        case .lzf: options.compressor = .lzf
        case .none: options.compressor = .none
        }
        // Zarr v2 cannot shard; auto is the default only for v3.
        options.sharding = shard == .auto && zarrFormat == 3 ? .auto : .off
        return options
    }

    /// Refuses options that do not fit the destination: lzf for Zarr, and zstd, blosc,
    /// sharding choices or `--zarr-format` for an `.h5ad`.
    func check(destination: String) throws {
        if StoreLocation.isH5AD(destination) {
            if compressor == .zstd || compressor == .blosc {
                throw ValidationError("--compressor \(compressor.rawValue): an .h5ad file takes auto, gzip, lzf or none")
            }
        } else if compressor == .lzf {
            throw ValidationError("--compressor lzf: only for .h5ad destinations (no Zarr implementation reads lzf)")
        }
    }

    /// "h5ad, gzip" for an `.h5ad` destination.
    func summary(destination: String) -> String {
        guard StoreLocation.isH5AD(destination) else { return summary }
        return "h5ad, " + (compressor == .auto ? "none" : compressor.rawValue)
    }

    /// "zarr v3, auto, sharded, consolidated".
    var summary: String {
        "zarr v\(zarrFormat), \(compressor.rawValue)" + (writeOptions.sharding == .off ? "" : ", sharded") + (noConsolidate ? "" : ", consolidated")
    }
}
