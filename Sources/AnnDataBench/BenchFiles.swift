import Foundation
import Zarr
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File helpers for the benchmark (all outside the timer).
enum BenchFiles {
    static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// A whole file, read with `read(2)` straight into one array (no second copy).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BenchError("cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var done = 0
            while done < size {
                let n = read(fd, buf.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    break
                }
                if n == 0 { failure = "the file ended early"; break }
                done += n
            }
            count = failure == nil ? size : 0
        }
        if let failure { throw BenchError("cannot read \(path): \(failure)") }
        return bytes
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        let bytes = try readFile(path)
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw BenchError("\(path): \(error)")
        }
    }

    /// The total size of the regular files under `path` (as `peers.py`'s `du`).
    static func diskUsage(_ path: String) -> Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        var total = 0
        if let e = fm.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) {
            for case let url as URL in e {
                if let v = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), v.isRegularFile == true {
                    total += v.fileSize ?? 0
                }
            }
        }
        return total
    }

    /// Removes `path` and everything under it, if it exists.
    static func remove(_ path: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
    }

    /// Creates `path` and its parents.
    static func makeDirectories(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
}
