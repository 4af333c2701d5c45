// swift-tools-version: 6.0
import PackageDescription

/// C compression libraries are reached through small system-library targets; `scripts/setup`
/// installs their Debian -dev packages.
func cLibrary(_ name: String, _ apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", providers: [.apt([apt])])
}

let package = Package(
    name: "swift-anndata",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Zarr", targets: ["Zarr"]),
        .library(name: "ZarrRemote", targets: ["ZarrRemote"]),
        .library(name: "ZarrHDF5", targets: ["ZarrHDF5"]),
        .library(name: "AnnData", targets: ["AnnData"]),
        .executable(name: "anndata", targets: ["AnnDataCLI"]),
        .executable(name: "anndata-bench", targets: ["AnnDataBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        cLibrary("CZstd", "libzstd-dev"),
        cLibrary("CBlosc", "libblosc-dev"),
        cLibrary("CLZ4", "liblz4-dev"),
        cLibrary("CZlib", "zlib1g-dev"),
        cLibrary("CDeflate", "libdeflate-dev"),
        cLibrary("CBzip2", "libbz2-dev"),
        cLibrary("CLZF", "liblzf-dev"),
        // libhdf5 (serial build, 1.10) for .h5ad; its headers live under hdf5/serial, found by pkg-config.
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        // Linux calls Glibc does not export, for LocalStore: openat2(2) opens a key below the
        // root without following a symbolic link; renameat2(2) swaps a finished store into place.
        .target(name: "CLocalFS"),
        .target(
            name: "Zarr",
            dependencies: ["CZstd", "CBlosc", "CLZ4", "CZlib", "CDeflate", "CBzip2", "CLZF", "CLocalFS"]
        ),
        // The HTTP and S3 stores, apart so that `Zarr` alone needs no swift-crypto (SigV4).
        .target(name: "ZarrRemote", dependencies: ["Zarr", .product(name: "Crypto", package: "swift-crypto")]),
        // HDF5 files (.h5ad) seen as Zarr v2 stores: every HDF5 call on one serial executor,
        // chunks read raw and decoded by the Zarr codecs on their own threads.
        .target(name: "ZarrHDF5", dependencies: ["Zarr", "CHDF5", "CLZF"]),
        .target(name: "AnnData", dependencies: ["Zarr", "ZarrHDF5"]),
        .executableTarget(
            name: "AnnDataCLI",
            dependencies: ["Zarr", "ZarrRemote", "ZarrHDF5", "AnnData", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The external-implementation side of the peers.py benchmark (`anndata-bench run`), apart
        // from the shipped CLI; it links libzstd directly for the `zstd-floor` workload.
        .executableTarget(
            name: "AnnDataBench",
            dependencies: ["Zarr", "ZarrRemote", "ZarrHDF5", "AnnData", "CZstd", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "ZarrTests", dependencies: ["Zarr"]),
        .testTarget(name: "ZarrRemoteTests", dependencies: ["ZarrRemote", "Zarr"]),
        .testTarget(name: "ZarrHDF5Tests", dependencies: ["ZarrHDF5", "Zarr", "AnnData"]),
        .testTarget(name: "AnnDataTests", dependencies: ["AnnData", "Zarr"]),
        .testTarget(name: "CLITests", dependencies: ["AnnDataCLI", "AnnDataBench", "AnnData", "Zarr", "ZarrRemote"]),
    ],
    swiftLanguageModes: [.v6]
)
