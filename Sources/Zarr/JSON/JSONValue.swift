/// A JSON value that round-trips what Zarr metadata needs and Foundation loses: object key
/// order, the full `Int64` and `UInt64` ranges, `-0.0`, and the non-standard `NaN`,
/// `Infinity` and `-Infinity` tokens that Python's `json` module writes.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer that fits in `Int64`.
    case int(Int64)
    /// An integer above `Int64.max`.
    case uint(UInt64)
    /// A number with a fraction or exponent, or `NaN` / `Infinity` / `-Infinity`.
    case double(Double)
    /// A string.
    case string(String)
    /// A list.
    case array([JSONValue])
    /// An object, in key order.
    case object(JSONObject)
}

/// A JSON object that keeps the order of its keys.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The members, in document order. Keys are unique.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// An empty object.
    public init() { members = [] }

    /// An object with these members; a later duplicate key replaces an earlier one.
    public init(_ pairs: [(String, JSONValue)]) {
        members = []
        for (k, v) in pairs { self[k] = v }
    }

    /// An object from a literal; keys keep their order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// The value of `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// The keys in document order.
    public var keys: [String] { members.map(\.key) }
    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }
    /// The number of members.
    public var count: Int { members.count }

    /// Iterates the members in document order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// Adds or replaces the members of `other`; its keys win.
    public mutating func merge(_ other: JSONObject) {
        for (k, v) in other.members { self[k] = v }
    }

    /// Equal when the members are equal, in the same order.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count
            && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Hashes the members in order.
    public func hash(into hasher: inout Hasher) {
        for (k, v) in members { hasher.combine(k); hasher.combine(v) }
    }
}

extension JSONValue {
    /// The object, or `nil` if this is not an object.
    public var object: JSONObject? { if case .object(let o) = self { return o }; return nil }
    /// The array, or `nil` if this is not an array.
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    /// The string, or `nil` if this is not a string.
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    /// The boolean, or `nil` if this is not a boolean.
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The value as an `Int`, if it is an integer (or an integral double) in range.
    public var int: Int? {
        switch self {
        case .int(let v): return Int(exactly: v)
        case .uint(let v): return Int(exactly: v)
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }

    /// The value as a `Double`, if it is a number.
    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Member `key` of an object, or `nil`.
    public subscript(key: String) -> JSONValue? { object?[key] }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    /// A string from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer from a literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A boolean from a literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A list from a literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object from a dictionary literal, keys in order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    /// A number from a literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `null`, from `nil`.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// An integer value from any `Int`.
    public static func integer(_ v: Int) -> JSONValue { .int(Int64(v)) }
    /// An array of integers.
    public static func integers(_ v: [Int]) -> JSONValue { .array(v.map { .int(Int64($0)) }) }
}
