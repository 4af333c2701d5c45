import ArgumentParser

/// `anndata`: inspect, convert and validate AnnData and Zarr stores (the benchmark harness is
/// the separate `anndata-bench` executable).
@main
struct AnnDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anndata",
        abstract: "Native AnnData and Zarr v2/v3 tools.",
        subcommands: [ZarrCommand.self, ConvertCommand.self, SubsetCommand.self, ConcatCommand.self, AppendCommand.self, InfoCommand.self, ValidateCommand.self]
    )
}

/// `anndata zarr ...`: drive the Zarr engine directly.
struct ZarrCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zarr",
        abstract: "Create, write, read, consolidate and list Zarr arrays and groups.",
        subcommands: [ZarrCreate.self, ZarrWrite.self, ZarrRead.self, ZarrConsolidate.self, ZarrTree.self]
    )
}
