import Foundation
import Testing
import Zarr

/// The CLI over HTTP against real servers on 127.0.0.1 (started through
/// `scripts/remote-servers`, stopped after the test): nginx (full Range support) and
/// `python3 -m http.server` (ignores Range) serving a consolidated AnnData store converted from
/// the Python kitchen-sink fixture, and the same store without consolidated metadata.
@Suite(.timeLimit(.minutes(10))) struct AnnDataHTTPTests {
    /// The output without the lines that differ between a local and a remote store.
    static func comparable(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("size on disk:") && !$0.hasPrefix("stats:") }
    }

    /// N of the `stats: store URL: N requests ...` line (nil when there is none). The line is
    /// looked for anywhere: stderr may land inside a line of buffered stdout.
    static func requests(_ output: String, _ url: String) -> Int? {
        guard let r = output.range(of: "stats: store \(url): ") else { return nil }
        return Int(output[r.upperBound...].prefix { $0.isNumber })
    }

    @Test func cliVerbsReadAnnDataOverHTTPAndRefuseWhatTheyCannotDo() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-http-\(UUID().uuidString)"
        let serve = tmp + "/serve", state = tmp + "/servers"
        try FileManager.default.createDirectory(atPath: serve, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let script = Paths.root + "/scripts/remote-servers"
        defer { Shell.runToExit(["/bin/bash", script, "stop-all", state]) }
        func start(_ name: String) async throws -> String {
            let r = try await Subprocess.run(["/bin/bash", script, "start", name, state, serve])
            try #require(r.status == 0, "cannot start \(name): \(r.output)")
            let port = try #require(r.output.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
            return "http://127.0.0.1:\(port)"
        }
        let nginx = try await start("nginx"), pyhttp = try await start("pyhttp")

        // The stores: the Python kitchen sink, converted (consolidated) and without consolidation.
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let py = Paths.root + "/.venv/bin/python"
        var r = try await Subprocess.run([py, fixtures, "make", tmp + "/py"])
        try #require(r.status == 0, "\(r.output)")
        let local = serve + "/ks.zarr"
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/py/kitchen_sink.zarr", local])
        try #require(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/py/kitchen_sink.zarr", serve + "/plain.zarr", "--no-consolidate"])
        try #require(r.status == 0, "\(r.output)")
        let url = nginx + "/ks.zarr"

        // info: the same summary as the local store, from a handful of requests.
        let localInfo = try await Subprocess.run([Paths.cli, "info", local])
        try #require(localInfo.status == 0, "\(localInfo.output)")
        r = try await Subprocess.run([Paths.cli, "info", url, "--stats"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("AnnData object with n_obs × n_vars = 40 × 25"), "\(r.output)")
        #expect(r.output.contains("size on disk: unknown (remote store)"), "\(r.output)")
        #expect(Self.comparable(r.output) == Self.comparable(localInfo.output), "\(r.output)")
        let infoRequests = try #require(Self.requests(r.output, url), "\(r.output)")
        #expect(infoRequests > 0 && infoRequests <= 5, "info over HTTP reads the consolidated metadata only: \(r.output)")

        // info --json: the same object as locally, but for the size.
        let localJSON = try await Subprocess.run([Paths.cli, "info", local, "--json"])
        r = try await Subprocess.run([Paths.cli, "info", url, "--json"])
        #expect(r.status == 0, "\(r.output)")
        var remoteDoc = try #require(try JSONValue.parse(Array(r.output.utf8)).object, "\(r.output)")
        var localDoc = try #require(try JSONValue.parse(Array(localJSON.output.utf8)).object, "\(localJSON.output)")
        #expect(remoteDoc["size_bytes"] == .null && localDoc["size_bytes"]?.int != nil)
        #expect(remoteDoc["n_obs"] == 40 && remoteDoc["n_vars"] == 25 && remoteDoc["consolidated"] == true)
        remoteDoc["size_bytes"] = nil
        localDoc["size_bytes"] = nil
        #expect(remoteDoc == localDoc)

        // validate: ok, with request counts.
        r = try await Subprocess.run([Paths.cli, "validate", url, "--stats"])
        #expect(r.status == 0 && r.output.contains("ok: no problems found in \(url)"), "\(r.output)")
        #expect((Self.requests(r.output, url) ?? 0) > 0, "\(r.output)")

        // convert http:// -> local: the copy validates, summarises like the original, and
        // passes the Python checker.
        r = try await Subprocess.run([Paths.cli, "convert", url, tmp + "/back/kitchen_sink.zarr", "--zarr-format", "2", "--stats"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("stats: source \(url): "), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "validate", tmp + "/back/kitchen_sink.zarr"])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([py, fixtures, "check", tmp + "/back/kitchen_sink.zarr", "--quiet"])
        #expect(r.status == 0 && AnnDataS3Tests.failures(r.output) == 0, "\(r.output)")

        // zarr read: the same bytes as locally; one request for the metadata and one per chunk.
        for path in ["obs/int64", "X", "layers/sparse_csr/data"] {
            let a = try await Subprocess.run([Paths.cli, "zarr", "read", local, "--path", path, "--out", tmp + "/local.bin"])
            try #require(a.status == 0, "\(a.output)")
            r = try await Subprocess.run([Paths.cli, "zarr", "read", url, "--path", path, "--out", tmp + "/remote.bin", "--stats"])
            #expect(r.status == 0, "\(r.output)")
            #expect(Self.comparable(r.output) == Self.comparable(a.output), "\(path): \(r.output)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: tmp + "/remote.bin")) == Data(contentsOf: URL(fileURLWithPath: tmp + "/local.bin")),
                    "\(path)")
            #expect((Self.requests(r.output, url) ?? 0) >= 2, "\(path): \(r.output)")
        }

        // zarr tree: the same tree as locally (stdout and stderr share the output file, so the
        // stats are checked in a run of their own), from the consolidated metadata alone.
        let localTree = try await Subprocess.run([Paths.cli, "zarr", "tree", local])
        r = try await Subprocess.run([Paths.cli, "zarr", "tree", url])
        #expect(r.status == 0, "\(r.output)")
        #expect(Self.comparable(r.output).count > 100 && Self.comparable(r.output) == Self.comparable(localTree.output))
        r = try await Subprocess.run([Paths.cli, "zarr", "tree", url, "--stats"])
        #expect(r.status == 0 && (1...3).contains(Self.requests(r.output, url) ?? 0), "\(r.output.suffix(400))")

        // Without consolidated metadata: a clear error that names the problem, for each verb.
        let plain = nginx + "/plain.zarr"
        for verb in [["info", plain], ["validate", plain], ["convert", plain, tmp + "/never.zarr"]] {
            r = try await Subprocess.run([Paths.cli] + verb)
            #expect(r.status != 0, "\(verb): \(r.output)")
            #expect(r.output.contains("the store \(plain) cannot list its keys and has no consolidated metadata"), "\(verb): \(r.output)")
            #expect(!r.output.contains("ok:"), "\(verb): \(r.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp + "/never.zarr/zarr.json"))

        // Write verbs on http:// are refused, and nothing on the server changes.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: tmp + "/m.json"))
        let before = try FileManager.default.subpathsOfDirectory(atPath: serve).sorted()
        for verb in [
            ["zarr", "write", url, "--path", "obs/int64", "--values", tmp + "/local.bin"],
            ["zarr", "create", url, "--path", "g", "--metadata", tmp + "/m.json"],
            ["zarr", "consolidate", url],
            ["convert", local, nginx + "/new.zarr"],
        ] {
            r = try await Subprocess.run([Paths.cli] + verb)
            #expect(r.status != 0 && r.output.contains("HTTP stores are read-only"), "\(verb): \(r.output)")
        }
        #expect(try FileManager.default.subpathsOfDirectory(atPath: serve).sorted() == before)

        // python3 -m http.server ignores Range: the results are the same.
        let pyURL = pyhttp + "/ks.zarr"
        r = try await Subprocess.run([Paths.cli, "info", pyURL])
        #expect(r.status == 0 && Self.comparable(r.output) == Self.comparable(localInfo.output), "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "zarr", "read", pyURL, "--path", "X", "--out", tmp + "/py-x.bin"])
        #expect(r.status == 0, "\(r.output)")
        _ = try await Subprocess.run([Paths.cli, "zarr", "read", local, "--path", "X", "--out", tmp + "/local-x.bin"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: tmp + "/py-x.bin")) == Data(contentsOf: URL(fileURLWithPath: tmp + "/local-x.bin")))
        r = try await Subprocess.run([Paths.cli, "convert", pyURL, tmp + "/from-py/kitchen_sink.zarr"])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([py, fixtures, "check", tmp + "/from-py/kitchen_sink.zarr", "--quiet"])
        #expect(r.status == 0 && AnnDataS3Tests.failures(r.output) == 0, "\(r.output)")
    }
}
