"""The network-namespace censorship lab: end-to-end tests of reachcheck (see README.md)."""
