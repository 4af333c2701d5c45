import Zarr
