"""Vendored REAPI and ByteStream protos with the modules generated from them (do not edit by hand)."""
