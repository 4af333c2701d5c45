/// Validation and joining of store keys, so that no key can reach outside a store's root.
public enum StoreKey {
    /// Throws unless `key` is a safe relative key: no empty, `.` or `..` segment, no leading
    /// `/`, no NUL, no backslash.
    public static func validate(_ key: String) throws(ZarrError) {
        if key.isEmpty { throw .invalidKey(key, reason: "empty key") }
        if key.hasPrefix("/") { throw .invalidKey(key, reason: "absolute keys are not allowed") }
        if key.utf8.contains(0) { throw .invalidKey(key, reason: "NUL byte") }
        if key.contains("\\") { throw .invalidKey(key, reason: "backslash") }
        for seg in key.split(separator: "/", omittingEmptySubsequences: false) {
            if seg.isEmpty { throw .invalidKey(key, reason: "empty path segment") }
            if seg == "." || seg == ".." { throw .invalidKey(key, reason: "'\(seg)' segment") }
        }
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
