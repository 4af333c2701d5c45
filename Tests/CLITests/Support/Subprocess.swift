import Foundation

/// Runs a program without blocking a thread of the cooperative pool: its output (stdout and
/// stderr together) goes to a file, and the caller awaits its exit.
enum Subprocess {
    /// Runs `arguments[0]` with the rest as arguments and `environment` merged over this
    /// process's; returns the exit status and the combined output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
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
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch {
                p.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
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
