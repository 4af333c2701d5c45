/// Validation and joining of store keys, so that no key can reach outside a store's root.
public enum StoreKey {
    /// Throws unless `key` is a safe relative key: no empty, `.` or `..` segment, no leading
    /// `/`, no NUL, no backslash.
    public static func validate(_ key: String) throws(ZarrError) {
        // One pass over the bytes: keys are validated on every store request. NUL and
        // backslash are reported before a bad segment, as the checks were once ordered.
        if key.isEmpty { throw .invalidKey(key, reason: "empty key") }
        var problem: String?
        var segmentProblem: String?
        var utf8 = key
        utf8.withUTF8 { bytes in
            if bytes[0] == UInt8(ascii: "/") { problem = "absolute keys are not allowed"; return }
            var segmentStart = 0
            var dots = 0
            for i in 0...bytes.count {
                let b = i < bytes.count ? bytes[i] : UInt8(ascii: "/")
                if b == 0 { problem = "NUL byte"; return }
                if b == UInt8(ascii: "\\") { problem = "backslash"; return }
                if b == UInt8(ascii: ".") { dots += 1; continue }
                guard b == UInt8(ascii: "/") else { continue }
                let length = i - segmentStart
                if segmentProblem == nil {
                    if length == 0 { segmentProblem = "empty path segment" }
                    else if dots == length && dots <= 2 { segmentProblem = dots == 1 ? "'.' segment" : "'..' segment" }
                }
                segmentStart = i + 1
                dots = 0
            }
        }
        if let problem = problem ?? segmentProblem { throw .invalidKey(key, reason: problem) }
    }

    /// Throws unless `prefix` is `""` or a valid key followed by `/`.
    public static func validatePrefix(_ prefix: String) throws(ZarrError) {
        if prefix.isEmpty { return }
        guard prefix.hasSuffix("/") else { throw .invalidKey(prefix, reason: "a prefix must end with '/'") }
        try validate(String(prefix.dropLast()))
    }

    /// Normalises a node path (`a/b/` or `a/b`) to `a/b`, or `""` (also `"/"`) for the root.
    /// Refuses absolute paths and `..`, so a path can never leave the store.
    public static func normalizeNodePath(_ path: String) throws(ZarrError) -> String {
        if path.isEmpty || path == "/" { return "" }
        if path.hasPrefix("/") { throw .invalidKey(path, reason: "absolute paths are not allowed") }
        var p = Substring(path)
        while p.hasSuffix("/") { p = p.dropLast() }
        let s = String(p)
        try validate(s)
        return s
    }

    /// `node/name`, or `name` at the root.
    public static func join(_ node: String, _ name: String) -> String {
        node.isEmpty ? name : node + "/" + name
    }

    /// The prefix under which a node's keys live: `""` for the root, `a/b/` otherwise.
    public static func prefix(of node: String) -> String { node.isEmpty ? "" : node + "/" }
}
