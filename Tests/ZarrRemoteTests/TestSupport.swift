import Foundation
import Zarr

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

/// `Int32` values 0..<n as an array of `shape`.
func iota(_ shape: [Int]) throws -> NDArray {
    let n = shape.reduce(1, *)
    return try NDArray((0..<n).map { Int32($0) }, shape: shape)
}

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
