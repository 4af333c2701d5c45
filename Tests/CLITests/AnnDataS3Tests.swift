import Foundation
import Testing
import Zarr
import ZarrRemote

/// AnnData on a real S3 server (SeaweedFS on 127.0.0.1, started through
/// `scripts/remote-servers` and stopped after the suite), driven through the CLI and checked
/// by Python anndata 0.12.7 and 0.13.4 reading straight from S3 with s3fs and obstore.
@Suite(.timeLimit(.minutes(10))) struct AnnDataS3Tests {
    static let accessKey = "swift-anndata-cli"
    static let secretKey = "swift-anndata-cli-secret-41c7"

    @Test func kitchenSinkLocalToS3ToLocalAndPythonWrittenStoresOnS3() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-s3-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let state = tmp + "/servers"
        let start = try await Subprocess.run(["/bin/bash", Paths.root + "/scripts/remote-servers", "start", "s3", state, Self.accessKey, Self.secretKey])
        defer { Shell.runToExit(["/bin/bash", Paths.root + "/scripts/remote-servers", "stop-all", state]) }
        try #require(start.status == 0, "cannot start SeaweedFS: \(start.output)")
        let port = try #require(start.output.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let endpoint = "http://127.0.0.1:\(port)"
        let env = [
            "AWS_ACCESS_KEY_ID": Self.accessKey, "AWS_SECRET_ACCESS_KEY": Self.secretKey, "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        ]
        let bucket = "anndata-\(UInt32.random(in: 0...UInt32.max))"
        let config = S3Configuration(bucket: bucket, region: "us-east-1", accessKeyID: Self.accessKey,
                                     secretAccessKey: Self.secretKey, endpoint: URL(string: endpoint), addressingStyle: .path)
        let admin = try S3Store(configuration: config)
        try await admin.createBucket()

        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let s3Script = Paths.root + "/scripts/interop/s3_anndata.py"
        let py12 = Paths.root + "/.venv/bin/python", py13 = Paths.root + "/.venv312/bin/python"
        let made = try await Subprocess.run([py12, fixtures, "make", tmp + "/py"])
        try #require(made.status == 0, "\(made.output)")

        // Swift: local -> S3, with the request counts.
        var r = try await Subprocess.run([Paths.cli, "convert", tmp + "/py/kitchen_sink.zarr", "s3://\(bucket)/ks", "--stats"], environment: env)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("stats: destination s3://\(bucket)/ks:"), "\(r.output)")
        #expect(try await admin.exists("ks/zarr.json"))

        // Python reads it straight from S3: anndata 0.12.7 through s3fs, 0.13.4 through obstore.
        for (python, via) in [(py12, "fsspec"), (py13, "obstore")] {
            r = try await Subprocess.run([python, s3Script, "check", "s3://\(bucket)/ks", "--via", via, "--fixtures", fixtures, "--quiet"], environment: env)
            #expect(r.status == 0 && Self.failures(r.output) == 0, "\(python) via \(via):\n\(r.output)")
            #expect(r.output.contains("\"eager_reads_from_s3\": 1"), "\(r.output)")
        }

        // Swift: S3 -> local, checked by both anndata versions.
        r = try await Subprocess.run([Paths.cli, "convert", "s3://\(bucket)/ks", tmp + "/back/kitchen_sink.zarr", "--zarr-format", "2"], environment: env)
        #expect(r.status == 0, "\(r.output)")
        for python in [py12, py13] {
            r = try await Subprocess.run([python, fixtures, "check", tmp + "/back/kitchen_sink.zarr", "--quiet"])
            #expect(r.status == 0 && Self.failures(r.output) == 0, "\(python):\n\(r.output)")
        }

        // Python writes to S3 (each version, each client), Swift reads it: what Swift copies out
        // passes the checker.
        for (python, via) in [(py12, "fsspec"), (py13, "obstore")] {
            let url = "s3://\(bucket)/from-\(via)"
            r = try await Subprocess.run([python, s3Script, "write", url, "--via", via, "--fixtures", fixtures], environment: env)
            try #require(r.status == 0, "\(python) write via \(via):\n\(r.output)")
            let local = tmp + "/from-\(via)/kitchen_sink.zarr"
            r = try await Subprocess.run([Paths.cli, "convert", url, local], environment: env)
            #expect(r.status == 0, "\(r.output)")
            r = try await Subprocess.run([python, fixtures, "check", local, "--quiet"])
            #expect(r.status == 0 && Self.failures(r.output) == 0, "\(python) after Swift read \(url):\n\(r.output)")
        }

        // Stale consolidated metadata on S3 (nodes changed behind its back, as a Python user
        // who does not re-consolidate leaves it) is refused, never read silently.
        let staleCases: [(String, (S3Store) async throws -> Void)] = [
            ("obs/int64: listed in the consolidated metadata but missing", { try await $0.deletePrefix("ks/obs/int64/") }),
            ("uns/extra: not in the consolidated metadata", { s in
                try await s.set("ks/uns/extra/zarr.json", try #require(try await s.get("ks/uns/py_int/zarr.json")))
            }),
            ("X: consolidated metadata differs from the node's own", { s in
                let doc = String(decoding: try #require(try await s.get("ks/X/zarr.json")), as: UTF8.self)
                try await s.set("ks/X/zarr.json", Array(doc.replacingOccurrences(of: "\"float32\"", with: "\"float64\"").utf8))
            }),
        ]
        for (message, mutate) in staleCases {
            r = try await Subprocess.run([Paths.cli, "convert", "s3://\(bucket)/ks", tmp + "/stale-base.zarr", "--overwrite"], environment: env)
            try #require(r.status == 0, "the store must read before the mutation: \(r.output)")
            try await mutate(admin)
            r = try await Subprocess.run([Paths.cli, "convert", "s3://\(bucket)/ks", tmp + "/stale.zarr"], environment: env)
            #expect(r.status != 0 && r.output.contains(message), "expected '\(message)':\n\(r.output)")
            // Put the original back for the next case.
            r = try await Subprocess.run([Paths.cli, "convert", tmp + "/stale-base.zarr", "s3://\(bucket)/ks", "--overwrite"], environment: env)
            try #require(r.status == 0, "\(r.output)")
        }

        // Wrong credentials: an error that names the status, and nothing written.
        var wrong = env
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/py/kitchen_sink.zarr", "s3://\(bucket)/denied"], environment: wrong)
        #expect(r.status != 0)
        #expect(r.output.contains("403"), "\(r.output)")
        #expect(try await admin.list(prefix: "denied/").isEmpty)
        r = try await Subprocess.run([Paths.cli, "info", "s3://\(bucket)/ks"], environment: wrong)
        #expect(r.status != 0 && r.output.contains("403"), "\(r.output)")
    }

    /// `M` of the checker's `N passed, M failed` line (-1 when there is none).
    static func failures(_ output: String) -> Int {
        for line in output.split(separator: "\n").reversed() {
            let words = line.split(separator: " ")
            if let i = words.firstIndex(where: { $0.hasPrefix("failed") }), i > 0, let n = Int(words[i - 1]) { return n }
        }
        return -1
    }
}

/// Paths the CLI tests use.
enum Paths {
    /// The package root.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built CLI.
    static var cli: String { ZarrVerbTests.binary }

    /// `interop/anndata_fixtures.py` of the shared folder: `$ANNDATA_SHARED_DIR`, `../shared`
    /// next to the package, or `/work/shared`.
    static let fixtureScript: String? = {
        var roots: [String] = []
        if let env = ProcessInfo.processInfo.environment["ANNDATA_SHARED_DIR"], !env.isEmpty { roots.append(env) }
        roots += [root + "/../shared", "/work/shared"]
        return roots.map { $0 + "/interop/anndata_fixtures.py" }.first { FileManager.default.fileExists(atPath: $0) }
    }()
}

/// Runs a program to its end, synchronously, its output discarded: for `defer` blocks (which
/// cannot await), such as stopping test servers. Everything else uses `Subprocess.run`.
enum Shell {
    static func runToExit(_ arguments: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return }
        p.waitUntilExit()
    }
}
