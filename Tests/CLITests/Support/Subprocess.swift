import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program without blocking a thread of the cooperative pool: its output (stdout and
/// stderr together) goes to a file, and the caller awaits its exit.
enum Subprocess {
    /// Runs `arguments[0]` with the rest as arguments and `environment` merged over this
    /// process's; returns the exit status and the combined output. A program still running
    /// after `timeout` is terminated (a server it left running cannot hold the output open:
    /// the output goes to a file).
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(300)
    ) async throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "anndata-sub-\(UUID().uuidString).log"
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw CocoaError(.fileWriteUnknown)
        }
        defer { try? FileManager.default.removeItem(atPath: log) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        env["PYTHONWARNINGS"] = "ignore"
        env["OMP_NUM_THREADS"] = "1"
        p.environment = env
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        let (exits, exited) = AsyncStream<Int32>.makeStream()
        p.terminationHandler = { exited.yield($0.terminationStatus); exited.finish() }
        try p.run()
        let pid = p.processIdentifier
        let timer = Task {
            try await Task.sleep(for: timeout)
            kill(pid, SIGTERM)
        }
        var status: Int32 = -1
        for await s in exits { status = s }
        timer.cancel()  // before the pid can be reused
        try? handle.close()
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Runs `jobs` with at most `width` at a time; results in the order of `jobs`.
    static func bounded<T: Sendable>(_ jobs: [@Sendable () async throws -> T], width: Int = 2) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: jobs.count)
            var next = 0
            func addNext() {
                guard next < jobs.count else { return }
                let i = next, job = jobs[i]
                group.addTask { (i, try await job()) }
                next += 1
            }
            for _ in 0..<min(width, jobs.count) { addNext() }
            while let (i, value) = try await group.next() {
                results[i] = value
                addNext()
            }
            return results.compactMap { $0 }
        }
    }
}

extension Subprocess {
    /// Archives the store directory `source` as the zip `archive` (stored entries, sorted, as
    /// anndata users archive stores), with `python`.
    static func zipStore(_ source: String, to archive: String, python: String) async throws -> (status: Int32, output: String) {
        try await run([python, "-c", """
            import os, sys, zipfile
            src, dst = sys.argv[1], sys.argv[2]
            with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
                for d, _, files in sorted(os.walk(src)):
                    for f in sorted(files):
                        p = os.path.join(d, f)
                        z.write(p, os.path.relpath(p, src))
            """, source, archive])
    }
}
