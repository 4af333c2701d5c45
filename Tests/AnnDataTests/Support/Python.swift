import Foundation
import Synchronization
import Testing

/// The Python side of the interop tests: the two anndata interpreters (`.venv` with anndata
/// 0.12.7, `.venv312` with 0.13.4; `scripts/setup` installs them) and the fixture tool.
enum Python: String, CaseIterable, Sendable, CustomStringConvertible {
    case a12 = ".venv/bin/python"
    case a13 = ".venv312/bin/python"

    var description: String { self == .a12 ? "anndata 0.12.7 (.venv)" : "anndata 0.13.4 (.venv312)" }

    /// The package root, derived from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `shared/interop/anndata_fixtures.py`: under `$ANNDATA_SHARED_DIR` when it is set, else in
    /// the `shared/` folder next to the package, else in `/work/shared` (where CI keeps it when
    /// the clone is elsewhere).
    static let fixtureScript: URL = {
        let relative = "interop/anndata_fixtures.py"
        var roots: [URL] = []
        if let env = ProcessInfo.processInfo.environment["ANNDATA_SHARED_DIR"], !env.isEmpty {
            roots.append(URL(fileURLWithPath: env))
        }
        roots.append(packageRoot.appendingPathComponent("../shared").standardizedFileURL)
        roots.append(URL(fileURLWithPath: "/work/shared"))
        let candidates = roots.map { $0.appendingPathComponent(relative) }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) } ?? candidates[0]
    }()

    var executable: URL { Self.packageRoot.appendingPathComponent(rawValue) }

    /// Throws a clear error when the interpreter or the fixture tool is missing.
    func requireAvailable() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw InteropError("Python interpreter for \(self) is missing at \(executable.path); run scripts/setup to install it")
        }
        guard FileManager.default.fileExists(atPath: Self.fixtureScript.path) else {
            throw InteropError("fixture tool missing at \(Self.fixtureScript.path)")
        }
    }

    /// Runs `anndata_fixtures.py` with `arguments`; returns exit status and combined output.
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try requireAvailable()
        return try await run(interpreterArguments: [Python.fixtureScript.path] + arguments)
    }

    /// Runs this interpreter with `interpreterArguments` (a script and its arguments, or `-c
    /// CODE ...`), at most two Python processes at a time; returns exit status and combined output.
    func run(interpreterArguments: [String]) async throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw InteropError("Python interpreter for \(self) is missing at \(executable.path); run scripts/setup to install it")
        }
        await ProcessSlots.shared.acquire()
        defer { ProcessSlots.shared.release() }
        let exe = executable
        return try await Task.detached {
            let p = Process()
            p.executableURL = exe
            p.arguments = interpreterArguments
            var env = ProcessInfo.processInfo.environment
            env["PYTHONWARNINGS"] = "ignore"
            env["OMP_NUM_THREADS"] = "1"
            p.environment = env
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("anndata-py-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            let handle = try FileHandle(forWritingTo: out)
            defer { try? FileManager.default.removeItem(at: out) }
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            p.waitUntilExit()
            try handle.close()
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            return (p.terminationStatus, text)
        }.value
    }
}

/// An interop test failure with a message.
struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// At most two Python processes at a time (the suite must fit two cores).
final class ProcessSlots: Sendable {
    static let shared = ProcessSlots(limit: 2)
    private let state: Mutex<(free: Int, waiters: [CheckedContinuation<Void, Never>])>
    init(limit: Int) { state = Mutex((limit, [])) }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resume = state.withLock { s -> Bool in
                if s.free > 0 { s.free -= 1; return true }
                s.waiters.append(c)
                return false
            }
            if resume { c.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty { s.free += 1; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Python-written fixture stores, made once per test process and shared by the tests.
actor Fixtures {
    static let shared = Fixtures()
    let root: URL = FileManager.default.temporaryDirectory.appendingPathComponent("anndata-interop-\(ProcessInfo.processInfo.processIdentifier)")
    private var made: [String: Task<URL, any Error>] = [:]

    /// The directory `make` wrote for `python` with `arguments` (made on first use).
    func directory(_ python: Python, _ arguments: [String]) async throws -> URL {
        let name = ([python == .a12 ? "a12" : "a13"] + arguments).joined(separator: "_").replacingOccurrences(of: "-", with: "")
        if let t = made[name] { return try await t.value }
        let dir = root.appendingPathComponent(name)
        let task = Task<URL, any Error> {
            try? FileManager.default.removeItem(at: dir)
            let r = try await python.run(["make", dir.path] + arguments)
            guard r.status == 0 else { throw InteropError("\(python) make \(arguments) failed (\(r.status)):\n\(r.output.suffix(3000))") }
            return dir
        }
        made[name] = task
        return try await task.value
    }

    /// A fresh scratch directory for stores Swift writes.
    nonisolated func scratch(_ name: String) -> URL {
        let u = root.appendingPathComponent("swift").appendingPathComponent(name + "-" + UUID().uuidString.prefix(8))
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

extension Python {
    /// Runs `check` on a store; returns the summary line and the output.
    func check(_ store: URL, lazy: Bool = true) async throws -> (ok: Bool, summary: String, output: String) {
        var args = ["check", store.path, "--quiet"]
        if !lazy { args.append("--no-lazy") }
        let r = try await run(args)
        let summary = r.output.split(separator: "\n").last(where: { $0.contains("passed") }).map(String.init) ?? "(no summary)"
        return (r.status == 0 && summary.contains(" 0 failed"), summary, r.output)
    }
}
