"""The register's benchmark: generate a large register, measure, print figures against targets.

Run it with `make bench` (`python -m bench`); see bench/README.md.
"""
