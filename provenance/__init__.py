"""Provenance: the pure bottom layer of Vitascope.

Keys and Multikeys, FEP-8b32 object proofs, FEP-1311 digests, the node's C2PA signing
identity and C2PA sign/verify of videos. Nothing here touches a database, the network or
the web process; every other layer may import it, it imports none of them.
"""
