"""The shared values at the bottom of every layer: issues, errors, the dataset model, versions,
time bounds and file helpers. Imports nothing from the rest of `pipeline`."""
