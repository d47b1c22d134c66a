"""Evidence for every release: one signed, verifiable archive (see ``build``).

``signing`` signs and checks manifests, ``notice`` writes the NOTICE, ``sbom`` the
CycloneDX and SPDX documents, ``build`` collects and stores a bundle, ``verify`` checks
one with no database.
"""

FORMAT = "gatehouse-evidence/1"
MANIFEST = "manifest.json"
