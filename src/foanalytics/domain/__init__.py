"""Pure models and functions: no I/O, no other layer of the package."""
