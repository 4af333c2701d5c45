import Foundation
import Testing

/// `anndata info`, `validate` and `convert` on local stores: the summary in text and JSON,
/// one line per problem, what each `convert` option writes, and errors without crashes.
@Suite(.timeLimit(.minutes(10))) struct AnnDataCommandTests {
    /// A scratch folder with anndata 0.13.4's dense and CSR kitchen sinks (v3) in `py/`.
    static func fixtures() async throws -> String {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = NSTemporaryDirectory() + "anndata-cmd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", fixtures, "make", tmp + "/py", "--variant", "all", "--extras"])
        try #require(r.status == 0, "make: \(r.output.suffix(2000))")
        return tmp
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func infoValidateAndConvertOptions() async throws {
        let tmp = try await Self.fixtures()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let dense = tmp + "/py/kitchen_sink.zarr", csr = tmp + "/py/kitchen_sink_csr.zarr"

        // info: the anndata-style summary.
        var r = try await Subprocess.run([Paths.cli, "info", dense])
        #expect(r.status == 0, "\(r.output)")
        for line in ["AnnData object with n_obs × n_vars = 40 × 25", "    X: float32 dense",
                     "'cat_ordered' (categorical[string x 3, ordered])", "'nullable_bool' (nullable-boolean[bool])",
                     "    layers: 'counts', 'int32', 'sparse_csc', 'sparse_csr'", "    raw: yes", "zarr format: 3",
                     "consolidated metadata: yes", "size on disk: "] {
            #expect(r.output.contains(line), "info lacks '\(line)':\n\(r.output)")
        }
        // info --json: the same facts, machine-readable.
        r = try await Subprocess.run([Paths.cli, "info", csr, "--json"])
        #expect(r.status == 0, "\(r.output)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any], "\(r.output)")
        #expect(info["n_obs"] as? Int == 40 && info["n_vars"] as? Int == 25 && info["zarr_format"] as? Int == 3)
        #expect(info["X"] as? String == "float32 csr_matrix", "\(info["X"] ?? "nil")")
        let obs = try #require(info["obs"] as? [[String: Any]])
        #expect(obs.contains { $0["name"] as? String == "cat_int" && $0["type"] as? String == "categorical[int64 x 4]" })
        #expect((info["obsm"] as? [String])?.contains("X_pca") == true)

        // convert: what each option writes.
        let out = tmp + "/out"
        let cases: [(String, [String])] = [
            ("default", []), ("noshard", ["--shard", "none"]), ("gzip", ["--compressor", "gzip"]),
            ("plain", ["--compressor", "none", "--no-consolidate"]), ("v2", ["--zarr-format", "2", "--compressor", "blosc"]),
        ]
        for (name, options) in cases {
            r = try await Subprocess.run([Paths.cli, "convert", dense, "\(out)/\(name)"] + options)
            #expect(r.status == 0, "\(name): \(r.output)")
        }
        func codecs(_ name: String) throws -> String {
            let doc = try Self.json("\(out)/\(name)/X/zarr.json")
            return String(decoding: try JSONSerialization.data(withJSONObject: doc["codecs"] ?? []), as: UTF8.self)
        }
        #expect(try codecs("default").contains("sharding_indexed") && codecs("default").contains("zstd"))
        #expect(try !codecs("noshard").contains("sharding_indexed") && codecs("noshard").contains("zstd"))
        #expect(try codecs("gzip").contains("gzip"))
        #expect(try !codecs("plain").contains("zstd") && !codecs("plain").contains("gzip"))
        #expect(try Self.json("\(out)/default/zarr.json")["consolidated_metadata"] != nil)
        #expect(try Self.json("\(out)/plain/zarr.json")["consolidated_metadata"] == nil)
        #expect(try (Self.json("\(out)/v2/X/.zarray")["compressor"] as? [String: Any])?["id"] as? String == "blosc")
        #expect(FileManager.default.fileExists(atPath: "\(out)/v2/.zmetadata"))
        r = try await Subprocess.run([Paths.cli, "info", "\(out)/plain"])
        #expect(r.output.contains("compression: none") && r.output.contains("consolidated metadata: no"), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "info", "\(out)/default"])
        #expect(r.output.contains("sharding: ") && !r.output.contains("sharding: none"), "\(r.output)")

        // validate: clean stores pass; problems come one per line, naming the element.
        r = try await Subprocess.run([Paths.cli, "validate", "\(out)/default"])
        #expect(r.status == 0 && r.output.contains("ok"), "\(r.output)")
        let broken = "\(out)/plain"
        let layerPath = "\(broken)/layers/int32/zarr.json"
        var layerDoc = try Self.json(layerPath)
        layerDoc["shape"] = [41, 25]  // a layer with more rows than obs
        try JSONSerialization.data(withJSONObject: layerDoc).write(to: URL(fileURLWithPath: layerPath))
        let intPath = "\(broken)/uns/np_scalars/int64/zarr.json"
        var intDoc = try Self.json(intPath)
        var attrs = intDoc["attributes"] as? [String: Any] ?? [:]
        attrs["encoding-type"] = "no-such-encoding"
        intDoc["attributes"] = attrs
        try JSONSerialization.data(withJSONObject: intDoc).write(to: URL(fileURLWithPath: intPath))
        r = try await Subprocess.run([Paths.cli, "validate", broken])
        #expect(r.status != 0)
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("uns/np_scalars/int64") && $0.contains("no-such-encoding") }, "\(r.output)")
        #expect(lines.contains { $0.hasPrefix("layers/int32") && $0.contains("41") }, "\(r.output)")
        // convert refuses the unknown encoding rather than skipping it.
        r = try await Subprocess.run([Paths.cli, "convert", broken, "\(out)/never"])
        #expect(r.status != 0 && r.output.contains("uns/np_scalars/int64"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(out)/never/zarr.json"))
    }

    /// On a terminal (a pseudo-terminal from util-linux `script`), `convert` shows a progress
    /// line for the read and the write; piped, it shows none (checked by the interop tests).
    @Test func convertShowsProgressOnATerminal() async throws {
        let tmp = try await Self.fixtures()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let typescript = tmp + "/typescript"
        let command = "'\(Paths.cli)' convert '\(tmp)/py/kitchen_sink.zarr' '\(tmp)/out.zarr'"
        let r = try await Subprocess.run(["/usr/bin/script", "-qec", command, typescript])
        #expect(r.status == 0, "\(r.output)")
        let screen = String(decoding: try Data(contentsOf: URL(fileURLWithPath: typescript)), as: UTF8.self)
        #expect(screen.contains("\r\u{1B}[2Kreading \(tmp)/py/kitchen_sink.zarr: element"), "\(screen.prefix(500))")
        #expect(screen.contains("element 1 (/)") && screen.contains("(obs/cat_ordered)"), "\(screen.prefix(500))")
        #expect(screen.contains("writing \(tmp)/out.zarr: element"), "\(screen.prefix(500))")
        #expect(screen.contains("wrote \(tmp)/out.zarr: 40 x 25"))
    }

    @Test func h5adInfoConvertAndSubset() async throws {
        let tmp = try await Self.fixtures()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let csr = tmp + "/py/kitchen_sink_csr.zarr"
        // Zarr -> h5ad (gzip) -> Zarr; info names the format; a subset of an .h5ad into an .h5ad.
        var r = try await Subprocess.run([Paths.cli, "convert", csr, tmp + "/ks.h5ad", "--compressor", "gzip"])
        #expect(r.status == 0 && r.output.contains("h5ad, gzip"), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "info", tmp + "/ks.h5ad"])
        #expect(r.status == 0 && r.output.contains("format: h5ad (HDF5)") && r.output.contains("zlib"), "\(r.output)")
        #expect(r.output.contains("AnnData object with n_obs × n_vars = 40 × 25"), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "validate", tmp + "/ks.h5ad"])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/ks.h5ad", tmp + "/back.zarr"])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "subset", tmp + "/ks.h5ad", tmp + "/sub.h5ad", "--obs-query", "int64 >= 10"])
        #expect(r.status == 0 && r.output.contains("of 40 x 25"), "\(r.output)")
        // An existing .h5ad is replaced only with --overwrite; the source is never the destination.
        r = try await Subprocess.run([Paths.cli, "convert", csr, tmp + "/ks.h5ad"])
        #expect((1...127).contains(r.status) && r.output.contains("--overwrite"), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/ks.h5ad", tmp + "/ks.h5ad", "--overwrite"])
        #expect((1...127).contains(r.status) && r.output.contains("source itself"), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", csr, tmp + "/ks.h5ad", "--overwrite"])
        #expect(r.status == 0, "\(r.output)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        // Python checks the written files.
        let checker = try #require(Paths.fixtureScript)
        for file in ["ks.h5ad", "back.zarr"] {
            let path = tmp + "/" + file
            let renamed = tmp + "/kitchen_sink_csr" + (file.hasSuffix(".h5ad") ? ".h5ad" : ".zarr")
            try FileManager.default.moveItem(atPath: path, toPath: renamed)
            let c = try await Subprocess.run([Paths.root + "/.venv/bin/python", checker, "check", renamed])
            #expect(c.status == 0 && c.output.contains(" 0 failed"), "\(file): \(c.output.suffix(1500))")
        }
    }

    @Test func errorsAreMessagesWithExitCodes() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-cmd-err-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let notAStore = tmp + "/empty"
        try FileManager.default.createDirectory(atPath: notAStore, withIntermediateDirectories: true)
        let runs: [([String], String)] = [
            (["info", tmp + "/does-not-exist"], "no such directory"),
            (["convert", tmp + "/does-not-exist", tmp + "/out"], "no such directory"),
            (["validate", notAStore], "no Zarr group"),
            (["info", notAStore], "no Zarr group"),
            (["convert", notAStore, tmp + "/out", "--zarr-format", "4"], "--zarr-format"),
            (["convert", notAStore, tmp + "/out", "--compressor", "lzma"], "compressor"),
            (["convert", notAStore, tmp + "/x.zip"], "read-only"),
            // .h5ad: over HTTP/S3 not yet; compressors HDF5 has no filter for; lzf only for h5ad.
            (["info", "http://127.0.0.1:9/a.h5ad"], "not supported yet"),
            (["convert", "s3://bucket/a.h5ad", tmp + "/out"], "not supported yet"),
            (["convert", notAStore, tmp + "/out.h5ad", "--compressor", "zstd"], "gzip, lzf or none"),
            (["convert", notAStore, tmp + "/out.zarr", "--compressor", "lzf"], "only for .h5ad"),
            (["info", tmp + "/missing.h5ad"], "No such file"),
            (["convert", tmp + "/fake.h5ad", tmp + "/out"], "not an HDF5 file"),
        ]
        try Data("{\"zarr_format\": 2}".utf8).write(to: URL(fileURLWithPath: tmp + "/fake.h5ad"))
        for (args, message) in runs {
            let r = try await Subprocess.run([Paths.cli] + args)
            #expect((1...127).contains(r.status), "\(args): exit \(r.status)\n\(r.output)")
            #expect(message.isEmpty || r.output.contains(message), "\(args): \(r.output)")
            #expect(!r.output.contains("Fatal error") && !r.output.contains("Stack dump"), "\(args): \(r.output)")
        }
    }
}
