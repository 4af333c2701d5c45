import ArgumentParser
import Zarr

/// `anndata-bench ...`: the external-implementation side of the peer benchmark harness
/// (`peers.py`), an executable of its own so that the shipped `anndata` CLI carries none of it.
/// `peers.py compare --impls ...,ext:anndata-bench` calls
/// `anndata-bench run --data DIR --workload W --variant V` once per measurement and reads the
/// one JSON line it prints.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anndata-bench",
        abstract: "Run peers.py benchmark workloads with this implementation.",
        subcommands: [BenchRun.self, BenchList.self]
    )
}

/// `anndata-bench run`: one measurement, one JSON line on stdout.
struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one workload once and print one JSON line (the format peers.py reads).",
        discussion: """
            DIR is a data directory made by `peers.py gen` (src/ and stores/). The timer covers \
            what peers.py documents for the workload: opening the store is timed for reads, \
            loading inputs for writes is not, and computing check.sum is not.
            """
    )

    @Option(help: "The data directory made by `peers.py gen`.") var data: String
    @Option(help: "The workload (see `anndata-bench list`).") var workload: String
    @Option(help: "The variant (default: the workload's first).") var variant: String?
    @Option(help: "Where writes put their output (default: DIR/scratch).") var scratch: String?
    @Option(help: "Codec threads (default: the machine's active cores).") var threads: Int?
    @Option(help: "Store requests in flight at once.") var ioRequests: Int = 16
    @Flag(help: "Keep what a write workload wrote.") var keep = false
    @Flag(name: .customLong("huge-pages"), help: "Back big read buffers with transparent huge pages (Linux).") var hugePages = false
    @Option(name: .customLong("store-url"),
            help: "Read the workload's store from this URL (http(s):// or s3://) instead of DIR/stores; reports requests and bytes.")
    var storeURL: String?

    func validate() throws {
        guard let w = BenchRegistry.workload(named: workload) else {
            throw ValidationError("unknown workload '\(workload)'; known: \(BenchRegistry.names.joined(separator: ", "))")
        }
        if let v = variant, !w.variants.contains(v) {
            throw ValidationError("unknown variant '\(v)' of \(workload); known: \(w.variants.joined(separator: ", "))")
        }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        guard let w = BenchRegistry.workload(named: workload) else { throw ExitCode.validationFailure }
        let v = variant ?? w.variants[0]
        let options = ConcurrencyOptions(codecThreads: threads, ioRequests: ioRequests, hugePages: hugePages)
        let context = try BenchContext(
            data: data, workload: w.name, variant: v, scratch: scratch ?? BenchFiles.join(data, "scratch"),
            keep: keep, options: options, storeURL: storeURL)
        var result = try await w.run(context)
        if let m = context.metrics?.snapshot {
            result.extra["store_url"] = .string(storeURL ?? "")
            result.extra["requests"] = .integer(m.requests)
            result.extra["bytes_received"] = .integer(m.bytesReceived)
        }
        print(result.jsonLine(workload: w.name, variant: v, options: options))
    }
}

/// `anndata-bench list`: the workloads and their variants.
struct BenchList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the workloads and their variants.")

    func run() {
        for w in BenchRegistry.workloads {
            print("\(w.name)\t\(w.variants.joined(separator: ","))\t\(w.summary)")
        }
    }
}
