/// A string-keyed mapping that keeps insertion order, as Python dicts do (`uns`, `layers`, the
/// columns of a data frame). Setting an existing key keeps its position.
public struct OrderedDict<Value: Sendable>: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys in order.
    public private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    /// An empty mapping.
    public init() {}

    /// A mapping from pairs; a later duplicate key replaces the earlier value.
    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public init(dictionaryLiteral elements: (String, Value)...) { self.init(elements) }

    /// The value for `key`; assigning `nil` removes the key.
    public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The values in key order.
    public var values: [Value] { keys.compactMap { storage[$0] } }
    /// The number of entries.
    public var count: Int { keys.count }
    /// Whether there are no entries.
    public var isEmpty: Bool { keys.isEmpty }

    /// The entries in order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        keys.compactMap { k in storage[k].map { (key: k, value: $0) } }.makeIterator()
    }

    /// The same keys with transformed values.
    public func mapValues<T>(_ f: (Value) throws -> T) rethrows -> OrderedDict<T> {
        var out = OrderedDict<T>()
        for k in keys { if let v = storage[k] { out[k] = try f(v) } }
        return out
    }
}

extension OrderedDict: Equatable where Value: Equatable {
    public static func == (a: OrderedDict, b: OrderedDict) -> Bool {
        a.keys == b.keys && a.keys.allSatisfy { a.storage[$0] == b.storage[$0] }
    }
}
