import Foundation
import Synchronization
@testable import Zarr

/// A store wrapper that records every request, to prove reads touch only what they need.
final class RecordingStore: WritableStore, ListableStore {
    let base: MemoryStore
    let requests = Mutex<[(key: String, range: ByteRange)]>([])
    init(_ base: MemoryStore = MemoryStore()) { self.base = base }
    var storeDescription: String { "recording" }
    func get(_ key: String) async throws -> [UInt8]? {
        requests.withLock { $0.append((key, .all)) }
        return try await base.get(key)
    }
    func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        requests.withLock { $0.append((key, range)) }
        return try await base.get(key, range: range)
    }
    func set(_ key: String, _ value: [UInt8]) async throws { try await base.set(key, value) }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func listDirectory(_ prefix: String) async throws -> StoreListing { try await base.listDirectory(prefix) }
    func reset() { requests.withLock { $0.removeAll() } }
    var log: [(key: String, range: ByteRange)] { requests.withLock { $0 } }
}

/// A fresh temporary directory.
func temporaryDirectory(_ name: String = "zarr") -> String {
    let dir = NSTemporaryDirectory() + "swift-anndata-tests/\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The package root, from this file's location.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Runs a program; returns (status, stdout+stderr).
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: String? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `Int32` values 0..<n as an array of `shape`.
func iota(_ shape: [Int]) throws -> NDArray {
    let n = shape.reduce(1, *)
    return try NDArray((0..<n).map { Int32($0) }, shape: shape)
}

/// A store wrapper whose writes to `failingKeys` throw (after the value was encoded), to prove
/// that a failed write leaves the earlier data readable; every other request is passed on.
final class FailingStore: WritableStore, ListableStore {
    let base: MemoryStore
    let failingKeys: Set<String>
    init(_ base: MemoryStore, failingKeys: Set<String>) { self.base = base; self.failingKeys = failingKeys }
    var storeDescription: String { "failing" }
    func get(_ key: String) async throws -> [UInt8]? { try await base.get(key) }
    func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try await base.get(key, range: range) }
    func set(_ key: String, _ value: [UInt8]) async throws {
        if failingKeys.contains(key) { throw ZarrError.io(key: key, reason: "injected write failure") }
        try await base.set(key, value)
    }
    func delete(_ key: String) async throws {
        if failingKeys.contains(key) { throw ZarrError.io(key: key, reason: "injected delete failure") }
        try await base.delete(key)
    }
    func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func listDirectory(_ prefix: String) async throws -> StoreListing { try await base.listDirectory(prefix) }
}
